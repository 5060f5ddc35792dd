"""Run records, and which firings of a routine are due.

Firing model: each routine carries a ``last_checked`` watermark and ``next_fire``, its first
firing after the watermark (NULL when it never fires again). ``fire_due(now)`` visits only enabled
routines whose ``next_fire`` has passed (an index lookup, not a scan), writes a run for every
firing in ``(last_checked, now]`` and moves their watermark to ``now``. Before a routine is
changed (PUT, enable, disable, delete) it is first settled up to the current time under its old
definition, so a firing belongs to the definition that was live at its instant: a routine
disabled for an hour does not replay that hour when it is enabled again, and a schedule edited at
10:03 does not fire its new 10:01 slot retroactively.

When a trigger fires is ``reconciler.contract.firing`` (``firings`` / ``next_firing``), the one
definition the validator, the store, the emulator and plan previews share; this module only
applies it to a stored routine and writes down what a delivery's run record holds. Event
triggers (``github_issue``, ``custom``) have no times: ``reconciler.service.events`` fires them.

A run carries two states: ``phase``, the routine's own lifecycle (queued | dispatching |
completed | failed), and ``status``, the status of the underlying MLflow run (RUNNING,
SCHEDULED, FINISHED, FAILED, KILLED; the Learn example shows ``"FINISHED"`` and the SDK samples
wait for ``status.lower() == "finished"``). The service does not publish how one maps to the
other; ``MLFLOW_STATUS`` is this project's reading (docs/design.md, "The emulator"). How a
delivery's attempts move through the phases over time, and fail, is
``reconciler.service.attempts``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from reconciler.contract.firing import firings, next_firing

if TYPE_CHECKING:
    from reconciler.service.rows import Routine

Json = dict[str, Any]

FIRE_MAX_PER_ROUTINE: Final = 1000
DELIVERY_SOURCE: Final = {"schedule": "schedule_delivery", "timer": "timer_delivery"}
# phase -> MLflow run status (an assumption: the service documents neither the mapping nor when
# KILLED appears; a queued run is taken as SCHEDULED, one being dispatched as RUNNING).
MLFLOW_STATUS: Final = {
    "queued": "SCHEDULED",
    "dispatching": "RUNNING",
    "completed": "FINISHED",
    "failed": "FAILED",
}


def new_id() -> str:
    """A fresh id (run, dispatch, correlation and task ids)."""
    return str(uuid.uuid4())


def run_record(
    routine: Routine,
    *,
    source: str,
    now: float,
    scheduled_fire_at: int | None = None,
    dispatch_id: str | None = None,
    event_payload: Json | None = None,
) -> Json:
    """The RoutineRun of a delivery made at ``now``, as if it completed at once
    (docs/design.md, "Service contract"); unknown values are null.
    ``reconciler.service.attempts`` turns it into attempts that take time."""
    action = routine.action
    trigger_name, trigger = routine.trigger() if source != "manual_dispatch" else (None, {})
    at = int(now)
    return {
        "id": new_id(),
        "status": MLFLOW_STATUS["completed"],
        "phase": "completed",
        "trigger_type": trigger.get("type"),
        "trigger_name": trigger_name,
        "trigger_event_payload": event_payload,
        "attempt_source": source,
        "action_type": action.get("type"),
        "agent_id": action.get("agent_name") or action.get("agent_endpoint_id"),
        "conversation_id": action.get("conversation"),
        "session_id": action.get("session_id"),
        "triggered_at": at,
        "scheduled_fire_at": scheduled_fire_at,
        "started_at": at,
        "ended_at": at,
        "dispatch_id": dispatch_id,
        "action_correlation_id": new_id(),
        "response_id": None,
        "task_id": new_id(),
        "error_status_code": None,
        "error_type": None,
        "error_message": None,
    }


def due_records(routine: Routine, now: float) -> list[Json]:
    """One delivery run per firing of ``routine`` in ``(last_checked, now]``."""
    instants = due_instants(routine, now)
    if not instants:
        return []
    source = DELIVERY_SOURCE[str(routine.trigger()[1].get("type"))]
    return [
        run_record(routine, source=source, now=now, scheduled_fire_at=instant)
        for instant in instants
    ]


def due_instants(routine: Routine, now: float) -> list[int]:
    """Fire instants of ``routine`` in ``(last_checked, now]``, at most FIRE_MAX_PER_ROUTINE
    (the one firing definition, ``contract.firing``)."""
    _, trigger = routine.trigger()
    return firings(trigger, routine.last_checked, now, limit=FIRE_MAX_PER_ROUTINE)


def next_fire(triggers: Mapping[str, Any], after: float) -> float | None:
    """The first firing strictly after ``after`` (None: a timer that passed, or no schedule)."""
    for trigger in triggers.values():
        found = next_firing(trigger, after)
        return None if found is None else float(found)
    return None
