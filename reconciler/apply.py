"""Execute a plan through a backend: safe order, bounded concurrency, one result per change.

Order: creates, updates, replaces, enables and disables first (concurrently, at most
``concurrency`` at a time), deletes last, and only when every earlier change succeeded (so a
rename never deletes the old routine after failing to create the new one).  An independent
failure does not stop the others; ``max_consecutive_failures`` failures in a row open a circuit
breaker that skips what has not started.  Never prints: progress goes to ``on_result``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Literal

from reconciler.diagnostics import Location
from reconciler.live.base import Backend, BackendError
from reconciler.plan.model import Action, Change, Plan

Status = Literal["ok", "failed", "skipped"]
DEFAULT_CONCURRENCY = 8
DEFAULT_BREAKER = 5


@dataclass(frozen=True)
class ChangeResult:
    """What happened to one change; a failure says where its manifest declares the field."""

    name: str
    action: Action
    status: Status
    message: str = ""
    seconds: float = 0.0
    where: Location | None = None


Locate = Callable[[Change, str | None], Location | None]
"""Where the manifest declares a change's field (given the service's error ``param``)."""


@dataclass
class ApplyResult:
    """Every change's result, in completion order."""

    results: list[ChangeResult] = field(default_factory=list)
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing failed or was skipped and apply was not interrupted."""
        return not self.interrupted and all(r.status == "ok" for r in self.results)

    def count(self, status: Status) -> int:
        """How many results have ``status``."""
        return sum(1 for r in self.results if r.status == status)


def _run(backend: Backend, change: Change) -> str:
    body = change.body or {}
    if change.action in (Action.CREATE, Action.UPDATE):
        backend.create_or_update(change.name, body)
    elif change.action is Action.REPLACE:
        backend.delete(change.name)
        try:
            backend.create_or_update(change.name, body)
        except BackendError as err:
            raise BackendError(
                f"deleted, but re-creating failed: {err.message} (the next apply creates it)",
                kind=err.kind,
                status=err.status,
            ) from err
    elif change.action is Action.ENABLE:
        backend.enable(change.name)
    elif change.action is Action.DISABLE:
        backend.disable(change.name)
    elif change.action is Action.DELETE:
        return _delete(backend, change.name)
    return ""


def _delete(backend: Backend, name: str) -> str:
    try:
        backend.delete(name)
    except BackendError as err:
        if err.kind == "not_found":
            return "already gone"
        raise
    return ""


class _Runner:
    def __init__(
        self,
        backend: Backend,
        *,
        concurrency: int,
        breaker: int,
        on_result: Callable[[ChangeResult], None] | None,
        locate: Locate | None,
        stop: threading.Event | None,
    ) -> None:
        self.backend, self.concurrency, self.breaker = backend, max(1, concurrency), breaker
        self.on_result = on_result
        self.locate = locate
        self.stop = stop
        self.result = ApplyResult()
        self.consecutive = 0
        self.lock = threading.Lock()

    def record(self, item: ChangeResult) -> None:
        with self.lock:
            self.result.results.append(item)
            if item.status == "failed":
                self.consecutive += 1
            elif item.status == "ok":
                self.consecutive = 0
        if self.on_result is not None:
            self.on_result(item)

    @property
    def tripped(self) -> bool:
        return self.breaker > 0 and self.consecutive >= self.breaker

    def one(self, change: Change) -> ChangeResult:
        start = time.monotonic()
        try:
            note = _run(self.backend, change)
        except BackendError as err:
            where = self.locate(change, err.param) if self.locate else change.source
            return ChangeResult(
                change.name,
                change.action,
                "failed",
                err.message,
                time.monotonic() - start,
                where,
            )
        return ChangeResult(change.name, change.action, "ok", note, time.monotonic() - start)

    @property
    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def phase(self, changes: list[Change]) -> None:
        """Run ``changes`` at bounded concurrency. When ``stop`` is set (the CLI sets it on
        Ctrl-C or SIGTERM), or on a KeyboardInterrupt, start nothing more, but wait for and
        report what is in flight (a change already sent may take effect)."""
        pending = list(changes)
        running: dict[Future[ChangeResult], Change] = {}
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            try:
                self._drive(pool, pending, running)
            except KeyboardInterrupt:
                self.result.interrupted = True
                for future in wait(running).done:
                    self.record(future.result())
        if self.stopping:
            self.result.interrupted = True
        why = (
            "not started: apply was interrupted"
            if self.result.interrupted
            else f"not started: {self.breaker} consecutive failures opened the circuit breaker"
        )
        self.skip(pending, why)

    def _drive(
        self,
        pool: ThreadPoolExecutor,
        pending: list[Change],
        running: dict[Future[ChangeResult], Change],
    ) -> None:
        while pending or running:
            while pending and len(running) < self.concurrency and not self.tripped:
                if self.stopping:
                    break
                change = pending.pop(0)
                running[pool.submit(self.one, change)] = change
            if not running:
                break
            # a short timeout lets the main thread run signal handlers while it waits
            done, _ = wait(running, timeout=0.1, return_when=FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                self.record(future.result())

    def skip(self, changes: list[Change], why: str) -> None:
        for change in changes:
            self.record(ChangeResult(change.name, change.action, "skipped", why))


def apply_plan(
    plan: Plan,
    backend: Backend,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_consecutive_failures: int = DEFAULT_BREAKER,
    on_result: Callable[[ChangeResult], None] | None = None,
    locate: Locate | None = None,
    stop: threading.Event | None = None,
) -> ApplyResult:
    """Run every pending change of ``plan``; returns a result per change. Setting ``stop``
    (from a signal handler or another thread) ends the apply early: nothing new starts."""
    runner = _Runner(
        backend,
        concurrency=concurrency,
        breaker=max_consecutive_failures,
        on_result=on_result,
        locate=locate,
        stop=stop,
    )
    writes = [c for c in plan.pending if c.action is not Action.DELETE]
    deletes = [c for c in plan.pending if c.action is Action.DELETE]
    runner.phase(writes)
    if runner.result.interrupted:
        runner.skip(deletes, "not started: apply was interrupted")
    elif runner.result.count("failed") or runner.result.count("skipped"):
        runner.skip(
            deletes, "not started: deletes run only after every create and update succeeded"
        )
    else:
        runner.phase(deletes)
    return runner.result
