"""Compute a plan from desired routines and the live project.  Pure: no I/O, no printing."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from reconciler import paths
from reconciler.contract.timer import format_epoch
from reconciler.diagnostics import Diagnostic, error
from reconciler.plan import normalize, ownership
from reconciler.plan.decide import decide, redact_diff
from reconciler.plan.desired import Desired, Pattern
from reconciler.plan.diff import field_diffs, split_ignored
from reconciler.plan.fingerprint import field_prints, fingerprint
from reconciler.plan.fired import fired_note, keep_disabled
from reconciler.plan.model import Action, Change, Plan, Unmanaged
from reconciler.plan.options import PlanOptions
from reconciler.plan.prune import plan_undeclared
from reconciler.plan.redact import redact


def make_plan(desired: list[Desired], live: list[dict[str, Any]], options: PlanOptions) -> Plan:
    """The plan that makes ``live`` match ``desired`` within the stack's ownership scope."""
    planning = Planning(desired, options)
    planning.add(live)
    return planning.finish()


Result = Change | Diagnostic | Unmanaged


class Planning:
    """``make_plan`` fed one page of the live list at a time: a declared routine is planned as
    soon as its live routine arrives (the pages of a remote list come 20 ms or more apart, so the
    diff is done when the last page is in); ``finish`` plans the rest. The same plan as
    ``make_plan`` of the whole list (a later routine of the same name replaces an earlier one)."""

    def __init__(self, desired: list[Desired], options: PlanOptions) -> None:
        self._options = options
        self._desired = sorted(desired, key=lambda d: d.name)
        self._index: dict[str, list[int]] = {}
        for position, item in enumerate(self._desired):
            self._index.setdefault(item.name, []).append(position)
        self._live: dict[str, dict[str, Any]] = {}
        self._planned: dict[int, Result] = {}

    def add(self, page: Iterable[dict[str, Any]]) -> None:
        """Routines of the live list, in the order listed."""
        for routine in page:
            name = str(routine.get("name"))
            positions = self._index.get(name)
            if positions is None:
                self._live[name] = routine  # undeclared: prune may delete it
                continue
            # Declared: planned now; pruning needs only its name and ownership record.
            self._live[name] = {
                "name": routine.get("name"),
                "description": routine.get("description"),
            }
            for position in positions:
                self._planned[position] = self._declared(self._desired[position], routine)

    def finish(self) -> Plan:
        """The plan, once every page has been added."""
        options = self._options
        plan = Plan(
            options.stack,
            options.target,
            options.manifest_digest,
            options.prune,
            environment=options.environment,
        )
        for position, item in enumerate(self._desired):
            result = self._planned.get(position)
            if result is None:
                result = self._declared(item, None)
            if isinstance(result, Unmanaged):
                plan.unmanaged.append(result)
            elif isinstance(result, Diagnostic):
                plan.diagnostics.append(result)
            else:
                plan.changes.append(result)
        declared = set(self._index)
        undeclared = [r for name, r in sorted(self._live.items()) if name not in declared]
        plan_undeclared(undeclared, self._live, len(declared), options, plan)
        return plan

    def _declared(self, item: Desired, live: dict[str, Any] | None) -> Result:
        result = _plan_declared(item, live, self._options)
        if isinstance(result, Change):
            return _refuse_past_timers(item, result, live, self._options)
        return result


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
    note = fired_note(before, effective, options.now)
    if note is not None:  # the service turned a fired timer off: information, never an enable
        kept = [x for x in kept if x.path != ("enabled",)]
        effective = keep_disabled(effective)
    new_record = _record(d, options.stack)
    change = decide(d, before=before, after=effective, kept=kept, old=record, new=new_record)
    change.notes = [] if note is None else [note]
    change.ignored = [redact_diff(x, d.sensitive) for x in ignored]
    change.fingerprint = fingerprint(live)
    change.field_prints = field_prints(live, (before, record))
    if change.action is not Action.NOOP:
        change.body = _body(d, effective, new_record)
    if change.action is Action.REPLACE and not options.report_conflicts:
        return _refused_replace(d, change, record) or change
    return change


def _refused_replace(
    d: Desired, change: Change, record: ownership.Ownership | None
) -> Diagnostic | None:
    """Like Terraform's ``prevent_destroy``: a replace deletes the routine first, which a
    protected routine must never undergo; nor one this stack is only adopting (apply deletes
    only routines whose ownership record names them)."""
    fixed = " and ".join(f"the {x}" if x.endswith("type") else x for x in change.recreate_for)
    if d.protect or (record is not None and record.protect):
        return error(
            f"routine '{d.name}' is protected (reconcile.protect: true), but {change.reason}; "
            f"set protect: false and apply, then change {fixed}",
            **_where(d),
        )
    if record is None or record.name != d.name:
        return error(
            f"routine '{d.name}' cannot be adopted and replaced at once ({change.reason}); "
            f"adopt it first with its current {' and '.join(change.recreate_for)} in git, "
            f"then change {fixed}",
            **_where(d),
        )
    return None


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
        smoke=d.smoke,
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
    triggers = dict(d.triggers)  # canonical forms are new dicts: only a re-timed one is copied
    live_triggers = (live or {}).get("triggers") or {}
    for trigger_name, text in d.durations.items():
        earlier = live_triggers.get(trigger_name)
        if isinstance(earlier, dict) and _keeps_timing(earlier, record, text):
            triggers[trigger_name] = {**triggers[trigger_name], "at": int(earlier["at"])}
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
    patterns = tuple(patterns)
    if not patterns:
        return after
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
