"""How to plan: the ownership scope, the target, and the prune and adopt switches."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.plan.desired import Pattern


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
