"""One canonical form for desired and live routines, so that equal means equal.

Canonical routine: ``{description, enabled, triggers, action}`` where ``description`` is the
human part only (the ownership record is compared separately), absent optional values are
dropped (absent == default == null), cron spacing is collapsed, timer ``at`` is an integer, and
only fields the service contract knows are kept (a field the service adds later is not drift).
"""

from __future__ import annotations

from typing import Any

from reconciler.contract import models as wire
from reconciler.plan import ownership

Canonical = dict[str, Any]

_TRIGGER_FIELDS = {name: tuple(model.model_fields) for name, model in wire.TRIGGER_MODELS.items()}
_ACTION_FIELDS = {name: tuple(model.model_fields) for name, model in wire.ACTION_MODELS.items()}


def _known(data: dict[str, Any], fields: tuple[str, ...] | None) -> dict[str, Any]:
    keys = fields if fields is not None else tuple(data)
    return {k: data[k] for k in keys if k in data and data[k] is not None}


def trigger(data: dict[str, Any]) -> dict[str, Any]:
    """Canonical trigger."""
    result = _known(data, _TRIGGER_FIELDS.get(str(data.get("type"))))
    if isinstance(result.get("cron_expression"), str):
        result["cron_expression"] = " ".join(result["cron_expression"].split())
    if isinstance(result.get("at"), float):
        result["at"] = int(result["at"])
    return result


def action(data: dict[str, Any]) -> dict[str, Any]:
    """Canonical action."""
    return _known(data, _ACTION_FIELDS.get(str(data.get("type"))))


def routine(description: str, enabled: bool | None, triggers: Any, action_: Any) -> Canonical:
    """Canonical routine from its parts (``enabled`` None means the default, True)."""
    trigger_map = triggers if isinstance(triggers, dict) else {}
    return {
        "description": description,
        "enabled": True if enabled is None else bool(enabled),
        "triggers": {str(k): trigger(v) for k, v in trigger_map.items() if isinstance(v, dict)},
        "action": action(action_) if isinstance(action_, dict) else {},
    }


def live(data: dict[str, Any]) -> tuple[Canonical, ownership.Ownership | None]:
    """Canonical form of a routine as the service returned it, and its ownership record."""
    human, record = ownership.split(data.get("description"))
    return routine(human, data.get("enabled"), data.get("triggers"), data.get("action")), record
