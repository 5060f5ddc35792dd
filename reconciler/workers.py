"""A small pool of daemon worker threads that returns ``concurrent.futures.Future`` objects.

``ThreadPoolExecutor`` joins its (non-daemon) threads when the interpreter exits, so one request
that never returns (a server that accepts and never answers) would keep the process alive past
any timeout. These workers are daemon threads: a command that gives up on work in flight (its
``--timeout`` passed, or a second Ctrl-C) can report it and exit.
"""

from __future__ import annotations

import gc
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from contextlib import contextmanager
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")
_Job = tuple[Future[Any], Callable[[], Any]] | None


class DaemonPool:
    """``size`` daemon threads running submitted callables in order of submission."""

    def __init__(self, size: int, name: str = "worker") -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(max(1, size))
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, func: Callable[[], T]) -> Future[T]:
        """Queue ``func``; its future completes with its result or exception."""
        future: Future[T] = Future()
        self._jobs.put((future, func))
        return future

    def shutdown(self) -> None:
        """Let the threads end once the queued work is done (never waits for them)."""
        for _ in self._threads:
            self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, func = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(func())
            except BaseException as err:  # the caller sees it through the future
                future.set_exception(err)

    def __enter__(self) -> DaemonPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.shutdown()


@contextmanager
def no_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector for a block that only builds long-lived data (loading
    10,000 routines otherwise triggers thousands of collections that find nothing to free)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class DeadlineExceeded(Exception):
    """The work did not finish before its deadline."""


def call_with_deadline(func: Callable[[], T], deadline: float | None) -> T:
    """``func()`` in a daemon thread; ``DeadlineExceeded`` when it has not returned by
    ``deadline`` (a ``time.monotonic()`` value; None: wait as long as it takes). The calling
    thread keeps handling signals while it waits."""
    with DaemonPool(1, "deadline") as pool:
        future = pool.submit(func)
    return wait_for(future, deadline)


def wait_for(future: Future[T], deadline: float | None) -> T:
    """The result of ``future``; ``DeadlineExceeded`` when it is not done by ``deadline``."""
    while not future.done():
        if deadline is not None and time.monotonic() >= deadline:
            raise DeadlineExceeded
        wait([future], timeout=0.1)
    return future.result()


def arriving(
    future: Future[Any], items: queue.SimpleQueue[T], deadline: float | None
) -> Iterator[T]:
    """The items a worker puts on ``items`` while it computes ``future``, as they arrive; then
    ``future``'s own exception, if any (``DeadlineExceeded`` when it is not done by
    ``deadline``). The worker puts every item before its future completes."""
    while True:
        try:
            yield items.get(timeout=0.05)
            continue
        except queue.Empty:
            pass
        if future.done():
            while not items.empty():
                yield items.get_nowait()
            future.result()
            return
        if deadline is not None and time.monotonic() >= deadline:
            raise DeadlineExceeded


@contextmanager
def responsive_threads(interval: float = 0.0005) -> Iterator[None]:
    """A shorter GIL switch interval while a CPU-bound thread (loading manifests) runs beside
    an I/O-bound one (listing the project): with the default 5 ms, each of the list's many
    GIL hand-overs per page can wait a whole interval, which adds ~10 ms to every 20 ms page."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        yield
    finally:
        sys.setswitchinterval(before)
