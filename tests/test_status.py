"""``reconciler status``: failing, silent and missing routines; exit 0 healthy, 2 unhealthy, 1
error. The rules on run records (``app.health``), then through the real SDK against the
emulator and on the embedded project."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.app.health import Rules, judge, last_expected
from reconciler.app.health_runs import deliveries
from reconciler.emulator import EmulatedClock, Emulator
from reconciler.plan import ownership
from reconciler.service import RoutineStore
from tests.conftest import run_cli
from tests.emulator_fixtures import admin

NOW = 2_000_000_000 - 2_000_000_000 % 3600 + 1800  # half past an hour (UTC)
HOURLY = {"type": "schedule", "cron_expression": "0 * * * *", "time_zone": "UTC"}
ACTION = {"type": "invoke_agent_responses_api", "agent_name": "a"}


def routine(trigger: dict[str, Any] = HOURLY, **fields: Any) -> dict[str, Any]:
    record = ownership.Ownership(stack="default", name="r1")
    return {
        "name": "r1",
        "description": ownership.join("", record),
        "enabled": True,
        "triggers": {"t": trigger},
        "action": ACTION,
        "created_at": NOW - 6 * 3600,
        "updated_at": NOW - 6 * 3600,
        **fields,
    }


def run(phase: str, at: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"run-{at}-{phase}-{len(fields)}",
        "phase": phase,
        "status": {"completed": "FINISHED", "failed": "FAILED"}.get(phase, "RUNNING"),
        "attempt_source": "manual_dispatch",
        "triggered_at": at,
        "started_at": at,
        "ended_at": at + 2 if phase in ("completed", "failed") else None,
        **fields,
    }


def delivery(at: int, phase: str = "completed") -> dict[str, Any]:
    return run(phase, at + 1, attempt_source="schedule_delivery", scheduled_fire_at=at)


def judged(records: list[dict[str, Any]], **rules: Any) -> Any:
    return judge(routine(), records, Rules(now=NOW, **rules), declared=True, managed=True)


# --- the rules ---------------------------------------------------------------------------------


def test_three_failed_deliveries_in_a_row_are_failing_and_two_are_not() -> None:
    fine = [delivery(NOW - 1800)]
    failed = [run("failed", NOW - 60 * i, dispatch_id=f"d{i}") for i in range(1, 4)]
    three = judged(failed + fine)
    assert three.consecutive_failures == 3 and not three.healthy and three.failing
    assert three.problems == ("failing: 3 consecutive failed deliveries",)
    assert three.last_success == NOW - 1800 + 1 + 2
    two = judged(failed[:2] + fine)
    assert two.consecutive_failures == 2 and two.healthy
    assert judged(failed + fine, failures=4).healthy


def test_the_attempts_of_one_delivery_are_one_failure_and_runs_in_flight_are_skipped() -> None:
    attempts = [run("failed", NOW - 100 + i * 5, dispatch_id="d1") for i in range(3)]
    assert len(deliveries(list(reversed(attempts)))) == 1
    in_flight = run("dispatching", NOW - 10, dispatch_id="d2")
    found = judged([in_flight, *attempts])
    assert found.consecutive_failures == 1 and not found.failing
    assert found.last_run is not None and found.last_run.phase == "dispatching"
    assert not found.failures_capped  # fewer records than a page: the whole history
    assert judged([in_flight, *attempts], runs=4).failures_capped  # a full page: maybe more


def test_a_success_ends_the_streak() -> None:
    runs = [
        run("failed", NOW - 60, dispatch_id="a"),
        run("completed", NOW - 120, dispatch_id="b"),
        run("failed", NOW - 180, dispatch_id="c"),
        run("failed", NOW - 240, dispatch_id="d"),
    ]
    found = judged(runs, failures=2)
    assert found.consecutive_failures == 1 and not found.failing and not found.failures_capped


def test_an_hourly_schedule_without_a_run_for_its_last_fire_is_silent() -> None:
    last = NOW - 1800  # the hour before NOW
    found = judged([delivery(last - 3600)])
    assert found.silent and found.expected_fire == last and not found.healthy
    assert found.problems[0].startswith("silent: should have fired at ")
    assert not judged([delivery(last)]).silent
    assert not judged([delivery(last)], grace=1801).silent  # the fire before it has a run too
    assert judged([delivery(last - 3600)], grace=1801).expected_fire == last - 3600


def test_manual_dispatches_do_not_count_as_fires() -> None:
    assert judged([run("completed", NOW - 60)]).silent


def test_the_window_starts_at_the_last_change_and_at_since() -> None:
    changed = routine(updated_at=NOW - 1700)  # changed after the last fire
    assert not judge(changed, [], Rules(now=NOW), declared=True, managed=True).silent
    assert not judged([], since=NOW - 1700).silent
    assert judged([], since=NOW - 1900).silent


def test_disabled_routines_and_event_triggers_are_never_silent_nor_failing() -> None:
    failed = [run("failed", NOW - 60 * i, dispatch_id=f"d{i}") for i in range(1, 4)]
    off = judge(routine(enabled=False), failed, Rules(now=NOW), declared=True, managed=True)
    assert off.healthy and not off.silent and off.next_fire is None
    event = {"type": "custom", "provider": "p", "parameters": {"secret": "x"}}
    found = judge(routine(event), [], Rules(now=NOW), declared=True, managed=True)
    assert found.healthy and found.expected_fire is None and found.trigger == "custom p"


def test_a_timer_that_passed_without_a_run_is_silent() -> None:
    timer = routine({"type": "timer", "at": NOW - 3000})
    found = judge(timer, [], Rules(now=NOW), declared=True, managed=True)
    assert found.silent and found.expected_fire == NOW - 3000 and found.next_fire is None
    fired = [run("completed", NOW - 2999, attempt_source="timer_delivery")]
    assert judge(timer, fired, Rules(now=NOW), declared=True, managed=True).healthy


def test_the_latest_expected_fire_of_a_rare_schedule_is_found_far_back() -> None:
    yearly = {"type": "schedule", "cron_expression": "0 9 1 1 *", "time_zone": "Asia/Tokyo"}
    found = last_expected(yearly, NOW - 3 * 366 * 86_400, NOW)
    assert found is not None and NOW - 366 * 86_400 < found <= NOW
    assert time.strftime("%m-%d %H:%M", time.gmtime(found)) == "01-01 00:00"  # 09:00 JST
    assert last_expected(yearly, found, NOW) is None


# --- through the CLI ---------------------------------------------------------------------------

MANIFEST = """\
routines:
  - name: hourly
    triggers:
      t: {type: schedule, cron_expression: "0 * * * *", time_zone: Asia/Tokyo}
    action: {type: invoke_agent_responses_api, agent_name: a}
  - name: on-issue
    triggers:
      t: {type: github_issue, connection_id: c, owner: o, repository: r, issue_event: opened}
    action: {type: invoke_agent_responses_api, agent_name: a}
"""


def status(tmp_path: Path, endpoint: str, *args: str) -> Any:
    return run_cli("status", "r.yaml", "--endpoint", endpoint, *args, cwd=tmp_path)


def by_name(done: Any) -> dict[str, Any]:
    return {r["name"]: r for r in json.loads(done.stdout)["routines"]}


def test_a_silent_schedule_through_the_sdk_then_healthy_once_it_fired(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(MANIFEST)
    clock = EmulatedClock(time.time() - 3 * 3600, speed=0)  # created three hours ago
    with Emulator(tmp_path / "emu.db", clock=clock) as emu:
        applied = run_cli(
            "apply", "r.yaml", "--auto-approve", "--endpoint", emu.endpoint(), cwd=tmp_path
        )
        assert applied.returncode == 0, applied.stdout + applied.stderr
        silent = status(tmp_path, emu.endpoint(), "-o", "json")
        assert silent.returncode == 2, silent.stdout + silent.stderr
        routines = by_name(silent)
        assert routines["hourly"]["silent"] is True and routines["hourly"]["health"] == "silent"
        expected = routines["hourly"]["expected_fire"]
        assert expected.endswith(":00:00Z") and routines["hourly"]["last_run"] is None
        assert routines["on-issue"]["healthy"] is True
        assert json.loads(silent.stdout)["summary"]["silent"] == 1
        text = status(tmp_path, emu.endpoint())
        assert text.returncode == 2
        assert '  silent    hourly: schedule "0 * * * *" in Asia/Tokyo' in text.stdout
        assert f"problem: silent: should have fired at {expected}" in text.stdout
        assert "Unhealthy: 1 of 2 routine(s) (1 silent)." in text.stdout
        assert admin(emu.url, "POST", "clock/advance", {"seconds": 3 * 3600})["fired"] >= 2
        admin(emu.url, "POST", "clock/advance", {"seconds": 60})  # the late deliveries run
        healthy = status(tmp_path, emu.endpoint(), "-o", "json")
        assert healthy.returncode == 0, healthy.stdout + healthy.stderr
        hourly = by_name(healthy)["hourly"]
        assert hourly["last_run"]["phase"] == "completed" and hourly["last_success"]
        assert hourly["last_run"]["attempt_source"] == "schedule_delivery"
        assert "+09:00" in hourly["next_fire"]


def owned(trigger: dict[str, Any], name: str) -> dict[str, Any]:
    record = ownership.Ownership(stack="default", name=name)
    return {"description": ownership.join("", record), "triggers": {"t": trigger}, "action": ACTION}


def test_the_embedded_project_fires_due_schedules_when_status_reads_it(tmp_path: Path) -> None:
    """The embedded project has no ticker: status settles the firings that came due (the
    store's ``fire_due``), so a schedule applied hours ago is not "silent" there."""
    (tmp_path / "r.yaml").write_text(MANIFEST)
    path, endpoint = str(tmp_path / "p.db"), f"local:{tmp_path}/p.db"
    hourly = {"type": "schedule", "cron_expression": "0 * * * *", "time_zone": "Asia/Tokyo"}
    with RoutineStore(path, EmulatedClock(time.time() - 3 * 3600, speed=0)) as past:
        past.put("_project", "hourly", owned(hourly, "hourly"))  # three hours ago
    missing = status(tmp_path, endpoint, "-o", "json")
    assert missing.returncode == 2, missing.stdout + missing.stderr
    routines = by_name(missing)
    assert routines["hourly"]["silent"] is False and routines["hourly"]["healthy"] is True
    assert routines["hourly"]["last_run"]["attempt_source"] == "schedule_delivery"
    assert routines["on-issue"]["health"] == "missing" and routines["on-issue"]["deployed"] is False
    markdown = status(tmp_path, endpoint, "-o", "markdown")
    assert markdown.returncode == 2
    assert "### default: Unhealthy: 1 of 2 routine(s) (1 missing)." in markdown.stdout
    assert (
        "- `on-issue`: missing: declared in the manifests but not in the project" in markdown.stdout
    )
    with RoutineStore(path) as store:
        assert store.fire_due(time.time()) == 0  # status delivered the due firings already
    applied = run_cli("apply", "r.yaml", "--auto-approve", "--endpoint", endpoint, cwd=tmp_path)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    healthy = status(tmp_path, endpoint)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "Healthy: 2 routine(s)." in healthy.stdout


def test_without_manifests_status_covers_the_routines_the_stack_owns(tmp_path: Path) -> None:
    path, endpoint = str(tmp_path / "p.db"), f"local:{tmp_path}/p.db"
    with RoutineStore(path) as store:
        store.put("_project", "mine", owned(HOURLY, "mine"))
        store.put("_project", "hand-made", {**owned(HOURLY, "x"), "description": "by hand"})
    done = run_cli("status", "--endpoint", endpoint, "-o", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(by_name(done)) == ["mine"]
    other = run_cli("status", "--endpoint", endpoint, "--stack", "other", cwd=tmp_path)
    assert other.returncode == 0 and "No routines to check." in other.stdout


def test_an_unreadable_run_history_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(MANIFEST)
    with Emulator(tmp_path / "emu.db") as emu:
        applied = run_cli(
            "apply", "r.yaml", "--auto-approve", "--endpoint", emu.endpoint(), cwd=tmp_path
        )
        assert applied.returncode == 0, applied.stderr
        step = {"fault": "403", "route": "GET /routines/{name}/runs", "count": 1}
        admin(emu.url, "PUT", "faults", {"script": [step]})
        done = status(tmp_path, emu.endpoint(), "-o", "json")
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    [unknown] = [r for r in doc["routines"] if r["error"]]
    assert unknown["health"] == "unknown" and doc["summary"]["unreadable"] == 1
    first = done.stderr.strip().splitlines()[-1]
    assert first.startswith("error: could not read the run history of 1 routine(s)")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--since", "yesterday", "--since 'yesterday' is not a time or a duration"),
        ("--since", "2026-05-01T00:00:00", "--since '2026-05-01T00:00:00' is not a time"),
        ("--grace", "soon", "--grace 'soon' is not a duration"),
    ],
)
def test_bad_flags_are_one_line_errors(tmp_path: Path, flag: str, value: str, message: str) -> None:
    done = run_cli("status", "--endpoint", f"local:{tmp_path}/p.db", flag, value, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0].startswith(f"error: {message}")
    assert "Traceback" not in done.stderr
