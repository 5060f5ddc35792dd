"""Where the service reads the time: the wall clock, or one the caller passes in.

The store never calls ``time.time()`` for routine times itself; the emulator passes an
accelerated (or frozen) clock, and tests move one by hand.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final, Protocol


class Clock(Protocol):
    """Where the store reads the time (the emulator passes an accelerated one)."""

    def now(self) -> float:
        """Current time in unix seconds."""
        ...


@dataclass(frozen=True)
class SystemClock:
    """The real wall clock."""

    def now(self) -> float:
        """``time.time()``."""
        return time.time()


SYSTEM_CLOCK: Final = SystemClock()
