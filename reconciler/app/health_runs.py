"""Run records as status reads them (pure): times, summaries, outcomes, deliveries.

A delivery (a firing, an event, a dispatch) is tried up to three times, each attempt a run
record of its own (``reconciler.contract.delivery``); the attempts share the delivery's
``dispatch_id``, ``scheduled_fire_at`` and ``action_correlation_id``, so ``deliveries`` groups
them and a delivery's outcome is its newest attempt's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

Json = dict[str, Any]

SKEW_SECONDS: Final = 60
DELIVERIES: Final = ("schedule_delivery", "timer_delivery")
CLOCK_TRIGGERS: Final = ("schedule", "timer")
FINISHED: Final = ("completed", "failed")


@dataclass(frozen=True)
class RunSummary:
    """The fields of a run record that status shows."""

    id: str | None
    phase: str | None
    status: str | None
    at: int | None
    """When it started (``started_at``, else ``triggered_at``)."""
    ended_at: int | None
    source: str | None
    dispatch_id: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    error_status_code: int | None = None


def epoch(value: object) -> int | None:
    """A run record's time as unix seconds (the wire's numbers; ISO text is accepted too)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
        except ValueError:
            return None
    return None


def summarize(run: Mapping[str, Any]) -> RunSummary:
    """The fields status shows of one run record."""
    code = run.get("error_status_code")
    return RunSummary(
        id=_text(run.get("id")),
        phase=_text(run.get("phase")),
        status=_text(run.get("status")),
        at=epoch(run.get("started_at")) or epoch(run.get("triggered_at")),
        ended_at=epoch(run.get("ended_at")),
        source=_text(run.get("attempt_source")),
        dispatch_id=_text(run.get("dispatch_id")),
        error_type=_text(run.get("error_type")),
        error_message=_text(run.get("error_message")),
        error_status_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def is_failed(run: Mapping[str, Any]) -> bool:
    """A run that failed: ``phase`` failed (or, without a phase, MLflow's FAILED/KILLED)."""
    phase = run.get("phase")
    if phase is None:
        return str(run.get("status", "")).upper() in ("FAILED", "KILLED")
    return bool(phase == "failed")


def is_finished(run: Mapping[str, Any]) -> bool:
    """A run that reached its end (completed or failed)."""
    phase = run.get("phase")
    if phase is None:
        return str(run.get("status", "")).upper() in ("FINISHED", "FAILED", "KILLED")
    return phase in FINISHED


def newest_first(runs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Runs by start time, newest first (the service's order; sorted again, stably)."""

    def key(run: Mapping[str, Any]) -> int:
        return summarize(run).at or epoch(run.get("scheduled_fire_at")) or 0

    return sorted(runs, key=key, reverse=True)


def delivery_key(run: Mapping[str, Any]) -> tuple[str, str]:
    """What the attempts of one delivery share: its ``dispatch_id`` (a manual dispatch), else
    its trigger and ``scheduled_fire_at`` (a firing), else its ``action_correlation_id``, else
    its ``triggered_at``; a record with none of them is a delivery of its own."""
    if run.get("dispatch_id"):
        return "dispatch", str(run["dispatch_id"])
    if run.get("scheduled_fire_at") is not None:
        return "fire", f"{run.get('trigger_name')}@{run['scheduled_fire_at']}"
    for key in ("action_correlation_id", "triggered_at"):
        if run.get(key) is not None:
            return key, str(run[key])
    return "run", str(run.get("id"))


def deliveries(runs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The newest attempt of each delivery, newest first (``runs`` newest first): a delivery
    retried three times is one outcome, its last attempt's."""
    newest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for run in runs:
        newest.setdefault(delivery_key(run), run)
    return list(newest.values())


def delivered(runs: Sequence[Mapping[str, Any]], expected: int) -> bool:
    """A delivery run for ``expected`` or a later fire is among ``runs``."""
    for run in runs:
        source = run.get("attempt_source")
        if source is not None and source not in DELIVERIES:
            continue
        if source is None and run.get("trigger_type") not in CLOCK_TRIGGERS:
            continue
        at = next(
            (
                found
                for key in ("scheduled_fire_at", "triggered_at", "started_at")
                if (found := epoch(run.get(key))) is not None
            ),
            None,
        )
        if at is not None and at >= expected - SKEW_SECONDS:
            return True
    return False
