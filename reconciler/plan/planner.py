"""Compute a plan from desired routines and the live project.  Pure: no I/O, no printing."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reconciler import paths
from reconciler.contract.timer import format_epoch
from reconciler.diagnostics import Diagnostic, error
from reconciler.plan import normalize, ownership
from reconciler.plan.desired import Desired, Pattern
from reconciler.plan.diff import FieldDiff, field_diffs, split_ignored
from reconciler.plan.fingerprint import field_prints, fingerprint
from reconciler.plan.model import Action, BlockedDelete, Change, Plan, Unmanaged
from reconciler.plan.redact import UNDECLARED_SENSITIVE, redact
from reconciler.plan.safety import Candidate, judge


@dataclass(frozen=True)
class PlanOptions:
    """How to plan: the ownership scope, the target, and the prune and adopt switches."""

    stack: str
    target: str
    manifest_digest: str = ""
    prune: bool = False
    adopt: bool = False
    adopt_from: frozenset[str] = frozenset()
    max_deletes: int | None = None
    ignore: tuple[Pattern, ...] = ()
    environment: str | None = None
    now: int = 0
    report_conflicts: bool = False


def make_plan(desired: list[Desired], live: list[dict[str, Any]], options: PlanOptions) -> Plan:
    """The plan that makes ``live`` match ``desired`` within the stack's ownership scope."""
    plan = Plan(
        options.stack,
        options.target,
        options.manifest_digest,
        options.prune,
        environment=options.environment,
    )
    live_by_name = {str(r.get("name")): r for r in live}
    declared = {d.name for d in desired}
    for item in sorted(desired, key=lambda d: d.name):
        result = _plan_declared(item, live_by_name.get(item.name), options)
        if isinstance(result, Change):
            result = _refuse_past_timers(item, result, live_by_name.get(item.name), options)
        if isinstance(result, Unmanaged):
            plan.unmanaged.append(result)
        elif isinstance(result, Diagnostic):
            plan.diagnostics.append(result)
        else:
            plan.changes.append(result)
    undeclared = [r for name, r in sorted(live_by_name.items()) if name not in declared]
    _plan_undeclared(undeclared, live_by_name, len(declared), options, plan)
    return plan


# --- declared routines -------------------------------------------------------------------------


def _plan_declared(
    d: Desired, live: dict[str, Any] | None, options: PlanOptions
) -> Change | Diagnostic | Unmanaged:
    if live is None:
        return _create(d, options)
    before, record = normalize.live(live)
    refusal = _ownership_refusal(d, record, options)
    if refusal is not None and options.report_conflicts:
        owner = record.stack if record is not None and record.name == d.name else None
        return Unmanaged(d.name, refusal.message, owner, declared=True)
    if refusal is not None:
        return refusal
    after = _desired_canonical(d, live, record)
    patterns = (*d.ignore, *options.ignore)
    kept, ignored = split_ignored(field_diffs(before, after), list(patterns))
    effective = _respect_ignored(after, before, patterns)
    new_record = _record(d, options.stack)
    change = _decide(d, before=before, after=effective, kept=kept, old=record, new=new_record)
    change.ignored = [_redact_diff(x, d.sensitive) for x in ignored]
    change.fingerprint = fingerprint(live)
    change.field_prints = field_prints(live)
    if change.action is not Action.NOOP:
        change.body = _body(d, effective, new_record)
    protected = d.protect or (record is not None and record.protect)
    if change.action is Action.REPLACE and protected and not options.report_conflicts:
        return _protected_replace(d, change)
    return change


def _protected_replace(d: Desired, change: Change) -> Diagnostic:
    """Like Terraform's ``prevent_destroy``: a replace deletes the routine first, which a
    protected routine must never undergo."""
    return error(
        f"routine '{d.name}' is protected (reconcile.protect: true), but {change.reason}; "
        "set protect: false and apply, then change authorization",
        **_where(d),
    )


def _refuse_past_timers(
    d: Desired, change: Change, live: dict[str, Any] | None, options: PlanOptions
) -> Change | Diagnostic:
    """A write may keep a timer that already fired (its current time), never set a new one in
    the past: the service would refuse it."""
    if change.body is None or not options.now:
        return change
    current = (live or {}).get("triggers") or {}
    for name, trigger in change.body["triggers"].items():
        at = trigger.get("at") if trigger.get("type") == "timer" else None
        earlier = (current.get(name) or {}).get("at")
        recreated = change.action is Action.REPLACE  # deleted first: nothing to keep
        if isinstance(at, int) and at <= options.now and (at != earlier or recreated):
            return error(
                f"routine '{d.name}': timer '{name}' at {format_epoch(at)} is in the past, and "
                f"the service refuses to set it; remove the routine from git or move the timer",
                **_where(d),
            )
    return change


def _create(d: Desired, options: PlanOptions) -> Change:
    after = _desired_canonical(d, None, None)
    record = _record(d, options.stack)
    return Change(
        name=d.name,
        action=Action.CREATE,
        reason="declared in git, not in the project",
        after=redact(after, d.sensitive),
        body=_body(d, after, record),
        source=d.source,
        relative_timers=sorted(d.durations),
    )


def _ownership_refusal(
    d: Desired, record: ownership.Ownership | None, options: PlanOptions
) -> Diagnostic | None:
    where = _where(d)
    if record is None or record.name != d.name:
        if options.adopt or d.adopt:
            return None
        why = (
            "was created outside the reconciler"
            if record is None
            else f"is a copy of '{record.name}' (its ownership record names another routine)"
        )
        return error(
            f"routine '{d.name}' already exists in the project and {why}; re-run with "
            "--adopt (or set reconcile.adopt: true in its manifest) to take it over",
            **where,
        )
    if record.stack != options.stack and record.stack not in options.adopt_from:
        return error(
            f"routine '{d.name}' is owned by stack '{record.stack}', not "
            f"'{options.stack}'; re-run with --adopt-from {record.stack} to move it "
            "to this stack",
            **where,
        )
    return None


def _where(d: Desired) -> dict[str, Any]:
    field_path = f"{d.path}.name" if d.path else "name"
    if d.source is None:
        return {"field": field_path}
    return {"file": d.source.file, "line": d.source.line, "col": d.source.col, "field": field_path}


def _desired_canonical(
    d: Desired, live: dict[str, Any] | None, record: ownership.Ownership | None
) -> dict[str, Any]:
    triggers = copy.deepcopy(d.triggers)
    live_triggers = (live or {}).get("triggers") or {}
    for trigger_name, text in d.durations.items():
        earlier = live_triggers.get(trigger_name)
        if isinstance(earlier, dict) and _keeps_timing(earlier, record, text):
            triggers[trigger_name]["at"] = int(earlier["at"])
    return normalize.routine(d.description, d.enabled, triggers, d.action)


def _keeps_timing(earlier: dict[str, Any], record: ownership.Ownership | None, text: str) -> bool:
    """A duration timer keeps its first timing while its text is unchanged (never re-timed)."""
    if earlier.get("type") != "timer":
        return False
    return record is not None and record.at == text and isinstance(earlier.get("at"), int)


def _respect_ignored(
    after: dict[str, Any], before: dict[str, Any], patterns: Iterable[Pattern]
) -> dict[str, Any]:
    """``after`` with every ignored field set to its live value (so apply never reverts it)."""
    result = copy.deepcopy(after)
    for pattern in patterns:
        for path, _ in list(paths.resolve(result, pattern)):
            paths.remove(result, path)
        for path, value in paths.resolve(before, pattern):
            paths.assign(result, path, copy.deepcopy(value))
    return result


def _record(d: Desired, stack: str) -> ownership.Ownership:
    durations = list(d.durations.values())
    return ownership.Ownership(
        stack=stack,
        name=d.name,
        protect=d.protect,
        auth=d.authorization or "agent",
        at=durations[0] if durations else None,
    )


def _decide(
    d: Desired,
    *,
    before: dict[str, Any],
    after: dict[str, Any],
    kept: list[FieldDiff],
    old: ownership.Ownership | None,
    new: ownership.Ownership,
) -> Change:
    change = Change(
        name=d.name,
        action=Action.NOOP,
        reason="in sync",
        before=redact(before, d.sensitive),
        after=redact(after, d.sensitive),
        diff=[_redact_diff(x, d.sensitive) for x in kept],
        source=d.source,
        relative_timers=sorted(d.durations),
    )
    if old is not None and old.name == d.name and old.auth != new.auth:
        change.action = Action.REPLACE
        change.reason = (
            f"authorization changes from {old.auth} to {new.auth}; the service "
            "honours it only at creation, so the routine is deleted and re-created"
        )
        change.diff.append(FieldDiff(("authorization", "identity"), old.auth, new.auth))
        return change
    record_diffs = _record_diffs(old, new)
    change.diff.extend(record_diffs)
    if not kept and not record_diffs:
        return change
    if record_diffs and _adopting(old, new):
        change.action, change.reason = Action.UPDATE, _adopt_reason(old, new)
    elif not record_diffs and [x.path for x in kept] == [("enabled",)]:
        enable = bool(after["enabled"])
        change.action = Action.ENABLE if enable else Action.DISABLE
        change.reason = (
            f"{'disabled' if enable else 'enabled'} in the project, "
            f"{'enabled' if enable else 'disabled'} in git"
        )
    else:
        change.action = Action.UPDATE
        change.reason = _update_reason(kept, record_diffs)
    return change


def _adopting(old: ownership.Ownership | None, new: ownership.Ownership) -> bool:
    return old is None or old.name != new.name or old.stack != new.stack


def _adopt_reason(old: ownership.Ownership | None, new: ownership.Ownership) -> str:
    if old is None:
        return "adopt: take over a routine created outside the reconciler"
    if old.name != new.name:
        return f"adopt: take over a copy of '{old.name}'"
    return f"adopt: move from stack '{old.stack}' to '{new.stack}'"


def _record_diffs(old: ownership.Ownership | None, new: ownership.Ownership) -> list[FieldDiff]:
    if old == new:
        return []
    found: list[FieldDiff] = []
    if _adopting(old, new):
        owner = None if old is None else f"{old.stack}/{old.name}"
        found.append(
            FieldDiff(
                ("ownership",),
                owner,
                f"{new.stack}/{new.name}",
                before_present=old is not None,
            )
        )
    elif old is not None and old.protect != new.protect:
        found.append(FieldDiff(("reconcile", "protect"), old.protect, new.protect))
    elif old is not None and old.at != new.at:
        found.append(FieldDiff(("reconcile", "timer"), old.at, new.at))
    else:
        found.append(FieldDiff(("reconcile", "record"), None, None))
    return found


def _update_reason(kept: list[FieldDiff], record_diffs: list[FieldDiff]) -> str:
    names = sorted({x.dotted for x in kept})
    if names:
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        return f"changed in git or in the project: {shown}"
    return f"ownership record changes ({record_diffs[0].dotted})"


def _redact_diff(item: FieldDiff, patterns: tuple[Pattern, ...]) -> FieldDiff:
    if not patterns:
        return item
    return FieldDiff(
        item.path,
        redact(item.before, patterns, item.path),
        redact(item.after, patterns, item.path),
        item.before_present,
        item.after_present,
    )


def _body(d: Desired, canonical: dict[str, Any], record: ownership.Ownership) -> dict[str, Any]:
    body: dict[str, Any] = {
        "description": ownership.join(canonical["description"], record),
        "enabled": canonical["enabled"],
        "triggers": canonical["triggers"],
        "action": canonical["action"],
    }
    if d.authorization is not None:
        body["authorization"] = {"identity": d.authorization}
    return body


# --- undeclared routines -----------------------------------------------------------------------


def _plan_undeclared(
    undeclared: list[dict[str, Any]],
    live_by_name: dict[str, dict[str, Any]],
    declared: int,
    options: PlanOptions,
    plan: Plan,
) -> None:
    candidates: list[Candidate] = []
    for live in undeclared:
        name = str(live.get("name"))
        _, record = normalize.live(live)
        if _owned(record, name, options.stack):
            assert record is not None
            candidates.append(Candidate(name, record.protect))
        else:
            plan.unmanaged.append(_unmanaged(name, record))
    owned = sum(
        1
        for r in live_by_name.values()
        if _owned(normalize.live(r)[1], str(r.get("name")), options.stack)
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


def _owned(record: ownership.Ownership | None, name: str, stack: str) -> bool:
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
