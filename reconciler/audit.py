"""The audit record of one apply: who, which commit, the plan, and every change's result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.app.smoke import GateResult, SmokeRun
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
    plan: Plan,
    result: ApplyResult,
    context: Mapping[str, str | None],
    started: int,
    finished: int,
    *,
    smoke: GateResult | str | None = None,
) -> dict[str, Any]:
    """The audit document (sensitive values are already redacted in the plan). ``smoke``: the
    smoke gate's result, why it did not run (text), or None when it was not asked for."""
    document = {
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
    if smoke is not None:
        document["smoke"] = smoke_json(smoke)
    return document


def smoke_json(smoke: GateResult | str) -> dict[str, Any]:
    """The smoke gate in the audit record: every run's dispatch and run ids and outcome."""
    if isinstance(smoke, str):
        return {"ran": False, "ok": False, "reason": smoke, "runs": []}
    return {"ran": True, "ok": smoke.ok, "runs": [_smoke_run(run) for run in smoke.runs]}


def _smoke_run(run: SmokeRun) -> dict[str, Any]:
    outcome = run.outcome
    final = outcome.run or {}
    return {
        "name": run.name,
        "action": run.action,
        "state": outcome.state,
        "ok": run.ok,
        "dispatch_id": outcome.dispatch_id,
        "run_ids": outcome.run_ids,
        "run_id": final.get("id"),
        "phase": final.get("phase"),
        "status": final.get("status"),
        "error_type": final.get("error_type"),
        "error_message": final.get("error_message"),
        "error_status_code": final.get("error_status_code"),
        "message": outcome.message,
        "seconds": round(outcome.elapsed, 3),
        "timeout_seconds": run.smoke.timeout,
    }
