"""Which action a declared, owned routine needs, and why (pure; part of the planner)."""

from __future__ import annotations

from typing import Any

from reconciler.plan import ownership
from reconciler.plan.desired import Desired, Pattern
from reconciler.plan.diff import FieldDiff
from reconciler.plan.kinds import KindChange, kind_changes
from reconciler.plan.model import Action, Change
from reconciler.plan.redact import redact


def decide(
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
        diff=[redact_diff(x, d.sensitive) for x in kept],
        source=d.source,
        relative_timers=sorted(d.durations),
        smoke=d.smoke,
    )
    causes = _replace_causes(before, after, old, new)
    if causes:
        return _replace(change, causes, old, new)
    record_diffs = _record_diffs(old, new)
    change.diff.extend(record_diffs)
    if not kept and not record_diffs:
        if change.after == change.before:
            change.after = change.before  # one copy for the many routines in sync
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


AUTHORIZATION = "authorization"


def _replace_causes(
    before: dict[str, Any],
    after: dict[str, Any],
    old: ownership.Ownership | None,
    new: ownership.Ownership,
) -> list[KindChange]:
    """What is fixed at creation and changes: the authorization (the service honours it only
    at creation), trigger types and the action type (``plan.kinds``)."""
    causes: list[KindChange] = []
    if old is not None and old.name == new.name and old.auth != new.auth:
        causes.append(
            KindChange(AUTHORIZATION, f"authorization changes from {old.auth} to {new.auth}")
        )
    return causes + kind_changes(before, after)


def _replace(
    change: Change,
    causes: list[KindChange],
    old: ownership.Ownership | None,
    new: ownership.Ownership,
) -> Change:
    change.action = Action.REPLACE
    change.recreate_for = list(dict.fromkeys(c.fixed for c in causes))
    change.reason = f"{', '.join(c.fact for c in causes)}; {_why_fixed(change.recreate_for)}"
    if AUTHORIZATION in change.recreate_for and old is not None:
        change.diff.append(FieldDiff(("authorization", "identity"), old.auth, new.auth))
    else:
        change.diff.extend(_record_diffs(old, new))
    return change


def _why_fixed(fixed: list[str]) -> str:
    kinds = "trigger and action types cannot change after creation"
    if fixed == [AUTHORIZATION]:
        why = "the service honours it only at creation"
    elif AUTHORIZATION in fixed:
        why = f"the service honours authorization only at creation, and {kinds}"
    else:
        why = kinds
    return f"{why}, so the routine is deleted and re-created"


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


def redact_diff(item: FieldDiff, patterns: tuple[Pattern, ...]) -> FieldDiff:
    if not patterns:
        return item
    return FieldDiff(
        item.path,
        redact(item.before, patterns, item.path),
        redact(item.after, patterns, item.path),
        item.before_present,
        item.after_present,
    )
