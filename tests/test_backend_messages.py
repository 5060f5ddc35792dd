"""Backend error lines for dispatch and runs: a 429 on a dispatch says it was throttled and,
being a dispatch, not retried (no retries ran out, no apply flag); an unknown routine's runs
name the operation and the endpoint; a 5,000-character name is shortened in every message."""

from __future__ import annotations

import subprocess
from pathlib import Path

from reconciler.emulator import Emulator
from reconciler.live.local import LocalBackend
from tests.conftest import run_cli
from tests.emulator_fixtures import admin

ROUTE = "POST /routines/{name}:dispatch_async"
ROUTINE = {
    "triggers": {"t": {"type": "schedule", "cron_expression": "0 7 1 1 *", "time_zone": "UTC"}},
    "action": {"type": "invoke_agent_responses_api", "agent_name": "good"},
}
LONG = "x" * 5000


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr
    [line] = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    return line


def test_a_throttled_dispatch_says_it_was_not_retried(tmp_path: Path) -> None:
    with Emulator(tmp_path / "emu.db", clock_speed=50) as emu:
        with LocalBackend(emu.db) as backend:
            backend.create_or_update("r1", ROUTINE)
        admin(emu.url, "PUT", "faults", {"script": [{"fault": "429", "route": ROUTE, "count": 1}]})
        done = run_cli("dispatch", "r1", "--endpoint", emu.endpoint(), cwd=tmp_path)
        assert admin(emu.url, "GET", "counters")["routes"][ROUTE] == 1
    line = error_line(done)
    assert "dispatch 'r1' was throttled (429) and, being a dispatch, not retried" in line
    assert "retries ran out" not in line and "--concurrency" not in line
    assert "may have been received" not in line and "nothing was queued" in line


def test_unknown_routines_name_the_operation_and_the_endpoint(tmp_path: Path) -> None:
    path = tmp_path / "local.db"
    with LocalBackend(str(path)) as backend:
        backend.create_or_update("r1", ROUTINE)
    local = run_cli("runs", "nope", "--endpoint", f"local:{path}", cwd=tmp_path)
    assert error_line(local) == (
        f"error: list runs at local:{path}: 404 not_found: routine 'nope' not found"
    )
    with Emulator(tmp_path / "emu.db", clock_speed=50) as emu:
        remote = run_cli("runs", "nope", "--endpoint", emu.endpoint(), cwd=tmp_path)
        assert error_line(remote) == (
            f"error: 404 Not Found for list runs 'nope' at {emu.endpoint()}: "
            "the routine was not found"
        )
        for args in (("runs", LONG), ("dispatch", LONG), ("runs", LONG, "-o", "json")):
            line = error_line(run_cli(*args, "--endpoint", emu.endpoint(), cwd=tmp_path))
            assert len(line) < 400 and "x" * 99 + "…" in line, line
    for args in (("runs", LONG), ("dispatch", LONG)):
        line = error_line(run_cli(*args, "--endpoint", f"local:{path}", cwd=tmp_path))
        assert len(line) < 400 and "…" in line, line
