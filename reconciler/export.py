"""Manifests from live routines: bootstrap a repository from a project, or recover one.

What the ownership record remembers comes back too: ``protect``, the authorization identity and
the duration text of a relative timer (so the exported manifest plans as no change).  Text that
looks like ``${VAR}`` is escaped as ``$${`` so that it is not interpolated on the way back.
Timers that already fired are skipped: a manifest cannot declare a timer in the past.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from reconciler.contract.timer import format_epoch
from reconciler.live.base import WireRoutine
from reconciler.plan import normalize, ownership

HEADER = (
    "# Exported by 'reconciler export' from {target}.\n"
    "# Review before committing: action inputs and custom parameters are copied as they are and\n"
    "# may hold secrets (mark them with reconcile.sensitive and use ${{VAR}} instead).\n"
)


@dataclass
class Exported:
    """Manifest routines, and the routines left out with the reason."""

    routines: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def copied_values(self) -> list[tuple[str, list[str]]]:
        """Per routine, the free-form fields copied as stored (``action.input``, custom trigger
        ``parameters``): the project cannot say which of them are secrets."""
        found = [(str(r["name"]), _free_form_fields(r)) for r in self.routines]
        return [(name, fields) for name, fields in found if fields]


def _free_form_fields(routine: dict[str, Any]) -> list[str]:
    fields = ["action.input"] if routine["action"].get("input") not in (None, "", {}, []) else []
    for name, trigger in routine["triggers"].items():
        if trigger.get("type") == "custom" and trigger.get("parameters"):
            fields.append(f"triggers.{name}.parameters")
    return fields


def export(
    live: list[WireRoutine],
    now: int,
    convert: Callable[[WireRoutine], dict[str, Any]] | None = None,
) -> Exported:
    """One manifest routine per live routine, in name order (``convert`` makes it: by default
    ``to_manifest``)."""
    convert = convert or to_manifest
    result = Exported()
    for routine in sorted(live, key=lambda r: str(r.get("name"))):
        name = str(routine.get("name"))
        reason = _skip_reason(routine, now)
        if reason:
            result.skipped.append((name, reason))
        else:
            result.routines.append(convert(routine))
    return result


def _skip_reason(routine: WireRoutine, now: int) -> str | None:
    for trigger in (routine.get("triggers") or {}).values():
        at = trigger.get("at") if isinstance(trigger, dict) else None
        if trigger.get("type") == "timer" and isinstance(at, int) and at <= now:
            return f"its timer already fired ({format_epoch(at)}); it never fires again"
    return None


def to_manifest(routine: WireRoutine) -> dict[str, Any]:
    """The manifest form of one live routine."""
    return {key: _escape(value) for key, value in fields(routine).items()}


def fields(routine: WireRoutine) -> dict[str, Any]:
    """The manifest fields of one live routine, its text as stored (nothing escaped)."""
    canonical, record = normalize.live(routine)
    result: dict[str, Any] = {"name": routine.get("name")}
    if canonical["description"]:
        result["description"] = canonical["description"]
    if not canonical["enabled"]:
        result["enabled"] = False
    result["triggers"] = {name: _trigger(t, record) for name, t in canonical["triggers"].items()}
    result["action"] = canonical["action"]
    if record is not None and record.auth != "agent":
        result["authorization"] = {"identity": record.auth}
    if record is not None and record.protect:
        result["reconcile"] = {"protect": True}
    return result


def _trigger(trigger: dict[str, Any], record: ownership.Ownership | None) -> dict[str, Any]:
    if trigger.get("type") != "timer":
        return trigger
    if record is not None and record.at:
        return {**trigger, "at": record.at}
    return {**trigger, "at": format_epoch(int(trigger["at"]))}


def _escape(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, dict):
        return {k: _escape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escape(v) for v in value]
    return value


def dump(routines: list[dict[str, Any]], target: str) -> str:
    """A manifest file's text holding ``routines``."""
    body = yaml.safe_dump(
        {"routines": routines},
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return HEADER.format(target=target) + body


def file_name(name: str) -> str:
    """The file one routine is written to (names are already path-safe)."""
    return f"{name}.yaml"
