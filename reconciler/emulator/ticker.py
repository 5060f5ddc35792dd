"""Firing due schedule/timer routines: a background tick and synchronous clock advances.

Both go through one lock, so ``advance`` reports exactly the runs its own ``fire_due`` wrote.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from reconciler.emulator.clock import EmulatedClock

log = logging.getLogger(__name__)


class Firer(Protocol):
    """The part of the store the ticker needs."""

    def fire_due(self, now: float) -> int:
        """Write run records for every routine due at or before ``now``; return how many."""
        ...


class Ticker:
    """Calls ``store.fire_due(clock.now())`` every ``interval`` real seconds in a thread."""

    def __init__(self, store: Firer, clock: EmulatedClock, interval: float = 0.2) -> None:
        self._store = store
        self._clock = clock
        self._interval = interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fired_until: float | None = None
        self.errors = 0

    def fire(self) -> tuple[float, int]:
        """Fire what is due now; returns ``(now, fired)``.

        A clock that has not moved since the last firing (speed 0) has nothing new to fire, so
        the store is not touched.
        """
        with self._lock:
            now = self._clock.now()
            if self._fired_until is not None and now <= self._fired_until:
                return now, 0
            return now, self._fire_locked(now)

    def advance(self, seconds: float) -> tuple[float, int]:
        """Move the clock forward, then fire what became due; returns ``(now, fired)``."""
        with self._lock:
            now = self._clock.advance(seconds)
            return now, self._fire_locked(now)

    def _fire_locked(self, now: float) -> int:
        fired = self._store.fire_due(now)
        self._fired_until = now
        return fired

    def start(self) -> None:
        """Start the background thread (once)."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="emulator-ticker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background thread and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.fire()
            except Exception:  # one bad tick must not stop the schedule
                self.errors += 1
                log.exception("emulator tick failed")
