"""The dispatch request itself counts against the time limit: a ``:dispatch_async`` that is
never answered (the emulator's ``hang``) or answered a byte a second (``trickle``) ends
``dispatch --wait --timeout`` and a smoke run at their deadline, says the dispatch may have been
received and was not retried, and is never sent again."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reconciler.emulator import Emulator
from reconciler.live.local import LocalBackend
from tests.conftest import run_cli
from tests.emulator_fixtures import admin

ROUTE = "POST /routines/{name}:dispatch_async"
ROUTINE = {
    "triggers": {"t": {"type": "schedule", "cron_expression": "0 7 1 1 *", "time_zone": "UTC"}},
    "action": {"type": "invoke_agent_responses_api", "agent_name": "good"},
}
MANIFEST = """\
routines:
  - name: r1
    triggers:
      t: {type: schedule, cron_expression: "0 7 1 1 *", time_zone: UTC}
    action: {type: invoke_agent_responses_api, agent_name: good, input: hi}
    reconcile:
      smoke: {timeout: 2s}
"""
RECEIVED = "it may have been received; not retried"


def sent(emu: Emulator) -> int:
    return int(admin(emu.url, "GET", "counters")["routes"].get(ROUTE, 0))


@pytest.mark.parametrize("fault", ["hang", "trickle"])
def test_dispatch_wait_timeout_bounds_the_dispatch_request(tmp_path: Path, fault: str) -> None:
    with Emulator(tmp_path / "emu.db", clock_speed=50) as emu:
        with LocalBackend(emu.db) as backend:
            backend.create_or_update("r1", ROUTINE)
        admin(emu.url, "PUT", "faults", {"script": [{"fault": fault, "route": ROUTE, "count": 1}]})
        begun = time.monotonic()
        done = run_cli(
            "dispatch", "r1", "--wait", "--timeout", "2s", "--endpoint", emu.endpoint(),
            cwd=tmp_path,
        )  # fmt: skip
        took = time.monotonic() - begun
        assert sent(emu) == 1  # never re-sent
    assert done.returncode == 1, done.stdout + done.stderr
    assert took < 15, took
    [line] = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert line.startswith("error: dispatch of r1: no answer to the dispatch within the timeout")
    assert RECEIVED in line and "Traceback" not in done.stderr


@pytest.mark.parametrize("fault", ["hang", "trickle"])
def test_a_smoke_run_whose_dispatch_is_not_answered_ends_at_its_timeout(
    tmp_path: Path, fault: str
) -> None:
    (tmp_path / "r.yaml").write_text(MANIFEST)
    with Emulator(tmp_path / "emu.db", clock_speed=50) as emu:
        admin(emu.url, "PUT", "faults", {"script": [{"fault": fault, "route": ROUTE, "count": 1}]})
        begun = time.monotonic()
        done = run_cli(
            "apply", "r.yaml", "--auto-approve", "--smoke", "--endpoint", emu.endpoint(),
            cwd=tmp_path,
        )  # fmt: skip
        took = time.monotonic() - begun
        assert sent(emu) == 1
    assert done.returncode == 1, done.stdout + done.stderr
    assert took < 20, took
    assert "  FAILED  r1: error: no answer to the dispatch within the timeout" in done.stdout
    assert RECEIVED in done.stdout


RUNS_ROUTE = "GET /routines/{name}/runs"
FAST = {"RECONCILER_RETRY_TOTAL": "1", "RECONCILER_RETRY_BACKOFF": "0.01"}


@pytest.mark.parametrize(
    ("env", "said"),
    [
        (FAST, "; the last read of the runs failed: "),  # each read fails fast
        ({}, "; the read of the runs under way had no answer by then"),  # still being retried
    ],
)
def test_a_wait_whose_reads_fail_says_so(tmp_path: Path, env: dict[str, str], said: str) -> None:
    with Emulator(tmp_path / "emu.db", clock_speed=50) as emu:
        with LocalBackend(emu.db) as backend:
            backend.create_or_update("r1", ROUTINE)
        script = [{"fault": "500", "route": RUNS_ROUTE, "count": 10_000}]
        admin(emu.url, "PUT", "faults", {"script": script})
        done = run_cli(
            "dispatch", "r1", "--wait", "--timeout", "3s", "--endpoint", emu.endpoint(),
            cwd=tmp_path, env=env,
        )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    [line] = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert "(the runs could not be read)" in line and said in line, line
    assert "no run recorded yet" not in line
