"""Smoke tests checked before anything is written (a ``reconcile.smoke.input`` the service
would refuse at dispatch is a located validate error), ``apply --smoke-all`` (a re-run after a
failed gate tests the unchanged routines again) and the routines skipped because disabled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.contract.limits import DISPATCH_INPUT_MAX
from reconciler.emulator import Emulator
from reconciler.service.failures import AgentFailure
from tests.conftest import run_cli

YEARLY = '{type: schedule, cron_expression: "0 7 1 1 *", time_zone: UTC}'


def manifest(smoke_input: str) -> str:
    return f"""\
routines:
  - name: big
    triggers:
      t: {YEARLY}
    action: {{type: invoke_agent_responses_api, agent_name: a}}
    reconcile:
      smoke:
        timeout: 1m
        input: {smoke_input}
"""


def test_a_smoke_input_over_the_dispatch_limit_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(manifest("x" * (DISPATCH_INPUT_MAX + 1)))
    for args in (("validate",), ("plan", "--endpoint", f"local:{tmp_path}/p.db")):
        done = run_cli(*args, "r.yaml", cwd=tmp_path)
        assert done.returncode == 1, done.stdout + done.stderr
        output = done.stdout + done.stderr
        assert "r.yaml:9:16: routines[0].reconcile.smoke.input: smoke input is 32,769" in output
        assert "the service accepts at most 32,768 in a dispatch" in output
        assert "Traceback" not in output
    assert not (tmp_path / "p.db").exists()
    (tmp_path / "r.yaml").write_text(manifest("x" * DISPATCH_INPUT_MAX))
    assert run_cli("validate", "r.yaml", cwd=tmp_path).returncode == 0


def test_a_structured_smoke_input_is_counted_as_compact_json(tmp_path: Path) -> None:
    text = "y" * (DISPATCH_INPUT_MAX - 8)  # {"k":"…"} adds 8 characters: exactly the limit
    (tmp_path / "r.yaml").write_text(manifest(f"{{k: {text}}}"))
    assert run_cli("validate", "r.yaml", cwd=tmp_path).returncode == 0
    (tmp_path / "r.yaml").write_text(manifest(f"{{k: {text}y}}"))
    done = run_cli("validate", "r.yaml", cwd=tmp_path)
    assert done.returncode == 1 and "smoke input is 32,769 characters" in done.stdout + done.stderr


# --- apply --smoke-all: a re-run tests again ----------------------------------------------------


def routine(name: str, agent: str, *, enabled: bool = True) -> str:
    return f"""\
  - name: {name}
    enabled: {str(enabled).lower()}
    triggers:
      t: {YEARLY}
    action: {{type: invoke_agent_responses_api, agent_name: {agent}}}
    reconcile:
      smoke: {{timeout: 1m}}
"""


def apply(tmp_path: Path, endpoint: str, *args: str) -> Any:
    return run_cli(
        "apply", "r.yaml", "--auto-approve", "--endpoint", endpoint, "--audit-out", "audit.json",
        *args, cwd=tmp_path,
    )  # fmt: skip


def smoked(tmp_path: Path) -> list[str]:
    document = json.loads((tmp_path / "audit.json").read_text())
    return sorted(run["name"] for run in document["smoke"]["runs"])


def test_smoke_all_re_runs_the_gate_on_unchanged_routines(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "routines:\n" + routine("bad", "broken") + routine("fine", "good")
    )
    failing = [AgentFailure("broken", rate=1.0, status_code=400)]
    with Emulator(tmp_path / "emu.db", clock_speed=50, failures=failing) as emu:
        first = apply(tmp_path, emu.endpoint(), "--smoke")
        assert first.returncode == 1, first.stdout + first.stderr
        assert smoked(tmp_path) == ["bad", "fine"]
        rerun = apply(tmp_path, emu.endpoint(), "--smoke")  # nothing changed: nothing tested
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert "Smoke gate: no created, updated, replaced or enabled routine" in rerun.stdout
        again = apply(tmp_path, emu.endpoint(), "--smoke-all")
        assert again.returncode == 1, again.stdout + again.stderr
        assert smoked(tmp_path) == ["bad", "fine"]
        assert "smoke gate failed: 1 of 2 smoke run(s) did not complete (bad)" in again.stderr


def test_a_disabled_routine_is_named_as_skipped(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text("routines:\n" + routine("paused", "good", enabled=False))
    endpoint = f"local:{tmp_path}/p.db"
    for flag in ("--smoke", "--smoke-all"):
        done = apply(tmp_path, endpoint, flag)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Smoke gate: skipped 1 disabled routine(s)" in done.stdout
        assert "never dispatched): paused" in done.stdout
        assert "Smoke gate: no other " in done.stdout
