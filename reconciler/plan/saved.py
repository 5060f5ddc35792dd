"""Saved plans: the plan document plus exactly what apply needs, sealed with a checksum.

A saved plan records, for every routine it touches, the live fingerprint seen at plan time
(``absent`` for a routine that did not exist) and the request body apply will send.  ``apply``
refuses, changing nothing, when the file was edited, belongs to another stack or endpoint, or
any touched routine changed since (including one that appeared).  The file holds unredacted
request bodies: treat it as a secret.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from reconciler.plan import planfile
from reconciler.plan.fingerprint import fingerprint
from reconciler.plan.model import Plan
from reconciler.plan.serialize import plan_to_json


class SavedPlanError(ValueError):
    """A saved plan that must not be applied, with the reason."""


@dataclass
class SavedPlan:
    """A plan read from a file, with the manifest paths it was made from."""

    plan: Plan
    paths: list[str]


def dump(plan: Plan, paths: list[str], created_at: int, version: str) -> str:
    """The saved-plan file's text (``planfile``: every field of the plan, lossless)."""
    doc: dict[str, Any] = {
        "kind": planfile.KIND,
        "file_version": planfile.VERSION,
        "reconciler_version": version,
        "created_at": created_at,
        "manifest_paths": paths,
        "plan": planfile.encode(plan),
    }
    doc["checksum"] = planfile.checksum(doc)
    return json.dumps(doc, indent=2) + "\n"


def load(text: str, source: str) -> SavedPlan:
    """Read a saved plan; raises SavedPlanError when it is not one or was edited."""
    try:
        doc = json.loads(text)
    except ValueError as err:
        raise SavedPlanError(f"{source} is not a saved plan (invalid JSON: {err})") from None
    if not isinstance(doc, dict) or doc.get("kind") != planfile.KIND:
        raise SavedPlanError(f"{source} is not a saved plan (write one with plan --out FILE)")
    if doc.get("checksum") != planfile.checksum(doc):
        raise SavedPlanError(
            f"{source} was modified after it was written (checksum mismatch); make a new plan"
        )
    if doc.get("file_version") != planfile.VERSION:
        raise SavedPlanError(
            f"{source} was written by another reconciler version "
            f"({doc.get('reconciler_version')}); make a new plan"
        )
    try:
        plan = planfile.decode(doc["plan"])
    except (KeyError, TypeError, ValueError) as err:
        raise SavedPlanError(f"{source} is not a valid saved plan ({err})") from None
    return SavedPlan(plan, [str(p) for p in doc.get("manifest_paths", [])])


def stale_changes(saved: Plan, live: list[dict[str, Any]]) -> list[str]:
    """Names of touched routines whose live state differs from what the plan saw."""
    by_name = {str(r.get("name")): r for r in live}
    return [c.name for c in saved.pending if fingerprint(by_name.get(c.name)) != c.fingerprint]


def _comparable(change: dict[str, Any]) -> dict[str, Any]:
    """What must not change between an approved plan and the plan being applied.

    A relative timer (``at: 30m``, listed in ``relative_timers``) is timed when the plan is
    made, so its ``at`` is left out; every other timer's ``at`` must match.
    """
    relative = set(change.get("relative_timers") or [])
    after = change.get("after") or {}
    triggers = {
        name: {k: v for k, v in trigger.items() if not (k == "at" and name in relative)}
        for name, trigger in (after.get("triggers") or {}).items()
    }
    timed = {f"triggers.{name}.at" for name in relative}
    return {
        "name": change["name"],
        "action": change["action"],
        "before": change.get("before"),
        "after": {**after, "triggers": triggers} if after else after,
        "relative_timers": sorted(relative),
        "diff": [
            {"path": d["path"]} if str(d["path"]) in timed else d for d in change.get("diff", [])
        ],
    }


def unapproved_changes(approved: dict[str, Any], current: Plan) -> list[str]:
    """Names whose change differs from the approved plan document (``plan --json-out``),
    including changes that appeared or disappeared; empty when they are the same."""

    def pending(changes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {c["name"]: _comparable(c) for c in changes if c["action"] != ["no-op"]}

    before = pending(approved.get("changes", []))
    now = pending(plan_to_json(current)["changes"])
    return sorted(name for name in before.keys() | now.keys() if before.get(name) != now.get(name))


def check_approved_scope(approved: dict[str, Any], current: Plan) -> None:
    """Refuse an approved plan made for another stack, endpoint or environment."""
    target = approved.get("target") or {}
    mine = {"stack": current.stack, "endpoint": current.target, "environment": current.environment}
    for key, value in mine.items():
        if target.get(key) != value:
            raise SavedPlanError(
                f"the approved plan is for {key} {target.get(key)!r}, not {value!r}"
            )
