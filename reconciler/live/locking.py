"""One apply per stack at a time, where the target can hold a lock (docs/design.md, "Safety").

The embedded project keeps the lock in its SQLite file; the emulator serves the same lock table
on its admin API. The real service has no lock primitive: there ``acquire`` finds nothing to
hold, and the compare-before-write check of every change is the guard.

A lock names its holder (pid, host, start time, a random token). It is renewed by a heartbeat
every ``HEARTBEAT_SECONDS``; a lock whose heartbeat is older than ``STALE_SECONDS``, or whose
holder process is gone from this host, is taken over (an apply killed with ``kill -9`` never
blocks the next one for long). ``LockHolder``, ``LockHeld`` and the staleness rule are shared with
the service side and live in ``reconciler.contract.locks``; they are re-exported here.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from reconciler.contract.locks import STALE_SECONDS, LockHeld, LockHolder, is_stale

__all__ = [
    "HEARTBEAT_SECONDS",
    "POLL_SECONDS",
    "STALE_SECONDS",
    "Lease",
    "LockHeld",
    "LockHolder",
    "Lockable",
    "hold",
    "is_stale",
    "me",
]

HEARTBEAT_SECONDS = 10.0
POLL_SECONDS = 0.5


def me() -> LockHolder:
    """A new holder for this process."""
    return LockHolder(uuid.uuid4().hex, os.getpid(), socket.gethostname(), time.time())


class Lockable(Protocol):
    """What a backend offers when its target can hold a lock."""

    def acquire_lock(self, stack: str, holder: LockHolder) -> bool:
        """Take the lock (raise ``LockHeld`` when taken); False when the target cannot lock."""
        ...

    def renew_lock(self, stack: str, holder: LockHolder) -> bool:
        """Refresh the heartbeat of a lock this holder has; False when it was lost."""
        ...

    def release_lock(self, stack: str, holder: LockHolder) -> None:
        """Give the lock up (a lock held by another token is left alone)."""
        ...


@dataclass
class Lease:
    """A held lock (``held`` False: the target holds no locks). ``lost`` is set when a renewal
    finds the lock taken over (this apply stalled for longer than ``STALE_SECONDS``)."""

    stack: str
    holder: LockHolder
    held: bool
    lost: threading.Event = field(default_factory=threading.Event)


@contextmanager
def hold(
    target: Lockable,
    stack: str,
    *,
    wait: float = 0.0,
    on_wait: Callable[[LockHeld], None] | None = None,
) -> Iterator[Lease]:
    """Hold ``stack``'s lock for the block: fail at once (``LockHeld``) or wait up to ``wait``
    seconds for it (``on_wait`` hears once that it waits); a heartbeat thread renews it until
    the block ends."""
    holder = me()
    held = _acquire(target, stack, holder, wait, on_wait)
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


def _acquire(
    target: Lockable,
    stack: str,
    holder: LockHolder,
    wait: float,
    on_wait: Callable[[LockHeld], None] | None,
) -> bool:
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            return target.acquire_lock(stack, holder)
        except LockHeld as held:
            if time.monotonic() + POLL_SECONDS > deadline:
                raise
            if on_wait is not None and not told:
                on_wait(held)
                told = True
            time.sleep(POLL_SECONDS)


def _heartbeat(target: Lockable, lease: Lease, stop: threading.Event) -> None:
    interval = float(os.environ.get("RECONCILER_LOCK_HEARTBEAT") or HEARTBEAT_SECONDS)
    while not stop.wait(interval):
        try:
            still = target.renew_lock(lease.stack, lease.holder)
        except Exception:  # noqa: S112 - a missed beat is retried at the next interval
            continue
        if not still:
            lease.lost.set()
            return
