"""Service-provided run text (``error_type``, ``error_message``) is untrusted: every human view
(text, markdown, github) of ``status``, ``runs``, ``dispatch --wait`` and ``apply --smoke``
shows it escaped on one line, so no line it prints can start with ``::`` (a GitHub Actions
workflow command) or carry a terminal escape; the JSON documents keep it exact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import EmulatedClock, Emulator
from reconciler.service.failures import AgentFailure
from tests.conftest import run_cli

KIND = "X\n::error::injected\x1b[31m"
MESSAGE = "line1\n::warning file=x::pwn\r\n::add-mask::abc"
GITHUB = {"GITHUB_ACTIONS": "true"}
MANIFEST = """\
routines:
  - name: r1
    triggers:
      t: {type: schedule, cron_expression: "0 7 1 1 *", time_zone: UTC}
    action: {type: invoke_agent_responses_api, agent_name: triage-agent, input: hi}
    reconcile:
      smoke: {timeout: 1m}
"""


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    """An emulator whose agent triage-agent fails every run with the hostile text."""
    failing = [AgentFailure("triage-agent", 1.0, 400, KIND, MESSAGE)]
    with Emulator(tmp_path / "emu.db", clock=EmulatedClock(speed=50), failures=failing) as running:
        yield running


def forged(text: str) -> list[str]:
    """Lines that a workflow runner or a terminal would act on (the view's own annotations
    start with ``::error::`` too, but never with the injected text)."""
    starts = ("::error::injected", "::warning file=x", "::add-mask")
    bad = [line for line in text.splitlines() if line.lstrip().startswith(starts)]
    return bad + [line for line in text.splitlines() if "\x1b" in line or "\r" in line]


def clean(done: Any) -> str:
    both = done.stdout + done.stderr
    assert forged(both) == [], both
    return str(both)


def test_apply_smoke_dispatch_runs_and_status_escape_run_text(
    emu: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "r.yaml").write_text(MANIFEST)
    endpoint = emu.endpoint()
    summary = tmp_path / "summary.md"
    env = {**GITHUB, "GITHUB_STEP_SUMMARY": str(summary)}
    smoke = run_cli(
        "apply", "r.yaml", "--auto-approve", "--smoke", "--endpoint", endpoint, "-o", "github",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert smoke.returncode == 1, smoke.stdout + smoke.stderr
    assert "X\\n::error::injected\\x1b[31m (400): line1\\n::warning" in clean(smoke)
    assert forged(summary.read_text()) == []
    waited = run_cli("dispatch", "r1", "--wait", "--endpoint", endpoint, cwd=tmp_path, env=GITHUB)
    assert waited.returncode == 1
    assert "::warning file=x::pwn\\r\\n::add-mask::abc" in clean(waited)
    runs = run_cli("runs", "r1", "--endpoint", endpoint, cwd=tmp_path, env=GITHUB)
    assert runs.returncode == 0 and "error: X\\n::error::" in clean(runs)
    for output in ("github", "text", "markdown"):
        args = ("status", "r.yaml", "--endpoint", endpoint, "-o", output)
        status = run_cli(*args, cwd=tmp_path, env=env)
        assert status.returncode in (0, 2), status.stdout + status.stderr
        assert "line1\\n::warning" in clean(status) or output == "markdown"
    assert forged(summary.read_text()) == []


def test_json_keeps_the_run_text_exact(emu: Emulator, tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(MANIFEST)
    endpoint = emu.endpoint()
    applied = run_cli("apply", "r.yaml", "--auto-approve", "--endpoint", endpoint, cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    waited = run_cli("dispatch", "r1", "--wait", "-o", "json", "--endpoint", endpoint)
    assert json.loads(waited.stdout)["run"]["error_message"] == MESSAGE
    status = run_cli("status", "r.yaml", "--endpoint", endpoint, "-o", "json", cwd=tmp_path)
    last = json.loads(status.stdout)["routines"][0]["last_run"]
    assert (last["error_type"], last["error_message"]) == (KIND, MESSAGE)
