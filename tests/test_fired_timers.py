"""A timer fires once; the service may then turn its routine off (``timer_after_fire``). Such a
routine is neither drift nor an ``enable``: plans show it as a note."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from azure.ai.projects import AIProjectClient

from reconciler.emulator import EmulatedClock, Emulator
from reconciler.plan import ownership
from reconciler.plan.model import Action
from reconciler.service import RoutineStore, ServiceError
from reconciler.service.timers import TimerAfterFire
from tests.conftest import BASE_ROUTINE, run_cli
from tests.emulator_fixtures import HTTP, StaticToken, admin
from tests.test_plan import desired, live_of, only, plan

START = 1_900_000_000.0
ACTION = {"type": "invoke_agent_responses_api", "agent_name": "a"}
NOTE = "fired and the project shows the routine disabled: a timer fires once"


def timer_body(at: int, name: str = "r1", enabled: bool = True) -> dict[str, Any]:
    record = ownership.Ownership(stack="default", name=name)
    return {
        "description": ownership.join("", record),
        "enabled": enabled,
        "triggers": {"t": {"type": "timer", "at": at}},
        "action": ACTION,
    }


# --- the service model: the embedded project and the emulator's store --------------------------


def store_at(tmp_path: Path, mode: TimerAfterFire) -> tuple[RoutineStore, EmulatedClock]:
    clock = EmulatedClock(START, speed=0)
    return RoutineStore(str(tmp_path / "p.db"), clock, timer_after_fire=mode), clock


def test_disable_turns_a_fired_timer_off_at_once_and_for_good(tmp_path: Path) -> None:
    store, clock = store_at(tmp_path, "disable")
    with store:
        store.put("p", "r1", timer_body(int(START) + 60))
        clock.advance(59)
        assert store.get("p", "r1")["enabled"] is True
        clock.advance(1)
        assert store.get("p", "r1")["enabled"] is False  # shown before it is settled
        assert [r["enabled"] for r in store.list("p")[0]] == [False]
        with pytest.raises(ServiceError) as refused:
            store.dispatch("p", "r1")
        assert refused.value.status == 409
        assert store.fire_due(clock.now()) == 1
        assert store.get("p", "r1")["enabled"] is False  # now stored
        assert store.set_enabled("p", "r1", True)["enabled"] is True  # an explicit write wins
        clock.advance(3600)
        assert store.get("p", "r1")["enabled"] is True
        assert store.fire_due(clock.now()) == 0
        assert len(store.list_runs("p", "r1")[0]) == 1


def test_settling_before_a_write_fires_and_disables_then_the_write_applies(
    tmp_path: Path,
) -> None:
    store, clock = store_at(tmp_path, "disable")
    with store:
        store.put("p", "r1", timer_body(int(START) + 60))
        clock.advance(120)
        updated = store.put("p", "r1", {**timer_body(int(START) + 60), "enabled": False})
        assert updated["enabled"] is False
        runs = store.list_runs("p", "r1")[0]
        assert [r["attempt_source"] for r in runs] == ["timer_delivery"]


def test_keep_leaves_a_fired_timer_enabled(tmp_path: Path) -> None:
    store, clock = store_at(tmp_path, "keep")
    with store:
        store.put("p", "r1", timer_body(int(START) + 60))
        clock.advance(120)
        assert store.get("p", "r1")["enabled"] is True
        assert store.fire_due(clock.now()) == 1
        assert store.get("p", "r1")["enabled"] is True


def test_a_disabled_timer_that_never_fired_and_schedules_are_left_alone(tmp_path: Path) -> None:
    store, clock = store_at(tmp_path, "disable")
    schedule = {"s": {"type": "schedule", "cron_expression": "*/5 * * * *", "time_zone": "UTC"}}
    with store:
        store.put("p", "off", timer_body(int(START) + 60, "off", enabled=False))
        store.put("p", "cron", {**timer_body(0, "cron"), "triggers": schedule})
        clock.advance(3600)
        assert store.fire_due(clock.now()) == 12
        assert {r["name"]: r["enabled"] for r in store.list("p")[0]} == {"off": False, "cron": True}
        assert store.list_runs("p", "off")[0] == []


def test_the_store_refuses_an_unknown_mode(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timer_after_fire must be one of keep, disable"):
        RoutineStore(str(tmp_path / "p.db"), timer_after_fire="sometimes")  # type: ignore[arg-type]


# --- the planner -------------------------------------------------------------------------------

NOW = 2_000_000_000
PAST = {"t": {"type": "timer", "at": NOW - 60}}


def test_a_fired_timer_turned_off_is_a_note_not_an_enable() -> None:
    d = desired(triggers=PAST)
    change = only(plan([d], [live_of(d, enabled=False)], now=NOW))
    assert change.action is Action.NOOP and change.body is None
    [note] = change.notes
    assert note.startswith("timer 't' at ") and NOTE in note


def test_without_the_plan_time_or_before_the_timer_it_is_an_enable() -> None:
    d = desired(triggers=PAST)
    assert only(plan([d], [live_of(d, enabled=False)])).action is Action.ENABLE  # now unknown
    future = desired(triggers={"t": {"type": "timer", "at": NOW + 60}})
    change = only(plan([future], [live_of(future, enabled=False)], now=NOW))
    assert change.action is Action.ENABLE and change.notes == []


def test_a_timer_moved_to_the_future_is_re_armed_and_enabled() -> None:
    future = desired(triggers={"t": {"type": "timer", "at": NOW + 600}})
    change = only(plan([future], [live_of(desired(triggers=PAST), enabled=False)], now=NOW))
    assert change.action is Action.UPDATE and change.body["enabled"] is True
    assert change.notes == []


def test_another_change_to_a_fired_timer_keeps_it_disabled() -> None:
    d = desired(triggers=PAST, description="new words")
    live = live_of(desired(triggers=PAST), enabled=False)
    change = only(plan([d], [live], now=NOW))
    assert change.action is Action.UPDATE
    assert [x.dotted for x in change.diff] == ["description"]
    assert change.body["enabled"] is False and len(change.notes) == 1


def test_declared_disabled_or_a_schedule_needs_no_note() -> None:
    off = desired(triggers=PAST, enabled=False)
    assert only(plan([off], [live_of(off)], now=NOW)).notes == []
    cron = desired()
    assert only(plan([cron], [live_of(cron, enabled=False)], now=NOW)).action is Action.ENABLE


# --- through the real SDK and the CLI ----------------------------------------------------------


def manifest(at: int) -> str:
    return BASE_ROUTINE.replace(
        '        type: schedule\n        cron_expression: "0 7 * * *"\n        time_zone: UTC',
        f"        type: timer\n        at: {at}",
    )


def emulator_behind(tmp_path: Path, mode: TimerAfterFire) -> Emulator:
    """An emulator whose frozen clock is an hour behind real time: a timer a minute ago (real
    time, the plan's clock) is still to come there until the test advances the clock."""
    clock = EmulatedClock(time.time() - 3600, speed=0)
    return Emulator(tmp_path / "emu.db", clock=clock, timer_after_fire=mode)


def cli(tmp_path: Path, endpoint: str, *args: str) -> Any:
    return run_cli(*args, "r.yaml", "--endpoint", endpoint, cwd=tmp_path)


@pytest.mark.parametrize("mode", ["disable", "keep"])
def test_a_fired_timer_on_the_emulator_is_never_drift(tmp_path: Path, mode: TimerAfterFire) -> None:
    at = int(time.time()) - 60
    (tmp_path / "r.yaml").write_text(manifest(at))
    with emulator_behind(tmp_path, mode) as emu:
        client = AIProjectClient(endpoint=emu.endpoint(), credential=StaticToken())
        client.beta.routines.create_or_update("r1", timer_body(at), **HTTP)
        assert admin(emu.url, "POST", "clock/advance", {"seconds": 3600})["fired"] == 1
        assert client.beta.routines.get("r1", **HTTP).enabled is (mode == "keep")
        drift = cli(tmp_path, emu.endpoint(), "drift")
        assert drift.returncode == 0, drift.stdout + drift.stderr
        assert "No drift: the project matches git." in drift.stdout
        planned = cli(tmp_path, emu.endpoint(), "plan", "--output", "json")
        assert planned.returncode == 0, planned.stderr
        [change] = json.loads(planned.stdout)["changes"]
        assert change["action"] == ["no-op"]
        assert (NOTE in change["notes"][0]) if mode == "disable" else ("notes" not in change)
        text = cli(tmp_path, emu.endpoint(), "plan", "--detailed-exitcode")
        assert text.returncode == 0, text.stdout + text.stderr
        assert ("Notes (information, nothing to change):" in text.stdout) is (mode == "disable")
        assert "No changes. The project matches the manifests." in text.stdout


def test_drift_reports_the_note_as_information(tmp_path: Path) -> None:
    at = int(time.time()) - 60
    (tmp_path / "r.yaml").write_text(manifest(at))
    with emulator_behind(tmp_path, "disable") as emu:
        client = AIProjectClient(endpoint=emu.endpoint(), credential=StaticToken())
        client.beta.routines.create_or_update("r1", timer_body(at), **HTTP)
        admin(emu.url, "POST", "clock/advance", {"seconds": 3600})
        doc = json.loads(cli(tmp_path, emu.endpoint(), "drift", "--output", "json").stdout)
        assert doc["drifted"] is False and doc["disabled"] == []
        assert [n["name"] for n in doc["notes"]] == ["r1"] and NOTE in doc["notes"][0]["notes"][0]
        text = cli(tmp_path, emu.endpoint(), "drift").stdout
        assert "Notes (information, not drift): 1" in text
        markdown = cli(tmp_path, emu.endpoint(), "plan", "--output", "markdown").stdout
        assert "**Notes** (information, nothing to change):" in markdown
        report = cli(tmp_path, emu.endpoint(), "drift", "--output", "markdown").stdout
        assert "**Notes (information, not drift)** (1)" in report and "- `r1`: timer 't'" in report


def test_a_fired_timer_on_the_embedded_project_is_never_drift(tmp_path: Path) -> None:
    at = int(time.time()) - 60
    (tmp_path / "r.yaml").write_text(manifest(at))
    with RoutineStore(str(tmp_path / "p.db"), EmulatedClock(time.time() - 3600, speed=0)) as made:
        made.put("_project", "r1", timer_body(at))  # created an hour ago, by the store's clock
    endpoint = f"local:{tmp_path}/p.db"
    drift = cli(tmp_path, endpoint, "drift", "--output", "json")
    assert drift.returncode == 0, drift.stdout + drift.stderr
    doc = json.loads(drift.stdout)
    assert doc["drifted"] is False and [n["name"] for n in doc["notes"]] == ["r1"]
    apply = cli(tmp_path, endpoint, "apply", "--auto-approve")
    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert "No changes. The project matches the manifests." in apply.stdout


def test_the_emulator_command_checks_the_mode() -> None:
    done = run_cli("emulator", "--timer-after-fire", "sometimes")
    assert done.returncode == 1
    first = done.stderr.splitlines()[0]
    assert "--timer-after-fire" in first and "'sometimes' is not one of 'keep', 'disable'" in first
    assert "Traceback" not in done.stderr
