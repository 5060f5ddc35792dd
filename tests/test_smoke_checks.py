"""Smoke tests checked before anything is written: a ``reconcile.smoke.input`` the service
would refuse at dispatch is a located validate error."""

from __future__ import annotations

from pathlib import Path

from reconciler.contract.limits import DISPATCH_INPUT_MAX
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
