"""Drift: what differs between git and the live project, grouped by what happened (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.plan.model import Plan

GROUPS = (
    ("changed", "Changed outside git"),
    ("disabled", "Disabled outside git"),
    ("enabled", "Enabled outside git"),
    ("missing", "Deleted outside git (declared in git, missing in the project)"),
    ("orphaned", "Removed from git, still in the project"),
    ("conflicts", "Declared in git, but in the project not owned by this stack"),
    ("unmanaged", "Unmanaged routines in the project"),
    ("other_stacks", "Owned by other stacks (their drift, not this stack's)"),
    ("ignored", "Ignored differences (reported, not drift)"),
    ("notes", "Notes (information, not drift)"),
)
INFORMATION = ("ignored", "other_stacks", "notes")


@dataclass
class DriftReport:
    """Drift grouped by kind; ``drifted`` decides the exit code."""

    plan: Plan
    groups: dict[str, list[Any]] = field(default_factory=dict)
    count_unmanaged: bool = True

    @property
    def drifted(self) -> bool:
        """True when git and the project differ (ignored differences never count)."""
        kinds = [k for k, _ in GROUPS if k not in (*INFORMATION, "unmanaged")]
        if self.count_unmanaged:
            kinds.append("unmanaged")
        return any(self.groups.get(k) for k in kinds)


def build(plan: Plan, count_unmanaged: bool = True) -> DriftReport:
    """Group a plan's changes into drift kinds.

    An ``enable`` change means the routine is disabled in the project (so: disabled outside
    git), and vice versa.
    """
    report = DriftReport(plan, {k: [] for k, _ in GROUPS}, count_unmanaged)
    for change in plan.changes:
        if change.is_change:
            report.groups[change.action.info.drift or "changed"].append(change)
        if change.ignored:
            report.groups["ignored"].append(change)
        if change.notes:  # a timer that fired and that the service turned off (plan.fired)
            report.groups["notes"].append(change)
    report.groups["conflicts"] = [u for u in plan.unmanaged if u.declared]
    undeclared = [u for u in plan.unmanaged if not u.declared]
    report.groups["unmanaged"] = [u for u in undeclared if u.owner is None]
    report.groups["other_stacks"] = [u for u in undeclared if u.owner is not None]
    report.groups["orphaned"] += list(plan.blocked)
    return report
