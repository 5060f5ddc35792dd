"""Dispatch and wait (``reconciler.app.dispatching``) through the real SDK against the emulator
(``AzureBackend``) and on the embedded project (``LocalBackend``): a healthy agent completes, a
failing one fails after the policy's attempts, a timeout says what it saw, a refusal queues
nothing, several routines at once keep their order, and ``:dispatch_async`` is sent once
(retried only when it could not connect)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.app.dispatching import (
    DispatchRequest,
    Poll,
    dispatch_all,
    dispatch_and_wait,
    error_of,
    payload_for,
)
from reconciler.app.run_watch import Progress, find_attempts, settle
from reconciler.emulator import EmulatedClock, Emulator
from reconciler.live.azure import AzureBackend
from reconciler.live.local import LocalBackend
from reconciler.service.failures import AgentFailure
from tests.emulator_fixtures import admin

FAST_POLL = Poll(first=0.02, factor=1.5, cap=0.1)
FAST = {"RECONCILER_RETRY_TOTAL": "2", "RECONCILER_RETRY_BACKOFF": "0.01"}
FAILING = [AgentFailure("bad"), AgentFailure("gone", status_code=404)]


def routine(agent: str, *, enabled: bool = True) -> dict[str, Any]:
    return {
        "enabled": enabled,
        "triggers": {"t": {"type": "schedule", "cron_expression": "0 7 * * *", "time_zone": "UTC"}},
        "action": {"type": "invoke_agent_responses_api", "agent_name": agent},
    }


def seed(backend: Any) -> None:
    for name, agent in (("ok", "good"), ("flaky", "bad"), ("lost", "gone")):
        backend.create_or_update(name, routine(agent))
    backend.create_or_update("off", routine("good", enabled=False))


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    """An emulator whose clock runs 50 times faster than real time."""
    with Emulator(tmp_path / "emu.db", clock=EmulatedClock(speed=50), failures=FAILING) as running:
        yield running


@pytest.fixture
def azure(emu: Emulator) -> Iterator[AzureBackend]:
    backend = AzureBackend(emu.endpoint(), environ=FAST)
    seed(backend)
    yield backend
    backend.close()


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalBackend]:
    backend = LocalBackend(str(tmp_path / "local.db"))
    seed(backend)
    backend.store.replace_failures(FAILING)
    yield backend
    backend.close()


def counters(emu: Emulator) -> dict[str, Any]:
    return dict(admin(emu.url, "GET", "counters"))


# --- through the SDK against the emulator ------------------------------------------------------


def test_a_healthy_agent_completes(azure: AzureBackend) -> None:
    seen: list[Progress] = []
    outcome = dispatch_and_wait(azure, "ok", timeout=30, poll=FAST_POLL, on_progress=seen.append)
    assert (outcome.state, outcome.ok) == ("completed", True)
    assert outcome.run is not None and outcome.run["phase"] == "completed"
    assert outcome.run["dispatch_id"] == outcome.dispatch_id == outcome.ack["dispatch_id"]
    assert outcome.run_ids == [outcome.run["id"]]
    assert seen[-1].phase == "completed" and seen[-1].dispatch_id == outcome.dispatch_id
    assert {p.phase for p in seen} <= {None, "queued", "dispatching", "completed"}


def test_a_failing_agent_fails_after_three_attempts(azure: AzureBackend) -> None:
    outcome = dispatch_and_wait(azure, "flaky", timeout=30, poll=FAST_POLL)
    assert (outcome.state, outcome.ok) == ("failed", False)
    assert [run["phase"] for run in outcome.attempts] == ["failed"] * 3
    assert outcome.run == outcome.attempts[-1]
    assert error_of(outcome.run) == (
        "reconciler.emulator.AgentHttpError (500): agent 'bad' answered 500 (injected failure)"
    )


def test_a_terminal_4xx_fails_at_once(azure: AzureBackend) -> None:
    outcome = dispatch_and_wait(azure, "lost", timeout=30, poll=FAST_POLL)
    assert outcome.state == "failed"
    assert len(outcome.attempts) == 1 and outcome.run is not None
    assert outcome.run["error_status_code"] == 404


def test_a_payload_reaches_the_service(azure: AzureBackend) -> None:
    payload = payload_for("invoke_agent_responses_api", {"issue": 42})
    assert dispatch_and_wait(azure, "ok", payload, timeout=30, poll=FAST_POLL).ok
    wrong = dispatch_and_wait(azure, "ok", payload_for("invoke_agent_invocations_api", "x"))
    assert wrong.state == "refused" and "payload.type" in str(wrong.message)


def test_without_waiting_only_the_acknowledgement(azure: AzureBackend) -> None:
    outcome = dispatch_and_wait(azure, "ok", wait=False)
    assert (outcome.state, outcome.ok, outcome.attempts) == ("dispatched", True, ())
    assert outcome.dispatch_id and set(outcome.ack) == {
        "dispatch_id",
        "action_correlation_id",
        "task_id",
    }


def test_refusals_queue_nothing(azure: AzureBackend) -> None:
    disabled = dispatch_and_wait(azure, "off", timeout=5, poll=FAST_POLL)
    assert disabled.state == "refused" and "409" in str(disabled.message)
    missing = dispatch_and_wait(azure, "absent", timeout=5, poll=FAST_POLL)
    assert missing.state == "refused" and "not found" in str(missing.message)
    assert azure.list_runs("off") == []


def test_a_timeout_reports_the_newest_attempt(tmp_path: Path) -> None:
    frozen = EmulatedClock(speed=0)  # nothing moves: the run stays queued
    with (
        Emulator(tmp_path / "frozen.db", clock=frozen) as emu,
        AzureBackend(emu.endpoint(), environ=FAST) as backend,
    ):
        backend.create_or_update("ok", routine("good"))
        outcome = dispatch_and_wait(backend, "ok", timeout=0.3, poll=FAST_POLL)
    assert outcome.state == "timeout" and not outcome.ok
    assert outcome.run is not None and outcome.run["phase"] == "queued"
    assert outcome.message is not None and "still queued" in outcome.message
    assert 0.3 <= outcome.elapsed < 5


def test_several_routines_at_once_keep_their_order(emu: Emulator, azure: AzureBackend) -> None:
    requests = [DispatchRequest(name) for name in ("flaky", "ok", "lost", "absent", "ok")]
    outcomes = dispatch_all(azure, requests, timeout=30, poll=FAST_POLL)
    assert [o.name for o in outcomes] == ["flaky", "ok", "lost", "absent", "ok"]
    assert [o.state for o in outcomes] == ["failed", "completed", "failed", "refused", "completed"]
    assert outcomes[1].dispatch_id != outcomes[4].dispatch_id
    assert counters(emu)["routes"]["POST /routines/{name}:dispatch_async"] == 5
    assert dispatch_all(azure, []) == []


def test_dispatch_is_sent_once_when_it_may_have_been_received(
    emu: Emulator, azure: AzureBackend
) -> None:
    for fault in ("503", "429", "500", "drop_after"):
        admin(emu.url, "POST", "counters/reset")
        admin(emu.url, "PUT", "faults", {"script": [{"fault": fault, "retry_after": 0}]})
        outcome = dispatch_and_wait(azure, "ok", timeout=5, poll=FAST_POLL)
        assert outcome.state in ("refused", "error"), fault
        assert counters(emu)["routes"]["POST /routines/{name}:dispatch_async"] == 1, fault
    assert outcome.state == "error"  # the dropped answer: the dispatch may have been received
    assert "may have been received and was not retried" in str(outcome.message)
    assert len(azure.list_runs("ok")) == 1  # drop_after: the dispatch was processed, once


def test_dispatch_is_retried_when_it_could_not_connect() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with AzureBackend(f"http://127.0.0.1:{port}/api/projects/p", environ=FAST) as backend:
        outcome = dispatch_and_wait(backend, "ok", timeout=5)
    assert outcome.state == "error"
    assert "cannot reach" in str(outcome.message) and "gave up after" in str(outcome.message)


# --- on the embedded project (its wall clock; no ticker) ---------------------------------------


def test_embedded_project_healthy_and_failing(local: LocalBackend) -> None:
    ok, lost = dispatch_all(
        local, [DispatchRequest("ok"), DispatchRequest("lost")], timeout=30, poll=FAST_POLL
    )
    assert (ok.state, lost.state) == ("completed", "failed")
    assert lost.run is not None and lost.run["error_status_code"] == 404
    assert 3 <= ok.elapsed < 10  # queued 1 s and dispatching 2 s of real time


# --- finding and settling attempts (pure) -------------------------------------------------------


def test_find_attempts_keeps_only_the_dispatch(local: LocalBackend) -> None:
    acks = [local.dispatch("ok") for _ in range(5)]
    wanted = acks[2]["dispatch_id"]
    found = find_attempts(local, "ok", wanted, Poll(page_size=2))
    assert [run["dispatch_id"] for run in found] == [wanted]


def attempt(phase: str, status: int | None = None) -> dict[str, Any]:
    return {"phase": phase, "error_status_code": status}


def test_settle_follows_the_policy() -> None:
    assert settle([]) is None
    assert settle([attempt("queued")]) is None
    assert settle([attempt("failed", 500)]) is None  # attempt 2 follows
    assert settle([attempt("failed", 500)], retry_overdue=True) == (
        "failed",
        attempt("failed", 500),
    )
    three = [attempt("failed", 503)] * 3
    assert settle(three) == ("failed", three[-1])
    assert settle([attempt("failed", 400)]) == ("failed", attempt("failed", 400))
    retried = [attempt("failed", 429), attempt("completed")]
    assert settle(retried) == ("completed", retried[1])
