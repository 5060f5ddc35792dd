"""``reconciler runs`` (``AzureBackend.iter_runs``) stops a paging loop: the emulator's
``repeat_cursor`` list mode answers every page with a ``next_link`` to itself; the command says
so in one line and exits 1 instead of printing the same runs forever."""

from __future__ import annotations

from pathlib import Path

from reconciler.emulator import EmulatedClock, Emulator
from reconciler.live.local import LocalBackend
from tests.conftest import run_cli
from tests.emulator_fixtures import admin

ROUTINE = {
    "triggers": {"t": {"type": "schedule", "cron_expression": "0 7 * * *", "time_zone": "UTC"}},
    "action": {"type": "invoke_agent_responses_api", "agent_name": "good"},
}


def test_a_repeating_next_link_of_runs_is_a_paging_loop(tmp_path: Path) -> None:
    with Emulator(tmp_path / "emu.db", clock=EmulatedClock(speed=50)) as emu:
        with LocalBackend(emu.db) as backend:
            backend.create_or_update("r1", ROUTINE)
        for _ in range(3):
            sent = run_cli("dispatch", "r1", "--endpoint", emu.endpoint(), cwd=tmp_path)
            assert sent.returncode == 0, sent.stdout + sent.stderr
        admin(emu.url, "PUT", "faults", {"list_mode": "repeat_cursor"})
        args = ("runs", "r1", "--limit", "10000", "-o", "json", "--endpoint", emu.endpoint())
        done = run_cli(*args, cwd=tmp_path)
        admin(emu.url, "PUT", "faults", {"list_mode": "normal"})
        normal = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 1, done.stdout[:2000] + done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    [line] = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert "paging loop" in line and "list runs 'r1'" in line, done.stderr
    assert normal.returncode == 0, normal.stderr
