"""The stack locks of the embedded project (and of the emulator, which serves the same file).

One row per (project, stack) in a ``locks`` table that older files gain on their first
writable open (``CREATE TABLE IF NOT EXISTS``; no schema version change: readers that do not
know it ignore it). Every statement runs inside the store's ``BEGIN IMMEDIATE`` transaction,
so two processes can never both take a lock.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Final

from reconciler.contract.locks import LockHeld, LockHolder, is_stale

CREATE: Final = (
    "CREATE TABLE IF NOT EXISTS locks (project TEXT NOT NULL, stack TEXT NOT NULL, "
    "token TEXT NOT NULL, pid INTEGER NOT NULL, host TEXT NOT NULL, since REAL NOT NULL, "
    "heartbeat REAL NOT NULL, PRIMARY KEY (project, stack))"
)
_SELECT: Final = (
    "SELECT token, pid, host, since, heartbeat FROM locks WHERE project = ? AND stack = ?"
)


def acquire(conn: sqlite3.Connection, project: str, stack: str, holder: LockHolder) -> None:
    """Take the lock, or raise ``LockHeld`` naming the live holder (a stale one is replaced)."""
    row = conn.execute(_SELECT, (project, stack)).fetchone()
    now = time.time()
    if row is not None:
        current = LockHolder(str(row[0]), int(row[1]), str(row[2]), float(row[3]))
        if current.token != holder.token and not is_stale(current, float(row[4]), now):
            raise LockHeld(stack, current)
    conn.execute(
        "INSERT OR REPLACE INTO locks (project, stack, token, pid, host, since, heartbeat) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (project, stack, holder.token, holder.pid, holder.host, holder.since, now),
    )


def renew(conn: sqlite3.Connection, project: str, stack: str, holder: LockHolder) -> bool:
    """Move the heartbeat of the holder's lock to now; False when the lock is no longer
    theirs (another apply took it over after this one stopped renewing)."""
    cursor = conn.execute(
        "UPDATE locks SET heartbeat = ? WHERE project = ? AND stack = ? AND token = ?",
        (time.time(), project, stack, holder.token),
    )
    return cursor.rowcount == 1


def release(conn: sqlite3.Connection, project: str, stack: str, holder: LockHolder) -> None:
    """Drop the holder's lock (someone else's is left alone)."""
    conn.execute(
        "DELETE FROM locks WHERE project = ? AND stack = ? AND token = ?",
        (project, stack, holder.token),
    )
