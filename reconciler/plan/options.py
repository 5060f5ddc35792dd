"""How to plan: the ownership scope, the target, and the prune and adopt switches."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.plan.desired import Pattern
from reconciler.plan.forecast import DEFAULT_HERD_THRESHOLD


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
    previews: bool = True
    """Add next fires and the load forecast after planning (``plan.previews``; not drift)."""
    herd_threshold: int = DEFAULT_HERD_THRESHOLD
    """More routines than this firing in one UTC minute for one agent is a warning."""
