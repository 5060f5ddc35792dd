"""The planner's input: a routine as git declares it (``manifest.desired`` builds these)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.diagnostics import Location
from reconciler.plan.smoke import Smoke

Pattern = tuple[str, ...]


@dataclass(frozen=True)
class Desired:
    """A routine as git declares it, with timers resolved to unix seconds."""

    name: str
    triggers: dict[str, dict[str, Any]]
    action: dict[str, Any]
    description: str = ""
    enabled: bool = True
    authorization: str | None = None
    protect: bool = False
    adopt: bool = False
    durations: dict[str, str] = field(default_factory=dict)
    path: str = ""
    ignore: tuple[Pattern, ...] = ()
    sensitive: tuple[Pattern, ...] = ()
    source: Location | None = None
    smoke: Smoke | None = None
    """``reconcile.smoke``: dispatched after an apply that changes it (``apply --smoke``)."""
