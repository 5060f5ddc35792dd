"""Per-route request counters for tests and benchmarks (``GET /_emulator/counters``)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Counters:
    """Thread-safe counts of requests per route key (``PUT /routines/{name}``) and status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()

    def request(self, key: str) -> None:
        """Count one request on ``key`` (unknown paths count as ``unmatched``)."""
        with self._lock:
            self._routes[key] += 1

    def status(self, status: int) -> None:
        """Count one answer with ``status`` (dropped connections have none)."""
        with self._lock:
            self._statuses[str(status)] += 1

    def snapshot(self, faults: dict[str, int]) -> dict[str, Any]:
        """``{"routes": {...}, "statuses": {...}, "faults": {...}, "total": N}``."""
        with self._lock:
            return {
                "routes": dict(sorted(self._routes.items())),
                "statuses": dict(sorted(self._statuses.items())),
                "faults": faults,
                "total": sum(self._routes.values()),
            }

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._routes.clear()
            self._statuses.clear()
