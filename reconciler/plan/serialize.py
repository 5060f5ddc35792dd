"""The public plan JSON document (``plan --output json``, ``--json-out``), versioned by
``format_version``. It is one-way: saved plans use the lossless ``planfile``. Reading a document
back (``plan_from_json``) serves only ``reconciler render``, which shows it again (diff paths come
back as display strings)."""

from __future__ import annotations

from typing import Any

from reconciler.diagnostics import Location
from reconciler.plan.diff import FieldDiff
from reconciler.plan.model import (
    FORMAT_VERSION,
    Action,
    BlockedDelete,
    Change,
    Plan,
    Unmanaged,
)
from reconciler.plan.previews_json import (
    fires_from_json,
    fires_to_json,
    forecast_from_json,
    forecast_to_json,
)
from reconciler.plan.smoke import smoke_to_json, will_smoke


def change_to_json(change: Change) -> dict[str, Any]:
    """One change: name, action (list form), reason, before, after, diff, ignored, relative
    timers, notes (information, not a change), next fires per trigger, source."""
    result: dict[str, Any] = {
        "name": change.name,
        "action": change.action.steps,
        "reason": change.reason,
        "before": change.before,
        "after": change.after,
        "diff": [d.to_json() for d in change.diff],
    }
    if change.ignored:
        result["ignored_differences"] = [d.to_json() for d in change.ignored]
    if change.relative_timers:
        result["relative_timers"] = list(change.relative_timers)
    if change.notes:
        result["notes"] = list(change.notes)
    if change.smoke is not None and will_smoke(
        change.smoke, change.action.value, change.body or change.after
    ):
        result["smoke"] = smoke_to_json(change.smoke)
    if change.next_fires:
        result["next_fires"] = {k: fires_to_json(v) for k, v in change.next_fires.items()}
    if change.source is not None:
        result["source"] = {
            "file": change.source.file,
            "line": change.source.line,
            "col": change.source.col,
        }
    return result


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The public plan document (sensitive values already redacted; no request bodies)."""
    counts = plan.counts()
    return {
        "format_version": FORMAT_VERSION,
        "target": {"endpoint": plan.target, "stack": plan.stack, "environment": plan.environment},
        "manifest_digest": plan.manifest_digest,
        "prune": plan.prune,
        "summary": {
            "create": counts["create"],
            "update": counts["update"],
            "replace": counts["replace"],
            "enable": counts["enable"],
            "disable": counts["disable"],
            "delete": counts["delete"],
            "no-op": counts["no-op"],
            "unmanaged": len(plan.unmanaged),
            "blocked_deletes": len(plan.blocked),
        },
        "has_changes": plan.has_changes,
        "changes": [change_to_json(c) for c in plan.changes],
        "unmanaged": [
            {"name": u.name, "reason": u.reason, "owner": u.owner, "declared": u.declared}
            for u in plan.unmanaged
        ],
        "blocked_deletes": [
            {"name": b.name, "reason": b.reason, "rule": b.kind} for b in plan.blocked
        ],
        "forecast": forecast_to_json(plan.forecast),
        "diagnostics": [d.to_json() for d in plan.diagnostics],
    }


def _diff_from_json(item: dict[str, Any]) -> FieldDiff:
    return FieldDiff(
        (str(item["path"]),),
        item.get("before"),
        item.get("after"),
        not item.get("before_absent", False),
        not item.get("after_absent", False),
    )


def change_from_json(item: dict[str, Any]) -> Change:
    """A change read back from a plan document (bodies and fingerprints added by the caller)."""
    steps = list(item["action"])
    action = Action.from_steps(steps)
    source = item.get("source")
    return Change(
        name=str(item["name"]),
        action=action,
        reason=str(item.get("reason", "")),
        before=item.get("before"),
        after=item.get("after"),
        diff=[_diff_from_json(d) for d in item.get("diff", [])],
        ignored=[_diff_from_json(d) for d in item.get("ignored_differences", [])],
        source=Location(source["file"], source["line"], source["col"]) if source else None,
        relative_timers=[str(n) for n in item.get("relative_timers", [])],
        notes=[str(n) for n in item.get("notes", [])],
        next_fires={str(k): fires_from_json(v) for k, v in item.get("next_fires", {}).items()},
    )


def plan_from_json(doc: dict[str, Any]) -> Plan:
    """A plan read back from its document."""
    target = doc["target"]
    plan = Plan(
        stack=str(target["stack"]),
        target=str(target["endpoint"]),
        manifest_digest=str(doc.get("manifest_digest", "")),
        prune=bool(doc["prune"]),
        environment=target.get("environment"),
        forecast=forecast_from_json(doc.get("forecast")),
    )
    plan.changes = [change_from_json(c) for c in doc["changes"]]
    plan.unmanaged = [
        Unmanaged(u["name"], u["reason"], u.get("owner"), bool(u.get("declared")))
        for u in doc["unmanaged"]
    ]
    plan.blocked = [
        BlockedDelete(b["name"], b["reason"], b.get("rule", "prune_off"))
        for b in doc["blocked_deletes"]
    ]
    return plan
