"""A delivery's attempts over time: queued -> dispatching -> completed | failed, and retries.

Every delivery (a firing, an event, a dispatch) becomes one run record per attempt (TypeSpec
``RoutineRun.id``: "the unique run identifier for the routine attempt"). The attempts of one
delivery share its ``triggered_at``, ``scheduled_fire_at``, ``dispatch_id``,
``action_correlation_id`` and ``task_id``; each has its own ``id``. An attempt is queued for
``QUEUED_SECONDS`` (a retry: for the backoff of ``reconciler.contract.delivery``), dispatches for
``DISPATCH_SECONDS`` (an attempt that times out: ``ATTEMPT_TIMEOUT``), then completes or fails;
a failure that the policy retries is followed by the next attempt, queued from the instant the
failure ended, up to ``MAX_ATTEMPTS``.

The outcome of every attempt is drawn when the delivery is written (``deliver``), against the
agent's injected failure (``reconciler.service.failures``), and kept with the record under the
private key ``LIFECYCLE`` (never sent): ``[shown_from, started, ended]`` in emulated seconds.
``as_of(record, now)`` is the record as the service shows it at ``now``: nothing before the
attempt exists, then queued (``status`` SCHEDULED, no ``started_at``), dispatching (RUNNING, no
``ended_at``), and from ``ended`` on the final record. So runs move with the store's clock
whoever reads them: the emulator's accelerated or frozen clock, and the embedded project's wall
clock, which has no ticker at all. Records written before this module have no lifecycle and
show as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from reconciler.contract.delivery import (
    ATTEMPT_TIMEOUT,
    MAX_ATTEMPTS,
    TIMEOUT_STATUS,
    backoff,
    final_failure,
)
from reconciler.service.failures import AgentFailure
from reconciler.service.runs import MLFLOW_STATUS, new_id

Json = dict[str, Any]
Draw = Callable[[], float]

QUEUED_SECONDS: Final = 1.0
DISPATCH_SECONDS: Final = 2.0
LIFECYCLE: Final = "_lifecycle"
_UNTIL_ENDED: Final = ("error_status_code", "error_type", "error_message", "response_id")


def deliver(base: Json, at: float, failure: AgentFailure | None, draw: Draw) -> list[Json]:
    """The attempt records of one delivery that starts at ``at`` (oldest first), from
    ``base`` (``reconciler.service.runs.run_record``), with every outcome drawn now."""
    attempts: list[Json] = []
    shown_from = at
    for number in range(1, MAX_ATTEMPTS + 1):
        fails = failure is not None and draw() < failure.rate
        started = shown_from + (QUEUED_SECONDS if number == 1 else backoff(number))
        timed_out = fails and failure is not None and failure.status_code == TIMEOUT_STATUS
        ended = started + (ATTEMPT_TIMEOUT if timed_out else DISPATCH_SECONDS)
        record = {**base, "id": base["id"] if number == 1 else new_id()}
        record.update(started_at=int(started), ended_at=int(ended))
        record[LIFECYCLE] = [shown_from, started, ended]
        if not fails or failure is None:
            attempts.append(_ended(record, "completed"))
            break
        error_type, message = failure.recorded()
        record.update(
            error_status_code=failure.status_code, error_type=error_type, error_message=message
        )
        attempts.append(_ended(record, "failed"))
        if final_failure(failure.status_code, number):
            break
        shown_from = ended
    return attempts


def as_of(record: Json, now: float) -> Json | None:
    """The record as it reads at ``now`` (None: the attempt does not exist yet)."""
    times = record.get(LIFECYCLE)
    if not isinstance(times, list) or len(times) != 3:
        return record
    shown_from, started, ended = (float(t) for t in times)
    if now < shown_from:
        return None
    shown = {key: value for key, value in record.items() if key != LIFECYCLE}
    if now >= ended:
        return shown
    phase = "queued" if now < started else "dispatching"
    shown.update(phase=phase, status=MLFLOW_STATUS[phase], ended_at=None)
    shown.update(dict.fromkeys(_UNTIL_ENDED))
    if phase == "queued":
        shown["started_at"] = None
    return shown


def _ended(record: Json, phase: str) -> Json:
    record.update(phase=phase, status=MLFLOW_STATUS[phase])
    return record
