"""From checked manifest routines (models with source marks) to the planner's input type,
``plan.desired.Desired`` (the planner never sees manifest models)."""

from __future__ import annotations

from typing import Any

from reconciler import paths
from reconciler.manifest.loader import DesiredRoutine
from reconciler.manifest.smoke import to_smoke
from reconciler.plan.desired import Desired

_CLIENT_ONLY_TRIGGER_FIELDS = ("time_zone",)


def to_desired(routine: DesiredRoutine) -> Desired:
    """The planner's view of one manifest routine (timers resolved, client fields dropped)."""
    spec = routine.spec
    return Desired(
        name=spec.name,
        description=spec.description,
        enabled=spec.enabled,
        triggers={name: _wire_trigger(name, routine) for name in spec.triggers},
        action=spec.action.model_dump(exclude_none=True, exclude={"conversation_id"}),
        authorization=spec.authorization.identity if spec.authorization else None,
        protect=spec.reconcile.protect,
        adopt=spec.reconcile.adopt,
        path=paths.dotted(routine.prefix),
        durations={n: t.text for n, t in routine.timers.items() if t.form == "duration"},
        ignore=tuple(paths.parse(p) for p in spec.reconcile.ignore_differences),
        sensitive=tuple(paths.parse(p) for p in spec.reconcile.sensitive),
        source=routine.source,
        smoke=to_smoke(spec.reconcile.smoke),
    )


def _wire_trigger(name: str, routine: DesiredRoutine) -> dict[str, Any]:
    data = routine.spec.triggers[name].model_dump(exclude_none=True)
    if data.get("type") == "timer":
        data = {k: v for k, v in data.items() if k not in _CLIENT_ONLY_TRIGGER_FIELDS}
        data["at"] = routine.timers[name].epoch
    return data
