"""Dispatch a routine once, and wait for its run: completed, failed, or out of time.

``dispatch_and_wait`` sends ``:dispatch_async`` once (the backend never retries it once it may
have been received: it is not idempotent) and, when asked to wait, polls the routine's runs for
the acknowledged ``dispatch_id`` (``reconciler.app.run_watch``) with a growing pause (``Poll``)
until the delivery settles or the time is up. ``dispatch_all`` does it for several routines at
once (a smoke gate). Both return data (``Outcome``) and never print; progress arrives through an
optional callback, from worker threads.

The service's acknowledgement is not completion, and "completed" means the agent endpoint
answered 2xx (``/work/shared/DESIGN.md``, 7), so an outcome is only as good as the run record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

from reconciler.app.run_watch import Attempts, Poll, Progress, settle, watch
from reconciler.live.base import BackendError, Runs
from reconciler.workers import DaemonPool, DeadlineExceeded, call_with_deadline, wait_for

Json = dict[str, Any]
State = Literal["dispatched", "completed", "failed", "timeout", "refused", "error"]
OnProgress = Callable[[Progress], None]

DEFAULT_TIMEOUT: Final = 300.0
PARALLEL: Final = 8

__all__ = [
    "DEFAULT_TIMEOUT",
    "DispatchRequest",
    "Outcome",
    "Poll",
    "Progress",
    "dispatch_all",
    "dispatch_and_wait",
    "dispatch_once",
    "error_of",
    "payload_for",
    "wait_for_run",
]


@dataclass(frozen=True)
class DispatchRequest:
    """One routine to dispatch, with the payload (None: the routine's own input)."""

    name: str
    payload: Json | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of one dispatch.

    ``state``: ``dispatched`` (acknowledged; not waited for), ``completed``, ``failed`` (the
    delivery's last attempt failed: ``run`` has ``error_type``/``error_message``), ``timeout``
    (``run`` is the newest attempt seen, if any), ``refused`` (the dispatch was answered with an
    error: nothing was queued) or ``error`` (the dispatch may have been received but was not
    acknowledged, or reading the runs failed: ``message`` says which).
    """

    name: str
    state: State
    dispatch_id: str | None = None
    ack: Json = field(default_factory=dict)
    run: Json | None = None
    attempts: tuple[Json, ...] = ()
    """Every attempt of the delivery seen, oldest first."""
    message: str | None = None
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the run completed (or was acknowledged, when not waited for)."""
        return self.state in ("completed", "dispatched")

    @property
    def run_ids(self) -> list[str]:
        """The ids of the attempts seen, oldest first."""
        return [str(run["id"]) for run in self.attempts if run.get("id")]


def payload_for(action_type: str, value: object) -> Json:
    """The dispatch payload that sends ``value`` as the action's input."""
    return {"type": action_type, "input": value}


def dispatch_and_wait(
    runs: Runs,
    name: str,
    payload: Json | None = None,
    *,
    wait: bool = True,
    timeout: float | None = DEFAULT_TIMEOUT,
    on_progress: OnProgress | None = None,
    poll: Poll | None = None,
) -> Outcome:
    """Dispatch ``name`` once and (``wait``) wait up to ``timeout`` seconds (None: no limit)
    for its delivery to complete or fail. The ``:dispatch_async`` request itself counts
    against ``timeout`` (a server that never answers it cannot outlast it)."""
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    sent = dispatch_once(runs, name, payload, deadline=deadline)
    if not wait or sent.state != "dispatched":
        return sent
    return wait_for_run(
        runs, sent, timeout=timeout, on_progress=on_progress, poll=poll, started=started
    )


def dispatch_once(
    runs: Runs, name: str, payload: Json | None = None, *, deadline: float | None = None
) -> Outcome:
    """Send ``:dispatch_async`` once: ``dispatched`` with the acknowledgement, ``refused``
    (answered with an error: nothing was queued) or ``error`` (it may have been received,
    also when no answer came by ``deadline``, a ``time.monotonic()`` value; never re-sent)."""
    begun = time.monotonic()
    try:
        ack = dict(call_with_deadline(lambda: runs.dispatch(name, payload), deadline))
    except DeadlineExceeded:
        waited = time.monotonic() - begun
        message = (
            f"no answer to the dispatch within the timeout ({waited:.0f}s); it may have been "
            "received; not retried (a retry could run the agent twice): look at the routine's "
            "runs before dispatching again"
        )
        return Outcome(name, "error", message=message, elapsed=waited)
    except BackendError as err:
        return Outcome(name, "error" if err.maybe_applied else "refused", message=_refusal(err))
    dispatch_id = ack.get("dispatch_id")
    if not isinstance(dispatch_id, str) or not dispatch_id:
        message = "the service acknowledged the dispatch without a dispatch_id: nothing to wait for"
        return Outcome(name, "dispatched", ack=ack, message=message)
    return Outcome(name, "dispatched", dispatch_id, ack)


def wait_for_run(
    runs: Runs,
    sent: Outcome,
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
    on_progress: OnProgress | None = None,
    poll: Poll | None = None,
    started: float | None = None,
) -> Outcome:
    """Wait for the delivery of an acknowledged dispatch (``dispatch_once``) to settle, up to
    ``timeout`` seconds from ``started`` (a ``time.monotonic()`` value; default: now)."""
    begun = time.monotonic() if started is None else started
    if sent.dispatch_id is None:
        return replace(sent, state="error", message=sent.message or "nothing was dispatched")
    deadline = None if timeout is None else begun + timeout
    watched = watch(
        runs,
        sent.name,
        sent.dispatch_id,
        deadline=deadline,
        poll=poll or Poll(),
        on_progress=on_progress,
    )
    return _outcome(sent.name, sent.dispatch_id, sent.ack, watched, time.monotonic() - begun)


def dispatch_all(
    runs: Runs,
    requests: Sequence[DispatchRequest],
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
    on_progress: OnProgress | None = None,
    poll: Poll | None = None,
    parallel: int = PARALLEL,
) -> list[Outcome]:
    """``dispatch_and_wait`` for every request at once (at most ``parallel`` at a time, each
    with the whole ``timeout``); the outcomes in the order of ``requests``. The backend is
    shared between the worker threads (both backends are thread-safe)."""
    if not requests:
        return []

    def one(request: DispatchRequest) -> Callable[[], Outcome]:
        return lambda: dispatch_and_wait(
            runs,
            request.name,
            request.payload,
            timeout=timeout,
            on_progress=on_progress,
            poll=poll,
        )

    with DaemonPool(min(parallel, len(requests)), "dispatch") as pool:
        futures = [pool.submit(one(request)) for request in requests]
    return [wait_for(future, None) for future in futures]


def _outcome(name: str, dispatch_id: str, ack: Json, watched: Attempts, elapsed: float) -> Outcome:
    """The outcome of a watch: settled, out of time, or stopped by an error."""
    attempts = tuple(watched.attempts)
    verdict = settle(attempts, watched.retry_overdue)
    latest = attempts[-1] if attempts else None
    if verdict is not None:
        state, run = verdict
        return Outcome(name, state, dispatch_id, ack, run, attempts, None, elapsed)
    if watched.error is not None:
        return Outcome(name, "error", dispatch_id, ack, latest, attempts, watched.error, elapsed)
    message = f"gave up waiting after {elapsed:.0f}s ({_seen(latest, watched)})"
    if watched.note:
        message += f"; the last read of the runs failed: {watched.note}"
    elif watched.unfinished and not watched.read_ok:
        message += "; the read of the runs under way had no answer by then (failing or slow)"
    return Outcome(name, "timeout", dispatch_id, ack, latest, attempts, message, elapsed)


def _seen(latest: Json | None, watched: Attempts) -> str:
    """What the watch saw: the newest attempt's phase, no run, or no successful read."""
    if latest is not None:
        return f"still {latest.get('phase')}"
    return "no run recorded yet" if watched.read_ok else "the runs could not be read"


def _refusal(err: BackendError) -> str:
    if not err.maybe_applied:
        return err.message
    return (
        f"{err.message}; the dispatch may have been received and was not retried (a retry "
        "could run the agent twice): look at the routine's runs before dispatching again"
    )


def error_of(run: Mapping[str, Any] | None) -> str:
    """``error_type (status): error_message`` of a failed run ('' when it has none)."""
    if not run:
        return ""
    kind, message, status = (
        run.get("error_type"),
        run.get("error_message"),
        run.get("error_status_code"),
    )
    code = f" ({status})" if status is not None else ""
    text = f"{kind or 'error'}{code}"
    return f"{text}: {message}" if message else text
