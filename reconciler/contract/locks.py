"""Who holds a stack's apply lock, and when a lock is stale (docs/design.md, "Safety").

Shared by the client's lease logic (``reconciler.live.locking``) and the service side that keeps
the locks (``reconciler.service.locks``: the embedded project's table, which the emulator serves
on its admin API). A lock whose heartbeat is older than ``STALE_SECONDS``, or whose holder
process is gone from this host, may be taken over.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

STALE_SECONDS = 60.0


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or asks for) a stack's lock."""

    token: str
    pid: int
    host: str
    since: float

    def describe(self) -> str:
        """``pid 123, host ci-7, since 2026-12-01 10:00:00 UTC``."""
        when = datetime.fromtimestamp(self.since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"pid {self.pid}, host {self.host}, since {when}"

    def to_json(self) -> dict[str, Any]:
        """The holder as JSON (what the emulator's lock route takes and returns)."""
        return {"token": self.token, "pid": self.pid, "host": self.host, "since": self.since}

    @classmethod
    def from_json(cls, data: Any) -> LockHolder:
        """Parse a holder; raises ValueError naming the bad field."""
        if not isinstance(data, dict):
            raise ValueError("a lock holder must be a JSON object")
        try:
            return cls(
                str(data["token"]), int(data["pid"]), str(data["host"]), float(data["since"])
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"invalid lock holder: {err}") from None


class LockHeld(Exception):
    """Another apply holds the stack's lock."""

    def __init__(self, stack: str, holder: LockHolder) -> None:
        super().__init__(f"another apply of stack {stack} is running ({holder.describe()})")
        self.stack = stack
        self.holder = holder


def is_stale(holder: LockHolder, heartbeat: float, now: float) -> bool:
    """True when the holder stopped renewing, or is a process that no longer runs here."""
    if now - heartbeat > STALE_SECONDS:
        return True
    return holder.host == socket.gethostname() and not _alive(holder.pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
