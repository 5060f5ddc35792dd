"""The SQLite side of the embedded project: statements, schema, opening files, failures.

Storage: one SQLite file (WAL journal, 10 s busy timeout). A ``meta`` table stamps the file with
the application name and schema version; any other file is refused with ``StoreError``. The
``routines`` table holds each routine with its firing watermark (``last_checked``) and
``next_fire`` (indexed with ``enabled`` so that ``fire_due`` is a lookup, not a scan); ``runs``
holds the run records as JSON, kept after their routine is deleted. The ``locks`` table is
``reconciler.service.locks``. Connections and transactions are ``reconciler.service.connections``.
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Final

from reconciler.service.errors import StoreError

APPLICATION: Final = "reconciler"
SCHEMA_VERSION: Final = 1
BUSY_TIMEOUT_SECONDS: Final = 10.0
OUR_TABLES: Final = frozenset({"meta", "routines", "runs"})

# --- statements --------------------------------------------------------------------------------

CREATE_TABLES: Final = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE routines (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        project TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        triggers TEXT NOT NULL,
        action TEXT NOT NULL,
        identity TEXT NOT NULL,
        trigger_type TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        last_checked REAL NOT NULL,
        next_fire REAL,
        UNIQUE (project, name)
    )""",
    "CREATE INDEX routines_by_age ON routines (project, created_at, seq)",
    "CREATE INDEX routines_due ON routines (enabled, next_fire)",
    """CREATE TABLE runs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        project TEXT NOT NULL,
        routine TEXT NOT NULL,
        record TEXT NOT NULL
    )""",
    "CREATE INDEX runs_by_routine ON runs (project, routine, seq)",
)

SELECT_ROUTINE: Final = (
    "SELECT seq, project, name, description, enabled, triggers, action, identity, "
    "created_at, updated_at, last_checked FROM routines WHERE project = ? AND name = ?"
)
SELECT_DUE: Final = (
    "SELECT seq, project, name, description, enabled, triggers, action, identity, "
    "created_at, updated_at, last_checked FROM routines "
    "WHERE enabled = 1 AND next_fire IS NOT NULL AND next_fire <= ? ORDER BY seq"
)
SELECT_EVENT_ROUTINES: Final = (
    "SELECT seq, project, name, description, enabled, triggers, action, identity, "
    "created_at, updated_at, last_checked FROM routines "
    "WHERE project = ? AND enabled = 1 AND trigger_type = ? ORDER BY seq"
)
INSERT_ROUTINE: Final = (
    "INSERT INTO routines (project, name, description, enabled, triggers, action, identity, "
    "trigger_type, created_at, updated_at, last_checked, next_fire) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPDATE_ROUTINE: Final = (
    "UPDATE routines SET description = ?, enabled = ?, triggers = ?, action = ?, "
    "trigger_type = ?, updated_at = ?, last_checked = MAX(last_checked, ?), next_fire = ? "
    "WHERE seq = ?"
)
SET_ENABLED: Final = "UPDATE routines SET enabled = ?, updated_at = ? WHERE seq = ?"
DELETE_ROUTINE: Final = "DELETE FROM routines WHERE seq = ?"
SELECT_ANY_RUN: Final = "SELECT 1 FROM runs WHERE project = ? AND routine = ? LIMIT 1"
INSERT_RUN: Final = "INSERT INTO runs (project, routine, record) VALUES (?, ?, ?)"
MOVE_WATERMARK: Final = "UPDATE routines SET last_checked = ?, next_fire = ? WHERE seq = ?"

# (order, has cursor) -> query; parameters: project[, created_at, seq], limit
LIST_ROUTINES: Final = {
    ("asc", False): "WHERE project = ? ORDER BY created_at, seq LIMIT ?",
    ("asc", True): "WHERE project = ? AND (created_at, seq) > (?, ?) ORDER BY created_at, seq "
    "LIMIT ?",
    ("desc", False): "WHERE project = ? ORDER BY created_at DESC, seq DESC LIMIT ?",
    ("desc", True): "WHERE project = ? AND (created_at, seq) < (?, ?) "
    "ORDER BY created_at DESC, seq DESC LIMIT ?",
}
LIST_ROUTINES_SELECT: Final = (
    "SELECT seq, project, name, description, enabled, triggers, action, identity, "
    "created_at, updated_at, last_checked FROM routines "
)
# (order, has cursor) -> query; parameters: project, routine[, seq], limit
LIST_RUNS: Final = {
    ("asc", False): "WHERE project = ? AND routine = ? ORDER BY seq LIMIT ?",
    ("asc", True): "WHERE project = ? AND routine = ? AND seq > ? ORDER BY seq LIMIT ?",
    ("desc", False): "WHERE project = ? AND routine = ? ORDER BY seq DESC LIMIT ?",
    ("desc", True): "WHERE project = ? AND routine = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
}
LIST_RUNS_SELECT: Final = "SELECT seq, record FROM runs "

# --- opening -----------------------------------------------------------------------------------


def open_connection(target: str, *, uri: bool) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), shareable across threads,
    that waits up to ``BUSY_TIMEOUT_SECONDS`` for another writer."""
    conn = sqlite3.connect(
        target,
        timeout=BUSY_TIMEOUT_SECONDS,
        isolation_level=None,
        check_same_thread=False,
        uri=uri,
    )
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
    return conn


def has_wal(path: str) -> bool:
    """True when a ``-wal`` file may hold changes not yet in the main file."""
    try:
        return os.path.getsize(f"{path}-wal") > 0
    except OSError:
        return False


def use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL once (persistent); retry while another process holds a lock."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# --- schema ------------------------------------------------------------------------------------


def user_tables(conn: sqlite3.Connection) -> list[str]:
    """The names of the file's tables, SQLite's own left out."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    ).fetchall()
    return [str(row[0]) for row in rows]


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the tables in an empty file and stamp it with the application and version."""
    for statement in CREATE_TABLES:
        conn.execute(statement)
    conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)",
        [("application", APPLICATION), ("schema_version", str(SCHEMA_VERSION))],
    )


def check_schema(path: str, conn: sqlite3.Connection) -> None:
    """Refuse a database of another application, another schema version, or a damaged one."""
    tables = user_tables(conn)
    meta = _read_meta(conn) if "meta" in tables else {}
    if meta.get("application") != APPLICATION:
        listed = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise StoreError(
            f"local project {path} is not a reconciler database (it holds other tables: {listed})"
        )
    version = meta.get("schema_version")
    if version != str(SCHEMA_VERSION):
        raise StoreError(
            f"local project {path} has schema version {version}; this reconciler reads version "
            f"{SCHEMA_VERSION} (move the file away to start a new local project)"
        )
    missing = sorted(OUR_TABLES - set(tables))
    if missing:
        raise StoreError(f"local project {path} is damaged (missing table {', '.join(missing)})")


def _read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    try:
        rows = conn.execute("SELECT key, value FROM meta").fetchall()
    except sqlite3.OperationalError:  # a table named meta with other columns
        return {}
    return {str(key): str(value) for key, value in rows}


# --- failures ----------------------------------------------------------------------------------


def describe_failure(path: str, err: sqlite3.Error, *, writing: bool = True) -> str:
    """One line naming the file and what is wrong with it (``writing``: opened read-write, so a
    file or folder that cannot be written is why it fails)."""
    reason = str(err) or type(err).__name__
    if "file is not a database" in reason or "malformed" in reason:
        return f"local project {path} is not a reconciler database ({reason})"
    unwritable = writing and "unable to open" in reason and _unwritable(path)
    if "readonly database" in reason or unwritable:
        return f"local project {path} is read-only ({reason}); nothing was written"
    if "unable to open" in reason:
        return f"local project {path} cannot be opened ({reason})"
    return f"local project {path}: {reason}"


def _unwritable(path: str) -> bool:
    """True for an existing file that this process cannot write, or whose folder it cannot write
    (where SQLite keeps the ``-wal`` and ``-shm`` files)."""
    if not os.path.isfile(path):
        return False
    folder = os.path.dirname(os.path.abspath(path))
    return not (os.access(path, os.W_OK) and os.access(folder, os.W_OK))
