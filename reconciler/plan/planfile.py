"""The saved plan file (``plan --out``): a lossless encoding of a ``Plan``, sealed by a checksum.

It is separate from the public plan JSON (``serialize.plan_to_json``, one-way, versioned with
``format_version``): the file holds every field of every change as the planner made it —
diff paths as lists (a key may contain a dot), presence flags, the request bodies (unredacted:
the file is a secret), the fingerprint of each touched routine as the plan saw it — so that
``decode(encode(plan)) == plan``. Only ``apply PLANFILE`` reads it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

from reconciler.diagnostics import Diagnostic, Location
from reconciler.plan import smoke
from reconciler.plan.diff import FieldDiff
from reconciler.plan.model import Action, BlockedDelete, Change, Plan, Unmanaged
from reconciler.plan.previews_json import (
    decode_fires,
    decode_forecast,
    encode_fires,
    encode_forecast,
)

KIND: Final = "reconciler-saved-plan"
VERSION: Final = 2


def _diff(item: FieldDiff) -> dict[str, Any]:
    return {
        "path": list(item.path),
        "before": item.before,
        "after": item.after,
        "before_present": item.before_present,
        "after_present": item.after_present,
    }


def _undiff(data: dict[str, Any]) -> FieldDiff:
    return FieldDiff(
        tuple(data["path"]),
        data["before"],
        data["after"],
        bool(data["before_present"]),
        bool(data["after_present"]),
    )


def _location(where: Location | None) -> dict[str, Any] | None:
    return None if where is None else {"file": where.file, "line": where.line, "col": where.col}


def _change(change: Change) -> dict[str, Any]:
    return {
        "name": change.name,
        "action": change.action.value,
        "reason": change.reason,
        "before": change.before,
        "after": change.after,
        "diff": [_diff(d) for d in change.diff],
        "ignored": [_diff(d) for d in change.ignored],
        "body": change.body,
        "fingerprint": change.fingerprint,
        "source": _location(change.source),
        "relative_timers": list(change.relative_timers),
        "field_prints": dict(change.field_prints),
        "notes": list(change.notes),
        "smoke": smoke.encode(change.smoke),
        "next_fires": encode_fires(change.next_fires),
    }


def _unchange(data: dict[str, Any]) -> Change:
    source = data["source"]
    return Change(
        name=str(data["name"]),
        action=Action(data["action"]),
        reason=str(data["reason"]),
        before=data["before"],
        after=data["after"],
        diff=[_undiff(d) for d in data["diff"]],
        ignored=[_undiff(d) for d in data["ignored"]],
        body=data["body"],
        fingerprint=str(data["fingerprint"]),
        source=None if source is None else Location(**source),
        relative_timers=[str(name) for name in data["relative_timers"]],
        field_prints={str(k): str(v) for k, v in data["field_prints"].items()},
        notes=[str(note) for note in data.get("notes", [])],
        smoke=smoke.decode(data.get("smoke")),
        next_fires=decode_fires(data.get("next_fires", {})),
    )


def encode(plan: Plan) -> dict[str, Any]:
    """Every field of ``plan`` as JSON-ready data."""
    return {
        "stack": plan.stack,
        "target": plan.target,
        "manifest_digest": plan.manifest_digest,
        "prune": plan.prune,
        "environment": plan.environment,
        "changes": [_change(c) for c in plan.changes],
        "unmanaged": [vars(u).copy() for u in plan.unmanaged],
        "blocked": [vars(b).copy() for b in plan.blocked],
        "diagnostics": [d.to_json() for d in plan.diagnostics],
        "forecast": encode_forecast(plan.forecast),
    }


def decode(data: dict[str, Any]) -> Plan:
    """The plan ``encode`` wrote (raises KeyError/TypeError/ValueError on anything else)."""
    return Plan(
        stack=str(data["stack"]),
        target=str(data["target"]),
        manifest_digest=str(data["manifest_digest"]),
        prune=bool(data["prune"]),
        environment=data["environment"],
        changes=[_unchange(c) for c in data["changes"]],
        unmanaged=[Unmanaged(**u) for u in data["unmanaged"]],
        blocked=[BlockedDelete(**b) for b in data["blocked"]],
        diagnostics=[Diagnostic(**d) for d in data["diagnostics"]],
        forecast=decode_forecast(data.get("forecast")),
    )


def checksum(doc: dict[str, Any]) -> str:
    """SHA-256 over the document without its checksum field."""
    content = {k: v for k, v in doc.items() if k != "checksum"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
