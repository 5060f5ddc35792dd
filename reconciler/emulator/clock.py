"""The emulator's clock: real time, sped up and pushed forward on demand.

``now() = start + (monotonic elapsed) * speed + offset``. Changing ``speed`` rebases the clock
so the emulated time never jumps; ``advance(seconds)`` moves it forward (never back).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class EmulatedClock:
    """A thread-safe clock that implements the store's ``Clock`` protocol (``now()``)."""

    def __init__(
        self,
        start: float | None = None,
        *,
        speed: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        _check_speed(speed)
        self._lock = threading.Lock()
        self._monotonic = monotonic
        self._base = time.time() if start is None else float(start)
        self._base_mono = monotonic()
        self._speed = float(speed)
        self._offset = 0.0

    def now(self) -> float:
        """Emulated unix time in seconds."""
        with self._lock:
            return self._now_locked()

    @property
    def speed(self) -> float:
        """How many emulated seconds pass per real second."""
        with self._lock:
            return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        self.set_speed(value)

    @property
    def offset(self) -> float:
        """Seconds added by ``advance`` so far."""
        with self._lock:
            return self._offset

    def set_speed(self, value: float) -> None:
        """Change the speed from now on (0 freezes the clock); the current time is kept."""
        _check_speed(value)
        with self._lock:
            mono = self._monotonic()
            self._base += (mono - self._base_mono) * self._speed
            self._base_mono = mono
            self._speed = float(value)

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (must not be negative); returns the new time."""
        if seconds < 0:
            raise ValueError("the clock only moves forward: seconds must be >= 0")
        with self._lock:
            self._offset += float(seconds)
            return self._now_locked()

    def _now_locked(self) -> float:
        elapsed = self._monotonic() - self._base_mono
        return self._base + elapsed * self._speed + self._offset


def _check_speed(value: float) -> None:
    if not value >= 0 or value == float("inf"):
        raise ValueError("speed must be a finite number >= 0")
