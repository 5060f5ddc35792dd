"""Routines the manifests do not declare: this stack's prune candidates (judged by
``safety``) and the unmanaged routines around them (pure; part of the planner)."""

from __future__ import annotations

from typing import Any

from reconciler.plan import normalize, ownership
from reconciler.plan.fingerprint import field_prints, fingerprint
from reconciler.plan.model import Action, BlockedDelete, Change, Plan, Unmanaged
from reconciler.plan.options import PlanOptions
from reconciler.plan.redact import UNDECLARED_SENSITIVE, redact
from reconciler.plan.safety import Candidate, judge


def plan_undeclared(
    undeclared: list[dict[str, Any]],
    live_by_name: dict[str, dict[str, Any]],
    declared: int,
    options: PlanOptions,
    plan: Plan,
) -> None:
    candidates: list[Candidate] = []
    for live in undeclared:
        name = str(live.get("name"))
        _, record = ownership.split(live.get("description"))
        if is_owned(record, name, options.stack):
            assert record is not None
            candidates.append(Candidate(name, record.protect))
        else:
            plan.unmanaged.append(_unmanaged(name, record))
    owned = sum(
        1
        for r in live_by_name.values()
        if is_owned(ownership.split(r.get("description"))[1], str(r.get("name")), options.stack)
    )
    verdict = judge(
        candidates,
        prune=options.prune,
        declared=declared,
        owned=owned,
        max_deletes=options.max_deletes,
    )
    for name in verdict.delete:
        plan.changes.append(_delete(live_by_name[name]))
    plan.blocked.extend(BlockedDelete(b.name, b.reason, b.kind) for b in verdict.blocked)
    plan.changes.sort(key=lambda c: c.name)


def is_owned(record: ownership.Ownership | None, name: str, stack: str) -> bool:
    return record is not None and record.name == name and record.stack == stack


def _unmanaged(name: str, record: ownership.Ownership | None) -> Unmanaged:
    if record is None:
        return Unmanaged(name, "created outside the reconciler")
    if record.name != name:
        return Unmanaged(
            name, f"a copy of '{record.name}' (its ownership record names another routine)"
        )
    return Unmanaged(name, f"owned by stack '{record.stack}'", owner=record.stack)


def _delete(live: dict[str, Any]) -> Change:
    before, _ = normalize.live(live)
    return Change(
        name=str(live.get("name")),
        action=Action.DELETE,
        reason="not declared in the selected manifests; prune is on",
        before=redact(before, UNDECLARED_SENSITIVE),
        fingerprint=fingerprint(live),
        field_prints=field_prints(live),
    )
