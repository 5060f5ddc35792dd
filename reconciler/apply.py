"""Execute a plan through a backend: safe order, bounded concurrency, one result per change.

Order: creates, updates, replaces, enables and disables first (concurrently, at most
``concurrency`` at a time), deletes last, and only when every earlier change succeeded (so a
rename never deletes the old routine after failing to create the new one).  Each change is
compared with the live routine immediately before it is written (``apply_steps``).  An
independent failure does not stop the others; ``max_consecutive_failures`` failures or conflicts
in a row open a circuit breaker that skips what has not started.  After ``deadline`` (a
``time.monotonic()`` value) nothing new starts and what is still in flight is reported as
unknown.  Never prints: progress goes to ``on_result``.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field

from reconciler.apply_steps import Outcome, Status, execute
from reconciler.diagnostics import Location
from reconciler.live import calls
from reconciler.live.base import Backend
from reconciler.plan.model import Action, Change, Plan
from reconciler.workers import DaemonPool

DEFAULT_CONCURRENCY = 8
DEFAULT_BREAKER = 5
__all__ = ["DEFAULT_BREAKER", "DEFAULT_CONCURRENCY", "ApplyResult", "ChangeResult", "apply_plan"]


@dataclass(frozen=True)
class ChangeResult:
    """What happened to one change; a failure says where its manifest declares the field."""

    name: str
    action: Action
    status: Status
    message: str = ""
    seconds: float = 0.0
    where: Location | None = None
    retries: int = 0


Locate = Callable[[Change, str | None], Location | None]
"""Where the manifest declares a change's field (given the service's error ``param``)."""


@dataclass
class ApplyResult:
    """Every change's result, in completion order."""

    results: list[ChangeResult] = field(default_factory=list)
    interrupted: bool = False
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        """True when every change succeeded and apply ran to its end."""
        finished = not (self.interrupted or self.timed_out)
        return finished and all(r.status == "ok" for r in self.results)

    def count(self, status: Status) -> int:
        """How many results have ``status``."""
        return sum(1 for r in self.results if r.status == status)


@dataclass(frozen=True)
class _Settings:
    concurrency: int
    breaker: int
    stack: str
    on_result: Callable[[ChangeResult], None] | None
    on_start: Callable[[Change], None] | None
    locate: Locate | None
    stop: threading.Event | None
    deadline: float | None


class _Runner:
    def __init__(self, backend: Backend, settings: _Settings) -> None:
        self.backend, self.settings = backend, settings
        self.result = ApplyResult()
        self.consecutive = 0
        self.lock = threading.Lock()
        self.starts: dict[str, float] = {}

    def record(self, item: ChangeResult) -> None:
        with self.lock:
            self.result.results.append(item)
            if item.status in ("failed", "conflict"):
                self.consecutive += 1
            elif item.status == "ok":
                self.consecutive = 0
        if self.settings.on_result is not None:
            self.settings.on_result(item)

    @property
    def tripped(self) -> bool:
        return self.settings.breaker > 0 and self.consecutive >= self.settings.breaker

    @property
    def stopping(self) -> bool:
        stop = self.settings.stop
        return stop is not None and stop.is_set()

    @property
    def expired(self) -> bool:
        deadline = self.settings.deadline
        return deadline is not None and time.monotonic() >= deadline

    def started_at(self, change: Change) -> float:
        with self.lock:
            return self.starts.get(change.name, time.monotonic())

    def one(self, change: Change) -> ChangeResult:
        start = time.monotonic()
        with calls.tally() as tally:
            outcome = execute(self.backend, change, self.settings.stack)
        where = None
        if outcome.status == "failed":
            locate = self.settings.locate
            where = locate(change, outcome.param) if locate else change.source
        return _result(change, outcome, time.monotonic() - start, where, tally.retries)

    def phase(self, changes: list[Change]) -> None:
        """Run ``changes`` at bounded concurrency. When ``stop`` is set (the CLI sets it on
        Ctrl-C or SIGTERM), or on a KeyboardInterrupt, start nothing more, but wait for and
        report what is in flight (a change already sent may take effect); after the deadline,
        stop waiting and report what is in flight as unknown."""
        pending = list(changes)
        running: dict[Future[ChangeResult], Change] = {}
        with DaemonPool(self.settings.concurrency, "apply") as pool:
            try:
                self._drive(pool, pending, running)
            except KeyboardInterrupt:
                self.result.interrupted = True
                self._abandon(running, "apply was interrupted")
        if self.stopping:
            self.result.interrupted = True
        self.skip(pending, self.why_not_started())

    def why_not_started(self) -> str:
        if self.result.interrupted:
            return "not started: apply was interrupted"
        if self.result.timed_out:
            return "not started: the --timeout passed"
        return (
            f"not started: {self.settings.breaker} consecutive failures opened the circuit breaker"
        )

    def _drive(
        self,
        pool: DaemonPool,
        pending: list[Change],
        running: dict[Future[ChangeResult], Change],
    ) -> None:
        while pending or running:
            while pending and len(running) < self.settings.concurrency and not self.tripped:
                if self.stopping or self.expired:
                    break
                change = pending.pop(0)
                with self.lock:
                    self.starts[change.name] = time.monotonic()
                if self.settings.on_start is not None:
                    self.settings.on_start(change)
                running[pool.submit(functools.partial(self.one, change))] = change
            if not running:
                break
            if self.expired:
                self.result.timed_out = True
                self._abandon(running, "the --timeout passed")
                return
            # a short timeout lets the main thread run signal handlers while it waits
            done, _ = wait(running, timeout=0.1, return_when=FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                self.record(future.result())

    def _abandon(self, running: dict[Future[ChangeResult], Change], why: str) -> None:
        """Report what finished, and what is still in flight as unknown (never waited for)."""
        for future, change in list(running.items()):
            if future.done():
                self.record(future.result())
            else:
                message = f"still in flight when {why}: it may or may not take effect"
                seconds = time.monotonic() - self.started_at(change)
                self.record(ChangeResult(change.name, change.action, "unknown", message, seconds))
        running.clear()

    def skip(self, changes: list[Change], why: str) -> None:
        for change in changes:
            self.record(ChangeResult(change.name, change.action, "skipped", why))


def _result(
    change: Change, outcome: Outcome, seconds: float, where: Location | None, retries: int
) -> ChangeResult:
    return ChangeResult(
        change.name, change.action, outcome.status, outcome.message, seconds, where, retries
    )


def apply_plan(
    plan: Plan,
    backend: Backend,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_consecutive_failures: int = DEFAULT_BREAKER,
    on_result: Callable[[ChangeResult], None] | None = None,
    on_start: Callable[[Change], None] | None = None,
    locate: Locate | None = None,
    stop: threading.Event | None = None,
    deadline: float | None = None,
) -> ApplyResult:
    """Run every pending change of ``plan``; returns a result per change. Setting ``stop``
    (from a signal handler or another thread) ends the apply early: nothing new starts."""
    settings = _Settings(
        concurrency=max(1, concurrency),
        breaker=max_consecutive_failures,
        stack=plan.stack,
        on_result=on_result,
        on_start=on_start,
        locate=locate,
        stop=stop,
        deadline=deadline,
    )
    runner = _Runner(backend, settings)
    writes = [c for c in plan.pending if not c.action.info.last]
    deletes = [c for c in plan.pending if c.action.info.last]
    runner.phase(writes)
    result = runner.result
    if result.interrupted or result.timed_out:
        runner.skip(deletes, runner.why_not_started())
    elif any(result.count(s) for s in ("failed", "skipped", "conflict", "unknown")):
        runner.skip(
            deletes, "not started: deletes run only after every create and update succeeded"
        )
    else:
        runner.phase(deletes)
    return result
