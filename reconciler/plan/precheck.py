"""Compare before every write, and after an ambiguous failure (docs/design.md, "Safety").

Pure functions over a change and the routine as read at that moment (``None``: absent). Before
a write the routine must still be what the plan saw (its fingerprint), or already be what the
change wants; anything else is a conflict and nothing is written. A delete or replace also
requires the ownership record to still name this stack and routine. After a write whose
outcome is unknown, the same comparison tells whether it took effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from reconciler.plan import normalize
from reconciler.plan.fingerprint import ABSENT, field_prints, fingerprint
from reconciler.plan.model import Action, Change

Verdict = Literal["write", "done", "unchanged", "conflict"]
Live = dict[str, Any] | None


@dataclass(frozen=True)
class Check:
    """What to do with one change (or step of a replace), and why."""

    verdict: Verdict
    why: str = ""


def before_write(change: Change, live: Live, stack: str) -> Check:
    """``done`` when ``live`` already is the desired state, ``write`` when it is what the plan
    saw (and, for a delete or replace, still ours), ``conflict`` otherwise."""
    if reached(change, change.action, live):
        return Check(
            "done", "already gone" if change.action is Action.DELETE else "already up to date"
        )
    if fingerprint(live) != change.fingerprint:
        return Check("conflict", changed_since(change, live))
    owner = _ownership_problem(change, live, stack)
    if owner:
        return Check("conflict", owner)
    return Check("write")


def after_failure(change: Change, step: Action, live: Live, before: str) -> Check:
    """After a write of ``step`` failed ambiguously: ``done`` when it took effect anyway,
    ``unchanged`` when the routine is as it was before (``before``: a fingerprint), else
    ``conflict`` (someone else changed it)."""
    if reached(change, step, live):
        return Check("done")
    if fingerprint(live) == before:
        return Check("unchanged")
    return Check("conflict", changed_since(change, live))


def reached(change: Change, step: Action, live: Live) -> bool:
    """True when ``live`` is the state that ``step`` of ``change`` produces."""
    if step is Action.DELETE:
        return live is None
    if live is None:
        return False
    if step in (Action.ENABLE, Action.DISABLE):
        wanted = step is Action.ENABLE
        return live.get("enabled") is wanted and _as_planned_but_enabled(change, live, not wanted)
    if change.body is None:
        return False
    return normalize.live(live) == normalize.live(change.body)


def _as_planned_but_enabled(change: Change, live: dict[str, Any], planned: bool) -> bool:
    """True when ``live`` equals what the plan saw except for ``enabled``."""
    return fingerprint({**live, "enabled": planned}) == change.fingerprint


def _ownership_problem(change: Change, live: Live, stack: str) -> str:
    if change.action not in (Action.DELETE, Action.REPLACE) or live is None:
        return ""
    _, record = normalize.live(live)
    if record is None or record.name != change.name:
        return "its ownership record is gone"
    if change.action is Action.DELETE and record.stack != stack:
        return f"it is now owned by stack '{record.stack}'"
    return ""


def changed_since(change: Change, live: Live) -> str:
    """A short account of how ``live`` differs from what the plan saw."""
    if live is None:
        return "it was deleted"
    if change.fingerprint == ABSENT:
        return "it was created by someone else"
    _, record = normalize.live(live)
    if record is None or record.name != change.name:
        return "its ownership record was removed"
    now = field_prints(live)
    fields = sorted(k for k in now.keys() | change.field_prints.keys()
                    if now.get(k) != change.field_prints.get(k))  # fmt: skip
    if not fields or not change.field_prints:
        return "its content changed"
    return "changed: " + ", ".join(fields)
