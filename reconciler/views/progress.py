"""Progress while apply runs, so that a slow apply never looks hung.

On a terminal: a live status line (done/total, in flight, elapsed) under the per-change lines,
drawn by rich. Off a terminal (CI logs): every ``RECONCILER_HEARTBEAT`` seconds (default 30) one
line naming what is still in flight, so the log never goes quiet for long.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.status import Status

from reconciler.apply import ChangeResult
from reconciler.plan.model import Change

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
        progress.console.print(f"  … still applying: {progress.summary()}", highlight=False)
