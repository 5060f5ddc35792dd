"""``apply_plan`` through the embedded project: order, failures, the breaker and stopping."""

from __future__ import annotations

import threading
from pathlib import Path

from reconciler.apply import ChangeResult, apply_plan
from reconciler.live.local import LocalBackend
from reconciler.plan.fingerprint import fingerprint
from reconciler.plan.model import Action, Change, Plan

BODY = {
    "triggers": {"t": {"type": "schedule", "cron_expression": "0 7 * * *", "time_zone": "UTC"}},
    "action": {"type": "invoke_agent_responses_api", "agent_name": "a"},
}


OWNED_OLD = {**BODY, "description": "[managed-by=reconciler v=1 stack=s name=old]"}


def _plan(creates: int, deletes: list[str], backend: LocalBackend) -> Plan:
    plan = Plan("s", "local:test", "digest", prune=True)
    for index in range(creates):
        name = f"r{index:02d}"
        plan.changes.append(Change(name, Action.CREATE, "new", body={"name": name, **BODY}))
    plan.changes += [
        Change(name, Action.DELETE, "gone", fingerprint=fingerprint(backend.get(name)))
        for name in deletes
    ]
    return plan


def test_a_stop_request_starts_nothing_new_and_reports_each_change_once(tmp_path: Path) -> None:
    backend = LocalBackend(str(tmp_path / "p.db"))
    backend.create_or_update("old", OWNED_OLD)
    stop = threading.Event()

    def first_done(item: ChangeResult) -> None:
        if item.status == "ok":
            stop.set()

    result = apply_plan(
        _plan(12, ["old"], backend), backend, concurrency=2, on_result=first_done, stop=stop
    )
    names = [r.name for r in result.results]
    assert result.interrupted and not result.ok
    assert sorted(names) == sorted({*names}) and len(names) == 13
    done = sorted(r.name for r in result.results if r.status == "ok")
    assert 1 <= len(done) <= 2  # the first result plus at most the other one in flight
    live = sorted(r["name"] for r in backend.list_routines())
    assert live == sorted([*done, "old"])  # the delete was not started either
    skipped = [r for r in result.results if r.status == "skipped"]
    assert {r.message for r in skipped} == {"not started: apply was interrupted"}


def test_without_a_stop_request_every_change_runs_deletes_last(tmp_path: Path) -> None:
    backend = LocalBackend(str(tmp_path / "p.db"))
    backend.create_or_update("old", OWNED_OLD)
    order: list[str] = []
    result = apply_plan(
        _plan(5, ["old"], backend),
        backend,
        concurrency=3,
        on_result=lambda r: order.append(r.name),
        stop=threading.Event(),
    )
    assert result.ok and not result.interrupted
    assert order[-1] == "old" and len(order) == 6
    assert sorted(r["name"] for r in backend.list_routines()) == [f"r{i:02d}" for i in range(5)]
