"""The embedded project (``RoutineStore``) against real SQLite files: service rules, paging,
runs, trigger firing, concurrency across threads and processes, and refusing foreign files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from reconciler.service import (
    DEFAULT_PAGE_SIZE,
    FIRE_MAX_PER_ROUTINE,
    RoutineStore,
    ServiceError,
    StoreError,
)

T0 = 1_893_456_000  # 2030-01-01T00:00:00Z
P = "proj"
RESPONSES = "invoke_agent_responses_api"
INVOCATIONS = "invoke_agent_invocations_api"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = T0) -> None:
        self.value = start

    def now(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "project" / "local.db"


@pytest.fixture
def store(db_path: Path, clock: FakeClock) -> Iterator[RoutineStore]:
    opened = RoutineStore(str(db_path), clock)
    yield opened
    opened.close()


def schedule(cron: str = "*/5 * * * *", zone: str = "UTC", **extra: Any) -> dict[str, Any]:
    """A valid body with one schedule trigger named ``t``."""
    return {
        "triggers": {"t": {"type": "schedule", "cron_expression": cron, "time_zone": zone}},
        "action": {"type": RESPONSES, "agent_name": "agent-a"},
        **extra,
    }


def timer(at: int | str, **extra: Any) -> dict[str, Any]:
    """A valid body with one timer trigger named ``once``."""
    return {
        "triggers": {"once": {"type": "timer", "at": at}},
        "action": {"type": RESPONSES, "agent_name": "agent-a"},
        **extra,
    }


def refused(call: Callable[[], object]) -> ServiceError:
    """The ServiceError ``call`` raises."""
    with pytest.raises(ServiceError) as info:
        call()
    return info.value


def names(page: list[dict[str, Any]]) -> list[str]:
    return [routine["name"] for routine in page]


# --- create, get, update -----------------------------------------------------------------------


def test_create_returns_the_service_routine_shape(store: RoutineStore) -> None:
    created = store.put(P, "r1", schedule(description="nightly"))
    assert created == {
        "name": "r1",
        "description": "nightly",
        "enabled": True,
        "triggers": {
            "t": {"type": "schedule", "cron_expression": "*/5 * * * *", "time_zone": "UTC"}
        },
        "action": {"type": RESPONSES, "agent_name": "agent-a"},
        "created_at": T0,
        "updated_at": T0,
    }
    assert store.get(P, "r1") == created


def test_update_is_a_full_replace_that_resets_omitted_fields(store: RoutineStore) -> None:
    store.put(P, "r1", schedule(description="kept?", enabled=False))
    updated = store.put(P, "r1", schedule(cron="0 7 * * *"))
    assert updated["description"] == ""
    assert updated["enabled"] is True
    assert updated["triggers"]["t"]["cron_expression"] == "0 7 * * *"


def test_null_optional_fields_mean_defaults(store: RoutineStore) -> None:
    created = store.put(P, "r1", schedule(description=None, enabled=None, authorization=None))
    assert (created["description"], created["enabled"]) == ("", True)
    assert store.authorization_of(P, "r1") == "agent"


def test_created_at_is_kept_and_updated_at_advances(store: RoutineStore, clock: FakeClock) -> None:
    store.put(P, "r1", schedule())
    clock.advance(90)
    updated = store.put(P, "r1", schedule(description="v2"))
    assert (updated["created_at"], updated["updated_at"]) == (T0, T0 + 90)
    clock.advance(10)
    disabled = store.set_enabled(P, "r1", False)
    assert (disabled["created_at"], disabled["updated_at"]) == (T0, T0 + 100)


def test_read_only_fields_and_a_matching_name_in_the_body_are_ignored(
    store: RoutineStore, clock: FakeClock
) -> None:
    first = store.put(P, "r1", schedule())
    clock.advance(5)
    echoed = {**first, "created_at": 1, "updated_at": 2}
    second = store.put(P, "r1", echoed)
    assert (second["created_at"], second["updated_at"]) == (T0, T0 + 5)


def test_authorization_counts_on_create_only_and_is_never_returned(
    store: RoutineStore,
) -> None:
    created = store.put(P, "r1", schedule(authorization={"identity": "creator"}))
    updated = store.put(P, "r1", schedule(authorization={"identity": "agent"}))
    assert store.authorization_of(P, "r1") == "creator"
    for routine in (created, updated, store.get(P, "r1"), *store.list(P)[0]):
        assert "authorization" not in routine
    store.put(P, "r2", schedule())
    assert store.authorization_of(P, "r2") == "agent"


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (T0 + 600, T0 + 600),
        ("2030-01-01T02:00:00+01:00", T0 + 3600),
        ("2030-01-01T01:00:00Z", T0 + 3600),
        ("30m", T0 + 1800),
        ("1h30m", T0 + 5400),
    ],
)
def test_timer_at_is_stored_and_returned_as_unix_seconds(
    store: RoutineStore, at: int | str, expected: int
) -> None:
    created = store.put(P, "once", timer(at))
    assert created["triggers"]["once"]["at"] == expected
    assert store.get(P, "once")["triggers"]["once"]["at"] == expected


def test_a_fired_timer_can_be_sent_again_unchanged_but_not_moved_into_the_past(
    store: RoutineStore, clock: FakeClock
) -> None:
    store.put(P, "once", timer("30m"))
    at = store.get(P, "once")["triggers"]["once"]["at"]
    clock.advance(3600)
    updated = store.put(P, "once", timer(at, description="edited after it fired"))
    assert updated["description"] == "edited after it fired"
    error = refused(lambda: store.put(P, "once", timer(at - 60)))
    assert (error.status, error.param) == (400, "triggers.once.at")


def test_other_trigger_types_and_invocations_actions_round_trip(store: RoutineStore) -> None:
    body = {
        "triggers": {
            "gh": {
                "type": "github_issue",
                "connection_id": "c",
                "owner": "o",
                "repository": "r",
                "issue_event": "opened",
            }
        },
        "action": {
            "type": INVOCATIONS,
            "agent_endpoint_id": "ep-1",
            "session_id": "s-1",
            "input": {"text": "hi", "n": [1, 2]},
        },
    }
    created = store.put(P, "gh", body)
    assert created["triggers"] == body["triggers"]
    assert created["action"] == body["action"]


def test_projects_are_separate(store: RoutineStore) -> None:
    store.put("a", "r1", schedule())
    assert refused(lambda: store.get("b", "r1")).status == 404
    assert store.list("b") == ([], None)


def test_the_store_survives_reopening(db_path: Path, clock: FakeClock) -> None:
    with RoutineStore(str(db_path), clock) as first:
        first.put(P, "r1", schedule(authorization={"identity": "creator"}))
    with RoutineStore(str(db_path), clock) as second:
        assert second.get(P, "r1")["name"] == "r1"
        assert second.authorization_of(P, "r1") == "creator"


# --- 400 ------------------------------------------------------------------------------------

AGENT = {"type": RESPONSES, "agent_name": "agent-a"}
CRON_T = {"type": "schedule", "cron_expression": "0 7 * * *", "time_zone": "UTC"}

INVALID_BODIES: list[tuple[str, str, Any, str | None]] = [
    ("two-triggers", "r1", {"triggers": {"a": CRON_T, "b": CRON_T}, "action": AGENT}, "triggers"),
    ("zero-triggers", "r1", {"triggers": {}, "action": AGENT}, "triggers"),
    ("under-5-minutes", "r1", schedule(cron="*/4 * * * *"), "triggers.t.cron_expression"),
    ("bad-zone", "r1", schedule(zone="Mars/Olympus"), "triggers.t.time_zone"),
    ("description-1025", "r1", schedule(description="x" * 1025), "description"),
    ("unknown-field", "r1", schedule(labels={"a": "b"}), "labels"),
    (
        "unknown-trigger-field",
        "r1",
        {"triggers": {"t": {**CRON_T, "timezone": "UTC"}}, "action": AGENT},
        "triggers.t.timezone",
    ),
    ("body-name-differs", "r1", schedule(name="r2"), "name"),
    ("past-timer", "r1", timer(T0 - 60), "triggers.once.at"),
    ("timer-now", "r1", timer(T0), "triggers.once.at"),
    (
        "both-agent-refs",
        "r1",
        {"triggers": {"t": CRON_T}, "action": {**AGENT, "agent_endpoint_id": "ep"}},
        "action.agent_endpoint_id",
    ),
    ("no-agent-ref", "r1", {"triggers": {"t": CRON_T}, "action": {"type": RESPONSES}}, "action"),
    (
        "session-on-responses",
        "r1",
        {"triggers": {"t": CRON_T}, "action": {**AGENT, "session_id": "s"}},
        "action.session_id",
    ),
    ("missing-action", "r1", {"triggers": {"t": CRON_T}}, "action"),
    ("bad-path-name", "bad name!", schedule(), "name"),
    ("body-not-an-object", "r1", ["not", "a", "dict"], None),
]


@pytest.mark.parametrize(
    ("name", "body", "param"),
    [case[1:] for case in INVALID_BODIES],
    ids=[case[0] for case in INVALID_BODIES],
)
def test_invalid_puts_are_400_with_the_field_path(
    store: RoutineStore, name: str, body: Any, param: str | None
) -> None:
    err = refused(lambda: store.put(P, name, body))
    assert (err.status, err.code, err.param) == (400, "invalid_value", param)
    assert err.message
    error = err.to_body()["error"]
    assert error["type"] == "invalid_request_error"
    assert (error["code"], error["param"], error["message"]) == (err.code, param, err.message)
    assert error["details"][0] == {"code": "invalid_value", "message": err.message, "param": param}
    assert store.list(P) == ([], None)


def test_every_problem_is_in_details(store: RoutineStore) -> None:
    body = {
        "triggers": {"a": {**CRON_T, "cron_expression": "*/1 * * * *"}},
        "action": {**AGENT, "agent_endpoint_id": "ep"},
        "description": "y" * 2000,
    }
    err = refused(lambda: store.put(P, "r1", body))
    params = {detail["param"] for detail in err.details}
    assert params == {"description", "triggers.a.cron_expression", "action.agent_endpoint_id"}


def test_a_refused_update_leaves_the_routine_as_it_was(store: RoutineStore) -> None:
    before = store.put(P, "r1", schedule(description="v1"))
    refused(lambda: store.put(P, "r1", schedule(cron="* * * * *", description="v2")))
    assert store.get(P, "r1") == before


def test_service_error_body_for_a_server_error() -> None:
    body = ServiceError(503, "unavailable", "try later").to_body()
    assert body == {
        "error": {
            "code": "unavailable",
            "message": "try later",
            "param": None,
            "type": "server_error",
        }
    }


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": -5}, "limit"),
        ({"order": "up"}, "order"),
        ({"after": "!!not-a-cursor!!"}, "after"),
        ({"after": "cjox"}, "after"),
    ],
)
def test_bad_list_arguments_are_400(
    store: RoutineStore, kwargs: dict[str, Any], param: str
) -> None:
    store.put(P, "r1", schedule())
    for call in (lambda: store.list(P, **kwargs), lambda: store.list_runs(P, "r1", **kwargs)):
        err = refused(call)
        assert (err.status, err.param) == (400, param)


def test_a_run_cursor_is_not_a_routine_cursor(store: RoutineStore) -> None:
    store.put(P, "r1", schedule())
    for _ in range(3):
        store.dispatch(P, "r1", None)
    _, run_cursor = store.list_runs(P, "r1", limit=1)
    assert run_cursor is not None
    assert refused(lambda: store.list(P, after=run_cursor)).param == "after"


# --- 404 and delete ----------------------------------------------------------------------------


def test_missing_routines_are_404(store: RoutineStore) -> None:
    calls: list[Callable[[], object]] = [
        lambda: store.get(P, "ghost"),
        lambda: store.delete(P, "ghost"),
        lambda: store.set_enabled(P, "ghost", True),
        lambda: store.dispatch(P, "ghost", None),
        lambda: store.list_runs(P, "ghost"),
        lambda: store.authorization_of(P, "ghost"),
    ]
    for call in calls:
        err = refused(call)
        assert (err.status, err.code) == (404, "not_found")
        assert err.message == "routine 'ghost' not found"
        assert err.to_body()["error"]["type"] == "invalid_request_error"


def test_delete_removes_the_routine_and_keeps_its_runs(store: RoutineStore) -> None:
    store.put(P, "r1", schedule())
    ack = store.dispatch(P, "r1", None)
    store.delete(P, "r1")
    assert refused(lambda: store.get(P, "r1")).status == 404
    assert refused(lambda: store.delete(P, "r1")).status == 404
    runs, _ = store.list_runs(P, "r1")
    assert [run["dispatch_id"] for run in runs] == [ack["dispatch_id"]]


def test_recreating_after_delete_starts_a_new_routine(
    store: RoutineStore, clock: FakeClock
) -> None:
    store.put(P, "r1", schedule(authorization={"identity": "creator"}))
    store.delete(P, "r1")
    clock.advance(60)
    again = store.put(P, "r1", schedule())
    assert again["created_at"] == T0 + 60
    assert store.authorization_of(P, "r1") == "agent"


# --- list paging -------------------------------------------------------------------------------


def test_list_defaults_to_pages_of_20(store: RoutineStore) -> None:
    for i in range(DEFAULT_PAGE_SIZE + 1):
        store.put(P, f"r{i:02d}", schedule())
    page, cursor = store.list(P)
    assert len(page) == DEFAULT_PAGE_SIZE
    rest, last = store.list(P, after=cursor)
    assert (names(rest), last) == (["r20"], None)


def test_list_pages_by_creation_time_then_insertion(store: RoutineStore, clock: FakeClock) -> None:
    for i in range(8):
        store.put(P, f"r{i}", schedule())
        if i % 3 == 0:
            clock.advance(1)
    store.put(P, "r0", schedule(description="updated, still first"))
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page, cursor = store.list(P, limit=3, after=cursor)
        pages.append(names(page))
        if cursor is None:
            break
    assert pages == [["r0", "r1", "r2"], ["r3", "r4", "r5"], ["r6", "r7"]]


def test_a_page_that_ends_exactly_has_no_next_cursor(store: RoutineStore) -> None:
    for i in range(4):
        store.put(P, f"r{i}", schedule())
    first, cursor = store.list(P, limit=2)
    second, last = store.list(P, limit=2, after=cursor)
    assert (names(first), names(second), last) == (["r0", "r1"], ["r2", "r3"], None)


def test_a_cursor_survives_deleting_the_item_it_points_at(store: RoutineStore) -> None:
    for i in range(7):
        store.put(P, f"r{i}", schedule())
    first, cursor = store.list(P, limit=3)
    assert names(first) == ["r0", "r1", "r2"]
    store.delete(P, "r2")
    store.delete(P, "r3")
    second, cursor = store.list(P, limit=3, after=cursor)
    assert names(second) == ["r4", "r5", "r6"]
    assert cursor is None


def test_list_in_descending_order(store: RoutineStore, clock: FakeClock) -> None:
    for i in range(5):
        store.put(P, f"r{i}", schedule())
        clock.advance(1)
    first, cursor = store.list(P, limit=2, order="desc")
    second, cursor = store.list(P, limit=2, after=cursor, order="desc")
    third, cursor = store.list(P, limit=2, after=cursor, order="desc")
    assert [names(first), names(second), names(third)] == [["r4", "r3"], ["r2", "r1"], ["r0"]]
    assert cursor is None


def test_list_accepts_the_maximum_page(store: RoutineStore) -> None:
    store.put(P, "r1", schedule())
    assert names(store.list(P, limit=100)[0]) == ["r1"]


# --- enable, disable, dispatch, runs -------------------------------------------------------------


def test_enable_and_disable(store: RoutineStore) -> None:
    store.put(P, "r1", schedule())
    assert store.set_enabled(P, "r1", False)["enabled"] is False
    assert store.get(P, "r1")["enabled"] is False
    assert store.set_enabled(P, "r1", True)["enabled"] is True


def test_dispatch_records_a_manual_run(store: RoutineStore, clock: FakeClock) -> None:
    body = {
        "triggers": {"t": CRON_T},
        "action": {"type": INVOCATIONS, "agent_endpoint_id": "ep-1", "session_id": "s-9"},
    }
    store.put(P, "r1", body)
    ack = store.dispatch(P, "r1", {"type": INVOCATIONS, "input": {"x": 1}})
    assert set(ack) == {"dispatch_id", "action_correlation_id", "task_id"}
    (run,), cursor = store.list_runs(P, "r1")
    assert cursor is None
    assert run["dispatch_id"] == ack["dispatch_id"]
    assert run["action_correlation_id"] == ack["action_correlation_id"]
    assert run["task_id"] == ack["task_id"]
    assert run["attempt_source"] == "manual_dispatch"
    assert (run["status"], run["phase"]) == ("SCHEDULED", "queued")  # MLflow status, phase
    assert (run["started_at"], run["ended_at"]) == (None, None)
    clock.advance(3)  # queued for 1 s, dispatching for 2 s
    (run,), _ = store.list_runs(P, "r1")
    assert (run["status"], run["phase"]) == ("FINISHED", "completed")
    assert (run["started_at"], run["ended_at"]) == (T0 + 1, T0 + 3)
    assert (run["action_type"], run["agent_id"]) == (INVOCATIONS, "ep-1")
    assert (run["session_id"], run["conversation_id"]) == ("s-9", None)
    assert run["triggered_at"] == T0
    assert run["scheduled_fire_at"] is None
    assert run["error_status_code"] is None


def test_run_records_carry_every_field_of_the_contract(store: RoutineStore) -> None:
    store.put(P, "r1", schedule())
    store.dispatch(P, "r1", None)
    (run,), _ = store.list_runs(P, "r1")
    assert set(run) == {
        "id",
        "status",
        "phase",
        "trigger_type",
        "trigger_name",
        "trigger_event_payload",
        "attempt_source",
        "action_type",
        "agent_id",
        "conversation_id",
        "session_id",
        "triggered_at",
        "scheduled_fire_at",
        "started_at",
        "ended_at",
        "dispatch_id",
        "action_correlation_id",
        "response_id",
        "task_id",
        "error_status_code",
        "error_type",
        "error_message",
    }


def test_dispatch_payload_type_must_match_the_action(store: RoutineStore) -> None:
    store.put(P, "r1", schedule())
    err = refused(lambda: store.dispatch(P, "r1", {"type": INVOCATIONS, "input": "x"}))
    assert (err.status, err.code, err.param) == (400, "invalid_value", "payload.type")
    assert refused(lambda: store.dispatch(P, "r1", {"input": "x"})).param == "payload.type"
    assert store.list_runs(P, "r1") == ([], None)


def test_dispatching_a_disabled_routine_is_409(store: RoutineStore) -> None:
    store.put(P, "r1", schedule(enabled=False))
    err = refused(lambda: store.dispatch(P, "r1", None))
    assert (err.status, err.code) == (409, "routine_disabled")
    assert store.list_runs(P, "r1") == ([], None)


def test_runs_are_newest_first_and_page(store: RoutineStore, clock: FakeClock) -> None:
    store.put(P, "r1", schedule())
    acks = []
    for _ in range(5):
        acks.append(store.dispatch(P, "r1", None)["dispatch_id"])
        clock.advance(1)
    first, cursor = store.list_runs(P, "r1", limit=2)
    second, cursor = store.list_runs(P, "r1", limit=2, after=cursor)
    third, cursor = store.list_runs(P, "r1", limit=2, after=cursor)
    seen = [run["dispatch_id"] for run in (*first, *second, *third)]
    assert seen == acks[::-1]
    assert cursor is None
    ascending, _ = store.list_runs(P, "r1", limit=5, order="asc")
    assert [run["dispatch_id"] for run in ascending] == acks


# --- firing schedules and timers -----------------------------------------------------------------


def test_a_five_minute_schedule_fires_twelve_times_an_hour(
    store: RoutineStore, clock: FakeClock
) -> None:
    store.put(P, "r1", schedule())
    clock.advance(3600)
    assert store.fire_due(clock.now()) == 12
    runs, _ = store.list_runs(P, "r1", limit=100, order="asc")
    assert [run["scheduled_fire_at"] for run in runs] == [T0 + 300 * k for k in range(1, 13)]
    for run in runs:
        assert run["attempt_source"] == "schedule_delivery"
        assert (run["trigger_type"], run["trigger_name"]) == ("schedule", "t")
        assert (run["triggered_at"], run["agent_id"]) == (T0 + 3600, "agent-a")
        assert run["dispatch_id"] is None
    assert store.fire_due(clock.now()) == 0


def test_fire_due_only_writes_new_firings(store: RoutineStore, clock: FakeClock) -> None:
    store.put(P, "r1", schedule())
    assert store.fire_due(T0 + 299) == 0
    assert store.fire_due(T0 + 300) == 1
    assert store.fire_due(T0 + 300.5) == 0
    assert store.fire_due(T0 + 900) == 2


def test_a_schedule_fires_in_its_windows_time_zone(store: RoutineStore, clock: FakeClock) -> None:
    store.put(P, "r1", schedule(cron="0 9 * * *", zone="W. Europe Standard Time"))
    clock.advance(86_400)  # a run is read as of the store's clock
    assert store.fire_due(clock.now()) == 1
    (run,), _ = store.list_runs(P, "r1")
    assert run["scheduled_fire_at"] == T0 + 8 * 3600  # 09:00 CET is 08:00 UTC


def test_the_watermark_of_a_new_routine_starts_at_creation(
    store: RoutineStore, clock: FakeClock
) -> None:
    clock.advance(1000)
    store.put(P, "r1", schedule())
    clock.advance(200)
    assert store.fire_due(clock.now()) == 1
    (run,), _ = store.list_runs(P, "r1")
    assert run["scheduled_fire_at"] == T0 + 1200


def test_a_long_gap_fires_at_most_the_cap(store: RoutineStore, clock: FakeClock) -> None:
    store.put(P, "r1", schedule())
    assert store.fire_due(T0 + 5 * 86_400) == FIRE_MAX_PER_ROUTINE
    assert store.fire_due(T0 + 5 * 86_400 + 300) == 1


def test_a_timer_fires_exactly_once(store: RoutineStore, clock: FakeClock) -> None:
    store.put(P, "once", timer("10m"))
    assert store.fire_due(T0 + 300) == 0
    assert store.fire_due(T0 + 900) == 1
    assert store.fire_due(T0 + 9000) == 0
    clock.advance(9000)
    store.set_enabled(P, "once", False)
    store.set_enabled(P, "once", True)
    assert store.fire_due(T0 + 99_000) == 0
    (run,), _ = store.list_runs(P, "once")
    assert run["attempt_source"] == "timer_delivery"
    assert (run["trigger_type"], run["trigger_name"]) == ("timer", "once")
    assert (run["scheduled_fire_at"], run["triggered_at"]) == (T0 + 600, T0 + 900)
    assert store.get(P, "once")["enabled"] is True


def test_a_timer_moved_by_a_later_put_fires_again(store: RoutineStore, clock: FakeClock) -> None:
    store.put(P, "once", timer("5m"))
    clock.advance(600)
    assert store.fire_due(clock.now()) == 1
    store.put(P, "once", timer("5m"))
    clock.advance(600)
    assert store.fire_due(clock.now()) == 1
    assert len(store.list_runs(P, "once")[0]) == 2


def test_a_disabled_routine_fires_nothing_and_does_not_replay(
    store: RoutineStore, clock: FakeClock
) -> None:
    store.put(P, "r1", schedule(enabled=False))
    store.put(P, "r2", schedule())
    store.set_enabled(P, "r2", False)
    clock.advance(3600)
    assert store.fire_due(clock.now()) == 0
    store.set_enabled(P, "r1", True)
    assert store.fire_due(clock.now()) == 0
    clock.advance(3600)  # r2 stays disabled across this hour; no fire_due call meanwhile
    store.set_enabled(P, "r2", True)
    assert store.fire_due(clock.now()) == 12  # only r1's hour
    assert store.list_runs(P, "r2") == ([], None)


def test_a_disabled_timer_that_passes_never_fires(store: RoutineStore, clock: FakeClock) -> None:
    store.put(P, "once", timer("5m", enabled=False))
    clock.advance(600)
    store.set_enabled(P, "once", True)
    assert store.fire_due(clock.now() + 600) == 0


def test_firings_before_an_edit_belong_to_the_old_definition(
    store: RoutineStore, clock: FakeClock
) -> None:
    store.put(P, "r1", schedule())
    clock.advance(610)  # :05 and :10 of the old schedule have passed
    store.put(P, "r1", schedule(cron="0 * * * *"))
    clock.advance(2900)
    assert store.fire_due(clock.now()) == 0  # the hourly slot is T0 + 3600
    runs, _ = store.list_runs(P, "r1", order="asc")
    assert [run["scheduled_fire_at"] for run in runs] == [T0 + 300, T0 + 600]


def test_an_edited_schedule_does_not_fire_its_past_slots(
    store: RoutineStore, clock: FakeClock
) -> None:
    store.put(P, "r1", schedule(cron="0 * * * *"))
    clock.advance(610)
    store.put(P, "r1", schedule())
    clock.advance(340)
    assert store.fire_due(clock.now()) == 1
    (run,), _ = store.list_runs(P, "r1")
    assert run["scheduled_fire_at"] == T0 + 900


def test_disabling_keeps_the_firings_that_happened_before(
    store: RoutineStore, clock: FakeClock
) -> None:
    store.put(P, "r1", schedule())
    clock.advance(900)
    store.set_enabled(P, "r1", False)
    clock.advance(3600)
    assert store.fire_due(clock.now()) == 0
    assert len(store.list_runs(P, "r1")[0]) == 3


def test_event_triggers_never_fire_on_the_clock(store: RoutineStore, clock: FakeClock) -> None:
    body = {
        "triggers": {"c": {"type": "custom", "provider": "p", "parameters": {}}},
        "action": AGENT,
    }
    store.put(P, "ev", body)
    assert store.fire_due(T0 + 86_400) == 0


def test_event_routines_can_be_edited_as_time_passes(store: RoutineStore, clock: FakeClock) -> None:
    body = {
        "triggers": {"c": {"type": "custom", "provider": "p", "parameters": {}}},
        "action": AGENT,
    }
    store.put(P, "ev", body)
    clock.advance(3600)
    store.put(P, "ev", {**body, "description": "v2"})
    clock.advance(3600)
    store.set_enabled(P, "ev", False)
    clock.advance(3600)
    store.delete(P, "ev")
    assert refused(lambda: store.list_runs(P, "ev")).status == 404


def test_fire_due_covers_every_project(store: RoutineStore, clock: FakeClock) -> None:
    store.put("a", "r1", schedule())
    store.put("b", "r1", schedule())
    clock.advance(600)
    assert store.fire_due(clock.now()) == 4
    assert len(store.list_runs("a", "r1")[0]) == 2


# --- concurrency -------------------------------------------------------------------------------


def test_threads_write_concurrently(store: RoutineStore) -> None:
    def work(i: int) -> str:
        store.put(P, f"r{i:02d}", schedule(description=f"routine {i}"))
        store.dispatch(P, f"r{i:02d}", None)
        return str(store.get(P, f"r{i:02d}")["description"])

    with ThreadPoolExecutor(max_workers=16) as pool:
        descriptions = list(pool.map(work, range(50)))
    assert descriptions == [f"routine {i}" for i in range(50)]
    page, _ = store.list(P, limit=100)
    assert sorted(names(page)) == [f"r{i:02d}" for i in range(50)]
    assert all(len(store.list_runs(P, f"r{i:02d}")[0]) == 1 for i in range(50))


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from reconciler.service import RoutineStore

    path, prefix, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    store = RoutineStore(path)
    Path(f"{go}.{prefix}.ready").touch()
    while not go.exists():
        time.sleep(0.005)
    body = {
        "triggers": {"t": {"type": "schedule", "cron_expression": "0 7 * * *",
                           "time_zone": "UTC"}},
        "action": {"type": "invoke_agent_responses_api", "agent_name": "a"},
    }
    for i in range(40):
        store.put("proj", f"{prefix}{i:02d}", body)
        store.dispatch("proj", f"{prefix}{i:02d}", None)
    store.close()
    """
)


def test_two_processes_write_to_one_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), prefix, str(go)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix in ("a", "b")
    ]
    deadline = time.monotonic() + 60
    while not all(Path(f"{go}.{p}.ready").exists() for p in "ab"):
        assert time.monotonic() < deadline, "the writers did not start"
        if any(w.poll() is not None for w in writers):
            break  # a writer failed: its stderr is shown below
        time.sleep(0.01)
    go.touch()  # both have opened the file: now they write at the same time
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    with RoutineStore(str(path)) as store:
        page, cursor = store.list(P, limit=100)
        assert cursor is None
        assert sorted(names(page)) == sorted(f"{p}{i:02d}" for p in "ab" for i in range(40))
        assert all(len(store.list_runs(P, name)[0]) == 1 for name in names(page))


def test_the_file_uses_the_wal_journal(store: RoutineStore, db_path: Path) -> None:
    with closing(sqlite3.connect(db_path)) as conn, conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --- files that are not a local project --------------------------------------------------------


def test_the_parent_directory_is_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "local.db"
    with RoutineStore(str(path)) as store:
        store.put(P, "r1", schedule())
    assert path.is_file()


def test_an_empty_file_becomes_a_project(tmp_path: Path) -> None:
    path = tmp_path / "local.db"
    path.touch()
    with RoutineStore(str(path)) as store:
        assert store.list(P) == ([], None)


def test_a_corrupt_file_is_refused_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "local.db"
    garbage = os.urandom(8192)
    path.write_bytes(garbage)
    with pytest.raises(StoreError) as info:
        RoutineStore(str(path))
    message = str(info.value)
    assert message == f"local project {path} is not a reconciler database (file is not a database)"
    assert "\n" not in message
    assert path.read_bytes() == garbage


def test_a_foreign_sqlite_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        conn.execute("INSERT INTO invoices (total) VALUES (9.5)")
    with pytest.raises(StoreError) as info:
        RoutineStore(str(path))
    assert str(info.value) == (
        f"local project {path} is not a reconciler database (it holds other tables: invoices)"
    )
    with closing(sqlite3.connect(path)) as conn, conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("SELECT total FROM invoices").fetchall() == [(9.5,)]


def test_a_foreign_meta_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE meta (k TEXT, v TEXT)")
    with pytest.raises(StoreError, match="is not a reconciler database"):
        RoutineStore(str(path))


def test_another_schema_version_is_refused(db_path: Path) -> None:
    RoutineStore(str(db_path)).close()
    with closing(sqlite3.connect(db_path)) as conn, conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError) as info:
        RoutineStore(str(db_path))
    assert str(info.value).startswith(f"local project {db_path} has schema version 99;")


def test_a_directory_is_not_a_database_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        RoutineStore(str(tmp_path))
    assert str(info.value).startswith(f"local project {tmp_path} cannot be opened")


def test_a_path_below_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    path = blocker / "local.db"
    with pytest.raises(StoreError) as info:
        RoutineStore(str(path))
    assert str(info.value).startswith(f"local project {path} cannot be created")


def test_runs_are_stored_as_json(store: RoutineStore, db_path: Path) -> None:
    store.put(P, "r1", schedule())
    store.dispatch(P, "r1", None)
    with closing(sqlite3.connect(db_path)) as conn, conn:
        (record,) = conn.execute("SELECT record FROM runs").fetchone()
    assert json.loads(record)["attempt_source"] == "manual_dispatch"


# --- read-only stores (commands that never write) ----------------------------------------------


def test_a_read_only_store_reads_and_refuses_every_write(db_path: Path, clock: FakeClock) -> None:
    with RoutineStore(str(db_path), clock) as writer:
        writer.put(P, "r1", schedule())
    before = db_path.read_bytes()
    with RoutineStore(str(db_path), clock, read_only=True) as store:
        assert names(store.list(P)[0]) == ["r1"]
        assert store.get(P, "r1")["name"] == "r1"
        message = (
            f"local project {db_path} is read-only (opened by a command that does not write); "
            "nothing was written"
        )
        for write in (
            lambda: store.put(P, "r2", schedule()),
            lambda: store.delete(P, "r1"),
            lambda: store.set_enabled(P, "r1", False),
            lambda: store.dispatch(P, "r1", None),
            lambda: store.fire_due(T0 + 3600),
        ):
            with pytest.raises(StoreError) as info:
                write()
            assert str(info.value) == message
    assert db_path.read_bytes() == before


def test_a_read_only_store_uses_a_read_only_sqlite_connection(db_path: Path) -> None:
    RoutineStore(str(db_path)).close()
    store = RoutineStore(str(db_path), read_only=True)
    # past the store's own guard: SQLite itself refuses the write (the connection is mode=ro)
    with pytest.raises(StoreError) as info, store._transaction("BEGIN IMMEDIATE") as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
    store.close()
    assert str(info.value) == (
        f"local project {db_path} is read-only (attempt to write a readonly database); "
        "nothing was written"
    )
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("SELECT count(*) FROM meta WHERE key = 'x'").fetchone() == (0,)


def test_a_read_only_store_creates_and_initializes_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    with RoutineStore(str(empty), read_only=True) as store:
        assert store.empty
    assert empty.read_bytes() == b""
    missing = tmp_path / "no" / "such.db"
    with pytest.raises(StoreError) as info:
        RoutineStore(str(missing), read_only=True)
    assert (
        str(info.value)
        == f"local project {missing} cannot be opened (unable to open database file)"
    )
    assert not (tmp_path / "no").exists()


def test_a_read_only_store_keeps_the_journal_mode(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    RoutineStore(str(path)).close()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
    with RoutineStore(str(path), read_only=True) as store:
        assert store.list(P) == ([], None)
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_a_path_with_uri_characters_opens_read_only(tmp_path: Path) -> None:
    path = tmp_path / "a dir?x=1#y%20" / "p.db"
    with RoutineStore(str(path)) as writer:
        writer.put(P, "r1", schedule())
    with RoutineStore(str(path), read_only=True) as store:
        assert names(store.list(P)[0]) == ["r1"]
