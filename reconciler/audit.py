"""The audit record of one apply: who, which commit, the plan, and every change's result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.apply import ApplyResult
from reconciler.contract.timer import format_epoch
from reconciler.plan.model import FORMAT_VERSION, Plan
from reconciler.plan.serialize import plan_to_json

KIND = "reconciler-apply-audit"


def run_context(environ: Mapping[str, str], commit: str | None) -> dict[str, str | None]:
    """Commit, actor and run link, from GitHub Actions' variables when present."""
    run = None
    if environ.get("GITHUB_RUN_ID") and environ.get("GITHUB_REPOSITORY"):
        server = environ.get("GITHUB_SERVER_URL", "https://github.com")
        run = f"{server}/{environ['GITHUB_REPOSITORY']}/actions/runs/{environ['GITHUB_RUN_ID']}"
    return {
        "commit": environ.get("GITHUB_SHA") or commit,
        "ref": environ.get("GITHUB_REF"),
        "actor": environ.get("GITHUB_ACTOR") or environ.get("USER"),
        "run": run,
        "event": environ.get("GITHUB_EVENT_NAME"),
    }


def record(
    plan: Plan, result: ApplyResult, context: Mapping[str, str | None], started: int, finished: int
) -> dict[str, Any]:
    """The audit document (sensitive values are already redacted in the plan)."""
    return {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        **context,
        "started_at": format_epoch(started),
        "finished_at": format_epoch(finished),
        "ok": result.ok and not plan.held_back,
        "timed_out": result.timed_out,
        "held_back_deletes": plan.held_back,
        "plan": plan_to_json(plan),
        "results": [
            {
                "name": r.name,
                "action": r.action.steps,
                "status": r.status,
                "message": r.message,
                "seconds": round(r.seconds, 3),
                "retries": r.retries,
            }
            for r in result.results
        ],
    }
