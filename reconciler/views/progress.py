"""Progress while apply runs, or while a dispatch is waited for, so that nothing looks hung.

On a terminal: a live status line (done/total, in flight, elapsed) under the per-change lines,
drawn by rich. Off a terminal (CI logs): every ``RECONCILER_HEARTBEAT`` seconds (default 30) one
line naming what is still in flight, so the log never goes quiet for long. Waiting for a run
(``DispatchWatch``): the live line names the run's phase and attempt; off a terminal, one line
per change of either.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.status import Status

from reconciler.app.run_watch import Progress as WaitProgress
from reconciler.apply import ChangeResult
from reconciler.contract.delivery import MAX_ATTEMPTS
from reconciler.plan.model import Change
from reconciler.views.values import printable

HEARTBEAT_SECONDS = 30.0
SHOWN_MAX = 5


class ApplyProgress:
    """Counts started and finished changes; renders a status line or heartbeats."""

    def __init__(self, console: Console, total: int, report: Callable[[ChangeResult], None]):
        self.console, self.total, self.report = console, total, report
        self.started = time.monotonic()
        self.done = 0
        self.flight: dict[str, str] = {}
        self.lock = threading.Lock()
        self.status: Status | None = None

    def on_start(self, change: Change) -> None:
        """A change was sent."""
        with self.lock:
            self.flight[change.name] = change.action.value
        self._refresh()

    def on_result(self, item: ChangeResult) -> None:
        """A change finished: its line, then the refreshed status."""
        with self.lock:
            self.flight.pop(item.name, None)
            self.done += 1
        self.report(item)
        self._refresh()

    def summary(self) -> str:
        """``12/40 done, 8 in flight, 35s: update a, create b, …``."""
        with self.lock:
            names = [f"{action} {name}" for name, action in list(self.flight.items())[:SHOWN_MAX]]
            more = len(self.flight) - len(names)
            flying = len(self.flight)
        shown = ", ".join(names) + (f" and {more} more" if more > 0 else "")
        elapsed = time.monotonic() - self.started
        tail = f": {shown}" if shown else ""
        return f"{self.done}/{self.total} done, {flying} in flight, {elapsed:.0f}s{tail}"

    def _refresh(self) -> None:
        if self.status is not None:
            self.status.update(self.summary())


def heartbeat_seconds() -> float:
    """``RECONCILER_HEARTBEAT`` (seconds, > 0), else 30."""
    try:
        value = float(os.environ.get("RECONCILER_HEARTBEAT", HEARTBEAT_SECONDS))
    except ValueError:
        return HEARTBEAT_SECONDS
    return value if value > 0 else HEARTBEAT_SECONDS


@contextmanager
def shown(progress: ApplyProgress) -> Iterator[ApplyProgress]:
    """A live status line on a terminal; heartbeat lines elsewhere."""
    if progress.console.is_terminal:
        with progress.console.status(progress.summary()) as status:
            progress.status = status
            yield progress
        progress.status = None
        return
    stop = threading.Event()
    beat = threading.Thread(target=_beat, args=(progress, stop), daemon=True)
    beat.start()
    try:
        yield progress
    finally:
        stop.set()


def _beat(progress: ApplyProgress, stop: threading.Event) -> None:
    interval = heartbeat_seconds()
    while not stop.wait(interval):
        line = f"  … still applying: {printable(progress.summary())}"
        progress.console.print(line, highlight=False, markup=False)


class DispatchWatch:
    """Progress while ``reconciler dispatch --wait`` (or a smoke gate) waits for runs: on a
    terminal one live status line; elsewhere one line whenever a run's phase or attempt changes.
    Call it with each ``Progress`` (from any thread)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.lock = threading.Lock()
        self.seen: dict[str, tuple[str | None, int]] = {}
        self.status: Status | None = None

    def __call__(self, progress: WaitProgress) -> None:
        """One poll's view of one dispatch."""
        line = _waiting(progress)
        with self.lock:
            state = (progress.phase, progress.attempt)
            changed = self.seen.get(progress.dispatch_id) != state
            self.seen[progress.dispatch_id] = state
            if self.status is not None:
                self.status.update(line)
            elif changed:
                self.console.print(f"  {line}", highlight=False, markup=False)


def _waiting(progress: WaitProgress) -> str:
    """``r1: dispatching (attempt 2 of 3, 4s)``; a failed attempt that is retried says so."""
    phase = progress.phase or "not in the run history yet"
    attempt = f"attempt {progress.attempt}, " if progress.attempt else ""
    if progress.attempt > 1 or progress.phase == "failed":
        attempt = f"attempt {progress.attempt} of {MAX_ATTEMPTS}, "
    line = f"{progress.name}: {phase} ({attempt}{progress.elapsed:.0f}s)"
    run = progress.run or {}
    if progress.phase == "failed" and run.get("error_type"):
        line += f": {run.get('error_type')} ({run.get('error_status_code')})"
    return printable(line)


@contextmanager
def watching(console: Console) -> Iterator[DispatchWatch]:
    """A ``DispatchWatch`` whose live line (on a terminal) lasts as long as the block."""
    watch = DispatchWatch(console)
    if not console.is_terminal:
        yield watch
        return
    with console.status("waiting for the run…") as status:
        watch.status = status
        yield watch
    watch.status = None
