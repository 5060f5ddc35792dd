"""Runs that behave like the service's: queued -> dispatching -> completed | failed over the
store's clock, injected agent failures, and the delivery policy (3 attempts, backoff 1-5 s,
408/429/5xx retried, other 4xx terminal) in the records; on the embedded project's store with a
clock moved by hand, and through the real SDK against the emulator and its admin route."""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.ai.projects import AIProjectClient

from reconciler.contract.delivery import backoff, final_failure, retried
from reconciler.emulator import EmulatedClock, Emulator
from reconciler.service import RoutineStore
from reconciler.service.failures import AgentFailure, parse_spec
from tests.conftest import REPO, run_cli
from tests.emulator_fixtures import FROZEN_START, HTTP, StaticToken, admin, raw

T0 = 1_893_456_000
P = "proj"
EVERY5 = {"t": {"type": "schedule", "cron_expression": "*/5 * * * *", "time_zone": "UTC"}}


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = T0) -> None:
        self.value = start

    def now(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


def routine(agent: str = "good") -> dict[str, Any]:
    return {
        "triggers": EVERY5,
        "action": {"type": "invoke_agent_responses_api", "agent_name": agent},
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[RoutineStore]:
    opened = RoutineStore(str(tmp_path / "local.db"), clock, rng=random.Random(7))
    opened.put(P, "r", routine("good"))
    opened.put(P, "bad", routine("bad"))
    yield opened
    opened.close()


def runs(store: RoutineStore, name: str = "r") -> list[dict[str, Any]]:
    """Every run of ``name`` as it reads now, oldest first."""
    return store.list_runs(P, name, limit=100, order="asc")[0]


def phases(store: RoutineStore, name: str = "r") -> list[str]:
    return [run["phase"] for run in runs(store, name)]


# --- the policy --------------------------------------------------------------------------------


def test_the_delivery_policy() -> None:
    assert [retried(s) for s in (408, 429, 500, 502, 503, 599)] == [True] * 6
    assert [retried(s) for s in (400, 401, 403, 404, 409, 422)] == [False] * 6
    assert retried(None)  # a failure without a status (a timeout)
    assert [backoff(n) for n in (2, 3, 4, 5, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert not final_failure(500, 1) and not final_failure(500, 2) and final_failure(500, 3)
    assert final_failure(400, 1)


# --- a healthy run over time -------------------------------------------------------------------


def test_a_dispatch_is_queued_then_dispatching_then_completed(
    store: RoutineStore, clock: FakeClock
) -> None:
    ack = store.dispatch(P, "r")
    [queued] = runs(store)
    assert (queued["phase"], queued["status"]) == ("queued", "SCHEDULED")
    assert (queued["started_at"], queued["ended_at"]) == (None, None)
    clock.advance(1)
    [running] = runs(store)
    assert (running["phase"], running["status"]) == ("dispatching", "RUNNING")
    assert (running["started_at"], running["ended_at"]) == (T0 + 1, None)
    clock.advance(2)
    [done] = runs(store)
    assert (done["phase"], done["status"], done["ended_at"]) == ("completed", "FINISHED", T0 + 3)
    assert done["id"] == queued["id"] == running["id"]
    assert done["dispatch_id"] == ack["dispatch_id"]
    assert done["error_status_code"] is None
    assert "_lifecycle" not in done  # the timeline is never shown


def test_a_filter_sees_the_run_as_it_reads_now(store: RoutineStore, clock: FakeClock) -> None:
    store.dispatch(P, "r")
    assert len(store.list_runs(P, "r", filter_expression="attributes.status = 'SCHEDULED'")[0]) == 1
    assert store.list_runs(P, "r", filter_expression="attributes.status = 'FINISHED'")[0] == []
    clock.advance(3)
    assert len(store.list_runs(P, "r", filter_expression="attributes.status = 'FINISHED'")[0]) == 1


def test_a_read_only_store_shows_the_runs_moving(tmp_path: Path, clock: FakeClock) -> None:
    """The embedded project has no ticker: a reader (even read-only) sees the phases change."""
    path = str(tmp_path / "local.db")
    with RoutineStore(path, clock) as writer:
        writer.put(P, "r", routine())
        writer.dispatch(P, "r")
    with RoutineStore(path, clock, read_only=True) as reader:
        assert phases(reader) == ["queued"]
        clock.advance(5)
        assert phases(reader) == ["completed"]


# --- failures and the delivery policy ----------------------------------------------------------


def test_a_retried_failure_writes_three_attempts_with_backoff(
    store: RoutineStore, clock: FakeClock
) -> None:
    store.replace_failures([AgentFailure("bad")])  # every attempt answers 500
    ack = store.dispatch(P, "bad")
    clock.advance(3)  # attempt 1: queued 0-1, dispatching 1-3, failed at 3
    assert phases(store, "bad") == ["failed", "queued"]  # attempt 2 waits its 1 s backoff
    clock.advance(1)
    assert phases(store, "bad") == ["failed", "dispatching"]
    clock.advance(3)  # attempt 2 failed at 6, attempt 3 waits 2 s (6-8)
    assert phases(store, "bad") == ["failed", "failed", "queued"]
    clock.advance(3)  # attempt 3: dispatching 8-10, failed at 10: the last one
    assert phases(store, "bad") == ["failed", "failed", "failed"]
    clock.advance(3600)
    attempts = runs(store, "bad")
    assert [run["phase"] for run in attempts] == ["failed"] * 3
    assert [(run["started_at"] - T0, run["ended_at"] - T0) for run in attempts] == [
        (1, 3),
        (4, 6),
        (8, 10),
    ]
    assert len({run["id"] for run in attempts}) == 3
    assert {run["dispatch_id"] for run in attempts} == {ack["dispatch_id"]}
    assert {run["action_correlation_id"] for run in attempts} == {ack["action_correlation_id"]}
    assert {run["triggered_at"] for run in attempts} == {T0}
    assert {run["error_status_code"] for run in attempts} == {500}
    assert {run["error_type"] for run in attempts} == {"reconciler.emulator.AgentHttpError"}
    assert attempts[0]["error_message"] == "agent 'bad' answered 500 (injected failure)"
    assert attempts[0]["status"] == "FAILED"
    assert phases(store) == []  # other agents are not touched


def test_another_4xx_is_terminal_after_one_attempt(store: RoutineStore, clock: FakeClock) -> None:
    store.replace_failures([AgentFailure("bad", status_code=404, error_message="no such agent")])
    store.dispatch(P, "bad")
    clock.advance(3600)
    [only] = runs(store, "bad")
    assert (only["phase"], only["error_status_code"], only["error_message"]) == (
        "failed",
        404,
        "no such agent",
    )


@pytest.mark.parametrize("status", [408, 429, 503])
def test_408_429_and_5xx_are_retried(store: RoutineStore, clock: FakeClock, status: int) -> None:
    store.replace_failures([AgentFailure("bad", status_code=status)])
    store.dispatch(P, "bad")
    clock.advance(3600)
    assert [run["error_status_code"] for run in runs(store, "bad")] == [status] * 3


def test_a_timed_out_attempt_takes_the_whole_attempt_timeout(
    store: RoutineStore, clock: FakeClock
) -> None:
    store.replace_failures([AgentFailure("bad", status_code=408)])
    store.dispatch(P, "bad")
    clock.advance(30)
    assert phases(store, "bad") == ["dispatching"]  # started at 1, times out at 31
    clock.advance(3600)
    first = runs(store, "bad")[0]
    assert first["ended_at"] - first["started_at"] == 30
    assert first["error_type"] == "reconciler.emulator.AgentTimeout"


def test_a_flaky_agent_can_succeed_on_a_retry(tmp_path: Path, clock: FakeClock) -> None:
    # random.Random(3) draws 0.238, 0.544, 0.369, ...: with a rate of 0.3 the first attempt
    # fails and the second completes
    with RoutineStore(str(tmp_path / "f.db"), clock, rng=random.Random(3)) as flaky:
        flaky.put(P, "r", routine("flaky"))
        flaky.replace_failures([AgentFailure("flaky", rate=0.3)])
        flaky.dispatch(P, "r")
        clock.advance(3600)
        assert phases(flaky) == ["failed", "completed"]


def test_scheduled_firings_and_events_are_delivered_the_same_way(
    store: RoutineStore, clock: FakeClock
) -> None:
    store.replace_failures([AgentFailure("bad", status_code=400)])
    clock.advance(600)
    assert store.fire_due(clock.now()) == 4  # two firings each of r and bad; counted once
    clock.advance(3)
    assert phases(store) == ["completed", "completed"]
    assert phases(store, "bad") == ["failed", "failed"]


def test_injected_failures_are_kept_in_the_file(tmp_path: Path, clock: FakeClock) -> None:
    path = str(tmp_path / "kept.db")
    with RoutineStore(path, clock) as first:
        assert first.list_failures() == ()
        assert first.replace_failures([AgentFailure("b", 0.5, 429), AgentFailure("a")]) == 2
    with RoutineStore(path, clock, read_only=True) as again:
        assert again.list_failures() == (AgentFailure("a"), AgentFailure("b", 0.5, 429))
    with RoutineStore(path, clock) as cleared:
        assert cleared.replace_failures([]) == 0
        assert cleared.list_failures() == ()


# --- parsing failures --------------------------------------------------------------------------


def test_fail_agent_specs() -> None:
    assert parse_spec("triage") == AgentFailure("triage", 1.0, 500)
    assert parse_spec("triage:0.25") == AgentFailure("triage", 0.25, 500)
    assert parse_spec("triage:1:404") == AgentFailure("triage", 1.0, 404)


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("", "is not NAME[:RATE[:STATUS]]"),
        ("a:b", "is not NAME[:RATE[:STATUS]]"),
        ("a:1:2:3", "is not NAME[:RATE[:STATUS]]"),
        ("a:2", "rate of agent 'a' must be between 0 and 1"),
        ("a:1:200", "must be an error status from 400 to 599"),
    ],
)
def test_bad_fail_agent_specs_say_what_is_wrong(spec: str, named: str) -> None:
    with pytest.raises(ValueError, match=r".") as caught:
        parse_spec(spec)
    assert named in str(caught.value)


def test_the_emulator_refuses_a_bad_fail_agent_before_serving(tmp_path: Path) -> None:
    done = run_cli("emulator", "--db", str(tmp_path / "e.db"), "--fail-agent", "a:7", cwd=tmp_path)
    assert done.returncode == 1
    assert "--fail-agent" in done.stderr and "between 0 and 1" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "e.db").exists()


def test_the_emulator_serves_with_the_fail_agent_failures(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "GITHUB_"))}
    args = ["--port", "0", "--db", str(tmp_path / "cli.db"), "--fail-agent", "bad:0.5:503"]
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "emulator", *args, "--fail-agent", "other"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: queue.Queue[str] = queue.Queue()
        stdout = process.stdout
        assert stdout is not None
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
        line = lines.get(timeout=60)
        base = line.removeprefix("Emulator listening on ").split(" ")[0]
        failing = admin(base, "GET", "agents/failures")["failures"]
        assert [(f["agent"], f["rate"], f["status_code"]) for f in failing] == [
            ("bad", 0.5, 503),
            ("other", 1.0, 500),
        ]
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0


# --- through the SDK against the emulator ------------------------------------------------------


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    clock = EmulatedClock(FROZEN_START, speed=0)
    with Emulator(tmp_path / "emu.db", clock=clock, failures=[AgentFailure("bad")]) as running:
        yield running


@pytest.fixture
def routines(emu: Emulator) -> Iterator[Any]:
    with AIProjectClient(
        endpoint=emu.endpoint(), credential=StaticToken(), retry_total=0
    ) as client:
        routines = client.beta.routines
        routines.create_or_update("r", routine("good"), **HTTP)
        routines.create_or_update("bad", routine("bad"), **HTTP)
        yield routines


def advance(emu: Emulator, seconds: float) -> None:
    admin(emu.url, "POST", "clock/advance", {"seconds": seconds})


def test_sdk_runs_move_with_the_emulated_clock(routines: Any, emu: Emulator) -> None:
    dispatched = routines.dispatch("r", **HTTP).dispatch_id
    [run] = routines.list_runs("r", **HTTP)
    assert (run.phase, run.status, run.started_at) == ("queued", "SCHEDULED", None)
    advance(emu, 1)
    [run] = routines.list_runs("r", **HTTP)
    assert (run.phase, run.status, run.ended_at) == ("dispatching", "RUNNING", None)
    advance(emu, 2)
    [run] = routines.list_runs("r", **HTTP)
    assert (run.phase, run.status, run.dispatch_id) == ("completed", "FINISHED", dispatched)


def test_sdk_failures_from_fail_agent_carry_the_error_fields(routines: Any, emu: Emulator) -> None:
    dispatched = routines.dispatch("bad", **HTTP).dispatch_id
    advance(emu, 60)
    attempts = list(routines.list_runs("bad", order="asc", **HTTP))
    assert [run.phase for run in attempts] == ["failed"] * 3
    assert {run.dispatch_id for run in attempts} == {dispatched}
    assert {(run.error_status_code, run.status) for run in attempts} == {(500, "FAILED")}
    assert attempts[0].error_type == "reconciler.emulator.AgentHttpError"
    assert "answered 500" in attempts[0].error_message


def test_the_admin_route_replaces_the_failures(routines: Any, emu: Emulator) -> None:
    assert admin(emu.url, "GET", "agents/failures")["failures"][0]["agent"] == "bad"
    changed = {"failures": [{"agent": "good", "status_code": 403, "error_type": "Forbidden"}]}
    answer = admin(emu.url, "PUT", "agents/failures", changed)
    assert answer["failures"] == [
        {
            "agent": "good",
            "rate": 1.0,
            "status_code": 403,
            "error_type": "Forbidden",
            "error_message": None,
        }
    ]
    routines.dispatch("r", **HTTP)
    routines.dispatch("bad", **HTTP)
    advance(emu, 60)
    [failed] = routines.list_runs("r", **HTTP)
    assert (failed.phase, failed.error_type, failed.error_status_code) == (
        "failed",
        "Forbidden",
        403,
    )
    assert [run.phase for run in routines.list_runs("bad", **HTTP)] == ["completed"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"failures": [{"agent": "a", "rate": 3}]}, "between 0 and 1"),
        ({"failures": [{"agent": "a", "colour": "red"}]}, "unknown failure field 'colour'"),
        ({"failures": [{"rate": 1}]}, "agent must be a string"),
        ({"failures": [{"agent": "a", "status_code": "500"}]}, "must be an integer"),
        ({"failures": {"agent": "a"}}, 'the body must be {"failures"'),
        ({"agents": []}, 'the body must be {"failures"'),
    ],
)
def test_the_admin_route_refuses_bad_failures(
    emu: Emulator, body: dict[str, Any], named: str
) -> None:
    answer = raw("PUT", f"{emu.url}/_emulator/agents/failures", body, auth=False)
    assert answer.status == 400
    assert named in answer.error["message"]
    assert admin(emu.url, "GET", "agents/failures")["failures"][0]["agent"] == "bad"  # unchanged
