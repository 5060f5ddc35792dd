"""The project file: SQLite connections per thread and process, and transactions.

One connection per thread and process (a connection never crosses a fork: a child opens its
own, and leaves the parent's alone), every write inside ``BEGIN IMMEDIATE ... COMMIT`` and every
multi-statement read inside ``BEGIN ... COMMIT``; any SQLite failure becomes a one-line
``StoreError`` naming the file. Opening a writable file creates its folder, the schema (in an
empty file) and the ``locks`` table, checks that the file is ours and switches it to WAL.

``read_only=True`` opens an existing file with SQLite's ``mode=ro`` (commands that never write,
so that they work on read-only media) and refuses every write with "is read-only".
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from reconciler.service import locks
from reconciler.service import sqlite as sql
from reconciler.service.errors import StoreError


@dataclass(eq=False)
class _Handle:
    """A thread's connection and the process that opened it (connections never cross a fork)."""

    connection: sqlite3.Connection
    pid: int


class ProjectFile:
    """One SQLite project file, safe across threads and processes (``RoutineStore``'s base)."""

    def __init__(self, path: str, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self.empty = False  # read-only and the file holds no tables yet: an empty project
        self._immutable = False
        self._local = threading.local()
        self._handles: weakref.WeakSet[_Handle] = weakref.WeakSet()
        self._forked: list[_Handle] = []
        self._lock = threading.Lock()
        self._closed = False
        if not read_only:
            self._make_parent()
        try:
            self._initialize()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close every connection this store opened in this process."""
        with self._lock:
            self._closed = True
            handles = [h for h in self._handles if h.pid == os.getpid()]
        for handle in handles:
            handle.connection.close()

    # -- connections and transactions --

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use, and again after a fork)."""
        handle: _Handle | None = getattr(self._local, "handle", None)
        if handle is not None and handle.pid == os.getpid():
            return handle.connection
        if handle is not None:
            self._forked.append(handle)  # the parent's: never used nor closed here
        if self._closed:
            raise StoreError(f"local project {self.path} is closed")
        handle = _Handle(self._connect(), os.getpid())
        self._local.handle = handle
        # When the thread ends its handle goes; close the connection then, not at some later
        # garbage collection (sqlite3's statement cache makes every connection a cycle).
        weakref.finalize(handle, _close_in, handle.connection, handle.pid)
        with self._lock:
            self._handles.add(handle)
        return handle.connection

    def _connect(self) -> sqlite3.Connection:
        with self._errors():
            if self.read_only:
                return self._connect_read_only()
            return sql.open_connection(self.path, uri=False)

    def _connect_read_only(self) -> sqlite3.Connection:
        """``mode=ro``.  Reading a WAL file needs its ``-shm`` index, which SQLite cannot create
        in a read-only folder; when there is no ``-wal`` file (every change is in the main file)
        the file is read as ``immutable`` instead, which needs neither."""
        uri = Path(os.path.abspath(self.path)).as_uri() + "?mode=ro"
        if self._immutable:
            return sql.open_connection(uri + "&immutable=1", uri=True)
        conn = sql.open_connection(uri, uri=True)
        try:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.OperationalError as err:
            conn.close()
            if err.sqlite_errorcode != sqlite3.SQLITE_CANTOPEN or not os.path.isfile(self.path):
                raise
            if sql.has_wal(self.path):
                raise StoreError(
                    f"local project {self.path} cannot be read here: its {self.path}-wal file "
                    "holds changes, and reading them needs a -shm file that cannot be created "
                    "in this read-only folder (open it once where its folder is writable, and "
                    "SQLite moves the changes into the file)"
                ) from None
            self._immutable = True
            return sql.open_connection(uri + "&immutable=1", uri=True)
        return conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn SQLite failures into one-line ``StoreError`` naming the file."""
        try:
            yield
        except sqlite3.Error as err:
            message = sql.describe_failure(self.path, err, writing=not self.read_only)
            raise StoreError(message) from err

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        conn = self._connection()
        with self._errors():
            conn.execute(begin)
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        """All-or-nothing write: ``BEGIN IMMEDIATE ... COMMIT`` (ROLLBACK on any error)."""
        if self.read_only:
            raise StoreError(
                f"local project {self.path} is read-only (opened by a command that does not "
                "write); nothing was written"
            )
        return self._transaction("BEGIN IMMEDIATE")

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        """A consistent snapshot for reads that take more than one statement."""
        return self._transaction("BEGIN")

    # -- opening --

    def _make_parent(self) -> None:
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            reason = err.strerror or str(err)
            raise StoreError(f"local project {self.path} cannot be created ({reason})") from None

    def _initialize(self) -> None:
        """Create the schema in an empty file, or check that the file is ours."""
        conn = self._connection()
        with self._errors():
            if not sql.user_tables(conn):
                if self.read_only:  # nothing to read; apply would create the tables
                    self.empty = True
                    return
                with self._write() as tx:
                    if not sql.user_tables(tx):
                        sql.create_schema(tx)
            sql.check_schema(self.path, conn)
            if not self.read_only:
                sql.use_wal(conn)
                conn.execute(locks.CREATE)


def _close_in(connection: sqlite3.Connection, pid: int) -> None:
    """Close a finished thread's connection (never one inherited across a fork)."""
    if pid == os.getpid():
        connection.close()
