"""One apply per stack at a time, where the target can hold a lock (docs/design.md, "Safety").

The embedded project keeps the lock in its SQLite file; the emulator serves the same lock table
on its admin API. The real service has no lock primitive: there ``acquire`` finds nothing to
hold, and the compare-before-write check of every change is the guard.

A lock names its holder (pid, host, start time, a random token). It is renewed by a heartbeat
every ``HEARTBEAT_SECONDS``; a lock whose heartbeat is older than ``STALE_SECONDS``, or whose
holder process is gone from this host, is taken over (an apply killed with ``kill -9`` never
blocks the next one for long).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

HEARTBEAT_SECONDS = 10.0
STALE_SECONDS = 60.0
POLL_SECONDS = 0.5


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


def me() -> LockHolder:
    """A new holder for this process."""
    return LockHolder(uuid.uuid4().hex, os.getpid(), socket.gethostname(), time.time())


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


class Lockable(Protocol):
    """What a backend offers when its target can hold a lock."""

    def acquire_lock(self, stack: str, holder: LockHolder) -> bool:
        """Take the lock (raise ``LockHeld`` when taken); False when the target cannot lock."""
        ...

    def renew_lock(self, stack: str, holder: LockHolder) -> None:
        """Refresh the heartbeat of a lock this holder has."""
        ...

    def release_lock(self, stack: str, holder: LockHolder) -> None:
        """Give the lock up (a lock held by another token is left alone)."""
        ...


@dataclass
class Lease:
    """A held lock (``held`` False: the target holds no locks)."""

    stack: str
    holder: LockHolder
    held: bool


@contextmanager
def hold(target: Lockable, stack: str, *, wait: float = 0.0) -> Iterator[Lease]:
    """Hold ``stack``'s lock for the block: fail at once (``LockHeld``) or wait up to ``wait``
    seconds for it; a heartbeat thread renews it until the block ends."""
    holder = me()
    held = _acquire(target, stack, holder, wait)
    lease = Lease(stack, holder, held)
    if not held:
        yield lease
        return
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(target, lease, stop), daemon=True)
    beat.start()
    try:
        yield lease
    finally:
        stop.set()
        beat.join(timeout=5)
        target.release_lock(stack, holder)


def _acquire(target: Lockable, stack: str, holder: LockHolder, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while True:
        try:
            return target.acquire_lock(stack, holder)
        except LockHeld:
            if time.monotonic() + POLL_SECONDS > deadline:
                raise
            time.sleep(POLL_SECONDS)


def _heartbeat(target: Lockable, lease: Lease, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        try:
            target.renew_lock(lease.stack, lease.holder)
        except Exception:  # noqa: S112 - a missed beat is retried at the next interval
            continue
