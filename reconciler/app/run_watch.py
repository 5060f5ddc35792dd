"""Watching one dispatch's runs until its delivery settles (``reconciler.app.dispatching``).

Each attempt of a delivery is a run record of its own that carries the delivery's
``dispatch_id`` (``reconciler.contract.delivery``; the service does not publish this, it is the
TypeSpec's reading: ``RoutineRun.id`` is "the unique run identifier for the routine attempt").
A poll reads the routine's runs newest first, a page at a time, keeps those with the
``dispatch_id``, and stops at the first older run once it found some (or after ``Poll.scan``
runs: a busy routine, or pages that never end). The delivery has settled when an attempt
completed, or when its newest attempt failed and the policy does not retry it (a 4xx other than
408/429, or the last of ``MAX_ATTEMPTS``). A retried failure is waited for: the next attempt
should appear within the backoff; after ``Poll.retry_grace`` seconds without one, the failure
is taken as final.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from reconciler.contract.delivery import BACKOFF_CAP, final_failure
from reconciler.live.base import BackendError, Runs
from reconciler.workers import DeadlineExceeded, call_with_deadline

Json = dict[str, Any]
Settled = tuple[Literal["completed", "failed"], Json]
TRANSIENT: Final = frozenset({"unreachable", "throttled", "server"})


@dataclass(frozen=True)
class Poll:
    """How often and how far to look: pauses from ``first`` seconds growing by ``factor`` up to
    ``cap``; at most ``scan`` runs read per poll, ``page_size`` per request."""

    first: float = 0.5
    factor: float = 1.5
    cap: float = 5.0
    scan: int = 200
    page_size: int = 50
    retry_grace: float = 3 * BACKOFF_CAP

    def pauses(self) -> Iterator[float]:
        """The pauses between polls."""
        pause = self.first
        while True:
            yield pause
            pause = min(self.cap, pause * self.factor)


@dataclass(frozen=True)
class Progress:
    """One poll's view of a dispatch: the newest attempt's phase (None: no run yet)."""

    name: str
    dispatch_id: str
    phase: str | None
    attempt: int
    elapsed: float
    run: Json | None = None


@dataclass
class Attempts:
    """What a watch saw: the attempts (oldest first), and why it stopped early, if it did."""

    attempts: list[Json] = field(default_factory=list)
    error: str | None = None
    """A failure to read the runs that waiting cannot cure (e.g. 404, 403)."""
    note: str | None = None
    """The last transient failure to read them (retried until the deadline)."""
    retry_overdue: bool = False
    read_ok: bool = False
    """Whether any read of the runs succeeded."""
    unfinished: bool = False
    """Whether the deadline passed while a read was still under way (unanswered or retried)."""


def find_attempts(runs: Runs, name: str, dispatch_id: str, poll: Poll) -> list[Json]:
    """The runs of ``dispatch_id``, oldest first."""
    found: list[Json] = []
    for seen, run in enumerate(runs.iter_runs(name, page_size=poll.page_size), start=1):
        if run.get("dispatch_id") == dispatch_id:
            found.append(run)
        elif found and _older(run, found):
            break
        if seen >= poll.scan:
            break
    found.reverse()
    return found


def settle(attempts: Sequence[Json], retry_overdue: bool = False) -> Settled | None:
    """``("completed", run)``, ``("failed", run)``, or None while the delivery is under way."""
    for run in attempts:
        if run.get("phase") == "completed":
            return "completed", run
    if not attempts or attempts[-1].get("phase") != "failed":
        return None
    latest = attempts[-1]
    if retry_overdue or final_failure(_status(latest), len(attempts)):
        return "failed", latest
    return None


def watch(
    runs: Runs,
    name: str,
    dispatch_id: str,
    *,
    deadline: float | None,
    poll: Poll,
    on_progress: Callable[[Progress], None] | None,
) -> Attempts:
    """Poll until the delivery settles, ``deadline`` (``time.monotonic()``) passes, or the runs
    cannot be read."""
    seen = Attempts()
    started = time.monotonic()
    pauses = poll.pauses()
    failed_since: float | None = None
    while True:
        try:
            seen.attempts = call_with_deadline(
                lambda: find_attempts(runs, name, dispatch_id, poll), deadline
            )
            seen.note, seen.read_ok = None, True
        except DeadlineExceeded:
            seen.unfinished = True
            return seen
        except BackendError as err:
            if err.kind not in TRANSIENT:
                seen.error = err.message
                return seen
            seen.note = err.message
        now = time.monotonic()
        failed_since = _awaiting_retry(seen.attempts, failed_since, now)
        seen.retry_overdue = failed_since is not None and now - failed_since > poll.retry_grace
        if on_progress is not None:
            on_progress(_progress(name, dispatch_id, seen.attempts, now - started))
        if settle(seen.attempts, seen.retry_overdue) is not None:
            return seen
        pause = next(pauses)
        if deadline is not None:
            if now >= deadline:
                return seen
            pause = min(pause, deadline - now)
        time.sleep(pause)


def _awaiting_retry(attempts: Sequence[Json], since: float | None, now: float) -> float | None:
    """When the newest attempt was first seen failed (None: it did not fail)."""
    if not attempts or attempts[-1].get("phase") != "failed":
        return None
    return now if since is None else since


def _progress(name: str, dispatch_id: str, attempts: Sequence[Json], elapsed: float) -> Progress:
    latest = attempts[-1] if attempts else None
    phase = None if latest is None else str(latest.get("phase"))
    return Progress(name, dispatch_id, phase, len(attempts), elapsed, latest)


def _status(run: Json) -> int | None:
    value = run.get("error_status_code")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _older(run: Json, found: Sequence[Json]) -> bool:
    """True when ``run`` was triggered before every attempt found."""
    at = run.get("triggered_at")
    times = [f.get("triggered_at") for f in found]
    numbers = [t for t in times if isinstance(t, int | float) and not isinstance(t, bool)]
    if not isinstance(at, int | float) or isinstance(at, bool) or not numbers:
        return False
    return at < min(numbers)
