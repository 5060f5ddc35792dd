"""The embedded project: a SQLite file that behaves like the Foundry Routines service.

``RoutineStore`` is the service side shared by the ``local`` backend and the HTTP emulator, so
its errors carry HTTP semantics (``ServiceError``: status, code, message, param) and it enforces
the same rules as the real service (docs/design.md, "Service contract"): full-replace PUT,
``authorization`` on create only, run records kept after delete, exactly-once timers, disabled
routines that neither fire nor replay missed firings.

Storage: one SQLite file (WAL journal, 10 s busy timeout), one connection per thread and
process, every write inside ``BEGIN IMMEDIATE ... COMMIT``. A ``meta`` table stamps the file with
the application name and schema version; any other file is refused with ``StoreError``.
``read_only=True`` opens an existing file with SQLite's ``mode=ro`` (commands that never write,
so that they work on read-only media) and refuses every write with "is read-only".

Firing model: each routine carries a ``last_checked`` watermark and ``next_fire``, its first
firing after the watermark (NULL when it never fires again). ``fire_due(now)`` visits only enabled
routines whose ``next_fire`` has passed (an index lookup, not a scan), writes a run for every
firing in ``(last_checked, now]`` and moves their watermark to ``now``. Before a routine is
changed (PUT, enable, disable, delete) it is first settled up to the current time under its old
definition, so a firing belongs to the definition that was live at its instant: a routine
disabled for an hour does not replay that hour when it is enabled again, and a schedule edited at
10:03 does not fire its new 10:01 slot retroactively.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from reconciler.contract import limits
from reconciler.contract.firing import firings, next_firing
from reconciler.contract.rules import check_name, check_routine
from reconciler.contract.schema_errors import problems
from reconciler.contract.timer import resolve_at
from reconciler.live import store_locks
from reconciler.live.locking import LockHolder
from reconciler.manifest.schema import validator_for

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "FIRE_MAX_PER_ROUTINE",
    "SCHEMA_VERSION",
    "SYSTEM_CLOCK",
    "Clock",
    "RoutineStore",
    "ServiceError",
    "StoreError",
    "SystemClock",
]

Json = dict[str, Any]
Page = tuple[list[Json], str | None]
PathParts = Sequence[str | int]

APPLICATION: Final = "reconciler"
SCHEMA_VERSION: Final = 1
DEFAULT_PAGE_SIZE: Final = 20
FIRE_MAX_PER_ROUTINE: Final = 1000
BUSY_TIMEOUT_SECONDS: Final = 10.0
_OUR_TABLES: Final = frozenset({"meta", "routines", "runs"})
_ORDERS: Final = ("asc", "desc")
_DELIVERY_SOURCE: Final = {"schedule": "schedule_delivery", "timer": "timer_delivery"}


# --- errors --------------------------------------------------------------------------------


def error_type(status: int) -> str:
    """The ``type`` of an error body, from its status (OpenAI-style names)."""
    names = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
    if status >= 500:
        return "server_error"
    return names.get(status, "invalid_request_error")


class ServiceError(Exception):
    """A request the service refuses, with the HTTP status and the REST error body's fields."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        param: str | None = None,
        details: list[Json] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.details = details or []

    def to_body(self) -> Json:
        """The REST error body: ``{"error": {code, message, param, type[, details]}}``."""
        error: Json = {
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "type": error_type(self.status),
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}


class StoreError(Exception):
    """The SQLite file cannot serve as a local project; the message is one line naming it."""


def _detail(param: str | None, message: str) -> Json:
    return {"code": "invalid_value", "message": message, "param": param}


def _param(path: PathParts) -> str | None:
    """Dotted field path (``triggers.daily.cron_expression``), None for the whole body."""
    return ".".join(str(part) for part in path) or None


def _invalid(details: list[Json]) -> ServiceError:
    """A 400 carrying the first problem's message and param, and every problem in details."""
    first = details[0]
    return ServiceError(400, "invalid_value", first["message"], first["param"], details)


def _bad_argument(param: str, message: str) -> ServiceError:
    return ServiceError(400, "invalid_value", message, param)


def _not_found(name: str) -> ServiceError:
    return ServiceError(404, "not_found", f"routine {name!r} not found")


# --- clocks --------------------------------------------------------------------------------


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


# --- request validation ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Desired:
    """A validated PUT body, reduced to what the store keeps."""

    description: str
    enabled: bool
    triggers: Json
    action: Json
    identity: str


def _validate_put(
    name: str, body: object, now: int, current_at: Mapping[str, int] | None = None
) -> _Desired:
    """Every check of ``PUT /routines/{name}``, in the service's order; raises 400."""
    name_problems = [_detail("name", v.message) for v in check_name(name)]
    if name_problems:
        raise _invalid(name_problems)
    if not isinstance(body, dict):
        raise _invalid([_detail(None, "the request body must be a JSON object")])
    body_name = body.get("name")
    if body_name is not None and body_name != name:
        message = f"name {body_name!r} in the body does not match {name!r} in the path"
        raise _invalid([_detail("name", message)])
    schema = [_detail(_param(p.path), p.message) for p in problems(validator_for("wire"), body)]
    if schema:
        raise _invalid(schema)
    without_name = {key: value for key, value in body.items() if key != "name"}
    found = [
        v
        for v in check_routine(without_name, now=now, current_at=current_at)
        if v.severity == "error"
    ]
    rules = [_detail(_param(v.path), v.message) for v in found]
    if rules:
        raise _invalid(rules)
    return _desired(body, now)


def _desired(body: Mapping[str, Any], now: int) -> _Desired:
    """Defaults for omitted fields (full replace) and timers resolved to unix seconds."""
    authorization = body.get("authorization") or {}
    return _Desired(
        description=body.get("description") or "",
        enabled=body.get("enabled") is not False,
        triggers={key: _resolved_trigger(value, now) for key, value in body["triggers"].items()},
        action=dict(body["action"]),
        identity=str(authorization.get("identity") or "agent"),
    )


def _resolved_trigger(trigger: Mapping[str, Any], now: int) -> Json:
    """A copy of ``trigger`` whose timer ``at`` (int, ISO text or duration) is an integer."""
    resolved = dict(trigger)
    if resolved.get("type") == "timer":
        resolved["at"] = resolve_at(resolved["at"], None, now).epoch
    return resolved


def _timer_instants(routine: _Routine | None) -> dict[str, int]:
    """Trigger name -> timestamp of the routine's timers (empty for an absent routine)."""
    if routine is None:
        return {}
    return {
        name: int(t["at"])
        for name, t in routine.triggers.items()
        if t.get("type") == "timer" and isinstance(t.get("at"), int)
    }


def _check_page_args(limit: int | None, order: str) -> int:
    """The page size to use; 400 for a limit outside 1..LIST_PAGE_MAX or an unknown order."""
    if order not in _ORDERS:
        raise _bad_argument("order", f"order must be 'asc' or 'desc', not {order!r}")
    if limit is None:
        return DEFAULT_PAGE_SIZE
    if (
        isinstance(limit, bool)
        or not isinstance(limit, int)
        or not 1 <= limit <= limits.LIST_PAGE_MAX
    ):
        raise _bad_argument(
            "limit", f"limit must be an integer from 1 to {limits.LIST_PAGE_MAX}, not {limit!r}"
        )
    return limit


# --- cursors ---------------------------------------------------------------------------------


def _encode_cursor(kind: str, *numbers: int) -> str:
    """Opaque, URL-safe cursor text of a sort key."""
    text = ":".join([kind, *(str(n) for n in numbers)])
    return base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str, kind: str, size: int) -> tuple[int, ...]:
    """The sort key inside a cursor from ``_encode_cursor``; 400 (param ``after``) otherwise."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        found, *numbers = text.split(":")
        if found != kind or len(numbers) != size:
            raise ValueError(text)
        return tuple(int(number) for number in numbers)
    except (ValueError, UnicodeError, binascii.Error):
        shown = cursor if len(cursor) <= 60 else cursor[:60] + "..."
        message = f"after {shown!r} is not a cursor returned by this list"
        raise _bad_argument("after", message) from None


# --- stored rows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Routine:
    """One row of the ``routines`` table."""

    seq: int
    project: str
    name: str
    description: str
    enabled: bool
    triggers: Json
    action: Json
    identity: str
    created_at: int
    updated_at: int
    last_checked: float

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> _Routine:
        """Build from a row selected with ``_ROUTINE_COLUMNS``."""
        seq, project, name, description, enabled, triggers, action, identity, *times = row
        created_at, updated_at, last_checked = times
        return cls(
            seq=int(seq),
            project=str(project),
            name=str(name),
            description=str(description),
            enabled=bool(enabled),
            triggers=json.loads(triggers),
            action=json.loads(action),
            identity=str(identity),
            created_at=int(created_at),
            updated_at=int(updated_at),
            last_checked=float(last_checked),
        )

    def to_wire(self) -> Json:
        """The Routine JSON the service returns (never ``authorization``)."""
        return {
            "name": self.name,
            "description": self.description,
            "enabled": self.enabled,
            "triggers": self.triggers,
            "action": self.action,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    def trigger(self) -> tuple[str, Json]:
        """The routine's one trigger: name and definition."""
        name, trigger = next(iter(self.triggers.items()))
        return str(name), dict(trigger)


def _trigger_type(triggers: Mapping[str, Any]) -> str:
    return str(next(iter(triggers.values())).get("type"))


def _new_id() -> str:
    return str(uuid.uuid4())


def _run_record(
    routine: _Routine,
    *,
    source: str,
    now: float,
    scheduled_fire_at: int | None = None,
    dispatch_id: str | None = None,
) -> Json:
    """A completed RoutineRun (docs/design.md, "Service contract"); unknown values are null."""
    action = routine.action
    trigger_name, trigger = routine.trigger() if source != "manual_dispatch" else (None, {})
    at = int(now)
    return {
        "id": _new_id(),
        "status": "completed",
        "phase": "completed",
        "trigger_type": trigger.get("type"),
        "trigger_name": trigger_name,
        "attempt_source": source,
        "action_type": action.get("type"),
        "agent_id": action.get("agent_name") or action.get("agent_endpoint_id"),
        "conversation_id": action.get("conversation"),
        "session_id": action.get("session_id"),
        "triggered_at": at,
        "scheduled_fire_at": scheduled_fire_at,
        "started_at": at,
        "ended_at": at,
        "dispatch_id": dispatch_id,
        "action_correlation_id": _new_id(),
        "response_id": None,
        "task_id": _new_id(),
        "error_status_code": None,
        "error_type": None,
        "error_message": None,
    }


def _due_instants(routine: _Routine, now: float) -> list[int]:
    """Fire instants of ``routine`` in ``(last_checked, now]``, at most FIRE_MAX_PER_ROUTINE
    (the one firing definition, ``contract.firing``)."""
    _, trigger = routine.trigger()
    return firings(trigger, routine.last_checked, now, limit=FIRE_MAX_PER_ROUTINE)


def _next_fire(triggers: Mapping[str, Any], after: float) -> float | None:
    """The first firing strictly after ``after`` (None: a timer that passed, or no schedule)."""
    for trigger in triggers.values():
        found = next_firing(trigger, after)
        return None if found is None else float(found)
    return None


# --- SQL ---------------------------------------------------------------------------------------

_CREATE_TABLES: Final = (
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

_SELECT_ROUTINE: Final = (
    "SELECT seq, project, name, description, enabled, triggers, action, identity, "
    "created_at, updated_at, last_checked FROM routines WHERE project = ? AND name = ?"
)
_SELECT_DUE: Final = (
    "SELECT seq, project, name, description, enabled, triggers, action, identity, "
    "created_at, updated_at, last_checked FROM routines "
    "WHERE enabled = 1 AND next_fire IS NOT NULL AND next_fire <= ? ORDER BY seq"
)
_INSERT_ROUTINE: Final = (
    "INSERT INTO routines (project, name, description, enabled, triggers, action, identity, "
    "trigger_type, created_at, updated_at, last_checked, next_fire) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_ROUTINE: Final = (
    "UPDATE routines SET description = ?, enabled = ?, triggers = ?, action = ?, "
    "trigger_type = ?, updated_at = ?, last_checked = MAX(last_checked, ?), next_fire = ? "
    "WHERE seq = ?"
)
_INSERT_RUN: Final = "INSERT INTO runs (project, routine, record) VALUES (?, ?, ?)"
_MOVE_WATERMARK: Final = "UPDATE routines SET last_checked = ?, next_fire = ? WHERE seq = ?"

# (order, has cursor) -> query; parameters: project[, created_at, seq], limit
_LIST_ROUTINES: Final = {
    ("asc", False): "WHERE project = ? ORDER BY created_at, seq LIMIT ?",
    ("asc", True): "WHERE project = ? AND (created_at, seq) > (?, ?) ORDER BY created_at, seq "
    "LIMIT ?",
    ("desc", False): "WHERE project = ? ORDER BY created_at DESC, seq DESC LIMIT ?",
    ("desc", True): "WHERE project = ? AND (created_at, seq) < (?, ?) "
    "ORDER BY created_at DESC, seq DESC LIMIT ?",
}
_LIST_ROUTINES_SELECT: Final = (
    "SELECT seq, project, name, description, enabled, triggers, action, identity, "
    "created_at, updated_at, last_checked FROM routines "
)
# (order, has cursor) -> query; parameters: project, routine[, seq], limit
_LIST_RUNS: Final = {
    ("asc", False): "WHERE project = ? AND routine = ? ORDER BY seq LIMIT ?",
    ("asc", True): "WHERE project = ? AND routine = ? AND seq > ? ORDER BY seq LIMIT ?",
    ("desc", False): "WHERE project = ? AND routine = ? ORDER BY seq DESC LIMIT ?",
    ("desc", True): "WHERE project = ? AND routine = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
}
_LIST_RUNS_SELECT: Final = "SELECT seq, record FROM runs "


@dataclass(eq=False)
class _Handle:
    """A thread's connection and the process that opened it (connections never cross a fork)."""

    connection: sqlite3.Connection
    pid: int


# --- the store -------------------------------------------------------------------------------


class RoutineStore:
    """Routines and their runs, per project, in one SQLite file; safe across threads/processes."""

    def __init__(self, path: str, clock: Clock = SYSTEM_CLOCK, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self.empty = False  # read-only and the file holds no tables yet: an empty project
        self._immutable = False
        self._clock = clock
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

    # -- routines --

    def put(self, project: str, name: str, body: Json) -> Json:
        """Create or fully replace a routine (``PUT /routines/{name}``)."""
        now = self._clock.now()
        with self._read() as conn:
            existing = self._find(conn, project, name)
        desired = _validate_put(name, body, int(now), _timer_instants(existing))
        with self._write() as conn:
            current = self._find(conn, project, name)
            if current is None:
                self._insert(conn, project, name, desired, now)
            else:
                self._settle(conn, current, now)
                self._update(conn, current, desired, now)
            return self._require(conn, project, name).to_wire()

    def get(self, project: str, name: str) -> Json:
        """One routine; 404 when absent."""
        with self._read() as conn:
            return self._require(conn, project, name).to_wire()

    def authorization_of(self, project: str, name: str) -> str:
        """The identity fixed at creation (``agent`` or ``creator``); never in the Routine JSON."""
        with self._read() as conn:
            return self._require(conn, project, name).identity

    def delete(self, project: str, name: str) -> None:
        """Delete a routine; 404 when absent. Its run records are kept."""
        now = self._clock.now()
        with self._write() as conn:
            current = self._require(conn, project, name)
            self._settle(conn, current, now)
            conn.execute("DELETE FROM routines WHERE seq = ?", (current.seq,))

    def set_enabled(self, project: str, name: str, enabled: bool) -> Json:
        """Enable or disable (``:enable`` / ``:disable``); bumps ``updated_at``; 404 when absent."""
        now = self._clock.now()
        with self._write() as conn:
            current = self._require(conn, project, name)
            self._settle(conn, current, now)
            conn.execute(
                "UPDATE routines SET enabled = ?, updated_at = ? WHERE seq = ?",
                (int(enabled), int(now), current.seq),
            )
            return self._require(conn, project, name).to_wire()

    def list(
        self,
        project: str,
        *,
        limit: int | None = None,
        after: str | None = None,
        order: str = "asc",
    ) -> Page:
        """One page of routines by creation time, and the cursor of the next page (or None)."""
        size = _check_page_args(limit, order)
        key = _decode_cursor(after, "r", 2) if after is not None else ()
        query = _LIST_ROUTINES_SELECT + _LIST_ROUTINES[(order, bool(key))]
        with self._read() as conn:
            rows = conn.execute(query, (project, *key, size + 1)).fetchall()
        found = [_Routine.from_row(row) for row in rows]
        last = found[size - 1] if len(found) > size else None
        cursor = _encode_cursor("r", last.created_at, last.seq) if last is not None else None
        return [routine.to_wire() for routine in found[:size]], cursor

    # -- runs --

    def dispatch(self, project: str, name: str, payload: Json | None = None) -> Json:
        """Queue one manual run (``:dispatch_async``); 404 absent, 409 disabled, 400 bad payload."""
        now = self._clock.now()
        with self._write() as conn:
            routine = self._require(conn, project, name)
            if not routine.enabled:
                message = f"routine {name!r} is disabled; enable it before dispatching"
                raise ServiceError(409, "routine_disabled", message)
            _check_payload(payload, str(routine.action.get("type")))
            dispatch_id = _new_id()
            record = _run_record(
                routine, source="manual_dispatch", now=now, dispatch_id=dispatch_id
            )
            conn.execute(_INSERT_RUN, (project, name, json.dumps(record)))
        return {
            "dispatch_id": dispatch_id,
            "action_correlation_id": record["action_correlation_id"],
            "task_id": record["task_id"],
        }

    def list_runs(
        self,
        project: str,
        name: str,
        *,
        limit: int | None = None,
        after: str | None = None,
        order: str = "desc",
    ) -> Page:
        """One page of a routine's runs (newest first by default) and the next cursor."""
        size = _check_page_args(limit, order)
        key = _decode_cursor(after, "u", 1) if after is not None else ()
        query = _LIST_RUNS_SELECT + _LIST_RUNS[(order, bool(key))]
        with self._read() as conn:
            rows = conn.execute(query, (project, name, *key, size + 1)).fetchall()
            if not rows and not self._known(conn, project, name):
                raise _not_found(name)
        cursor = _encode_cursor("u", int(rows[size - 1][0])) if len(rows) > size else None
        return [json.loads(record) for _, record in rows[:size]], cursor

    def fire_due(self, now: float) -> int:
        """Write a run for every due firing of enabled schedule/timer routines; count them."""
        with self._write() as conn:
            due = [_Routine.from_row(row) for row in conn.execute(_SELECT_DUE, (now,))]
            written = 0
            for routine in due:
                written += self._fire(conn, routine, now)
                conn.execute(_MOVE_WATERMARK, (now, _next_fire(routine.triggers, now), routine.seq))
        return written

    # -- stack locks (one apply per stack at a time) --

    def acquire_lock(self, project: str, stack: str, holder: LockHolder) -> None:
        """Take ``stack``'s lock; raises ``LockHeld`` while another live apply holds it."""
        with self._write() as conn:
            store_locks.acquire(conn, project, stack, holder)

    def renew_lock(self, project: str, stack: str, holder: LockHolder) -> None:
        """Refresh the heartbeat of the holder's lock."""
        with self._write() as conn:
            store_locks.renew(conn, project, stack, holder)

    def release_lock(self, project: str, stack: str, holder: LockHolder) -> None:
        """Release the holder's lock."""
        with self._write() as conn:
            store_locks.release(conn, project, stack, holder)

    # -- lifecycle --

    def close(self) -> None:
        """Close every connection this store opened in this process."""
        with self._lock:
            self._closed = True
            handles = [h for h in self._handles if h.pid == os.getpid()]
        for handle in handles:
            handle.connection.close()

    def __enter__(self) -> RoutineStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- row helpers --

    def _find(self, conn: sqlite3.Connection, project: str, name: str) -> _Routine | None:
        row = conn.execute(_SELECT_ROUTINE, (project, name)).fetchone()
        return _Routine.from_row(row) if row is not None else None

    def _require(self, conn: sqlite3.Connection, project: str, name: str) -> _Routine:
        found = self._find(conn, project, name)
        if found is None:
            raise _not_found(name)
        return found

    def _known(self, conn: sqlite3.Connection, project: str, name: str) -> bool:
        """True when the routine exists or once existed and left runs behind."""
        if self._find(conn, project, name) is not None:
            return True
        query = "SELECT 1 FROM runs WHERE project = ? AND routine = ? LIMIT 1"
        return conn.execute(query, (project, name)).fetchone() is not None

    @staticmethod
    def _insert(
        conn: sqlite3.Connection, project: str, name: str, desired: _Desired, now: float
    ) -> None:
        conn.execute(
            _INSERT_ROUTINE,
            (
                project,
                name,
                desired.description,
                int(desired.enabled),
                json.dumps(desired.triggers),
                json.dumps(desired.action),
                desired.identity,
                _trigger_type(desired.triggers),
                int(now),
                int(now),
                now,
                _next_fire(desired.triggers, now),
            ),
        )

    @staticmethod
    def _update(conn: sqlite3.Connection, current: _Routine, desired: _Desired, now: float) -> None:
        """Full replace; ``authorization`` and ``created_at`` keep their values."""
        conn.execute(
            _UPDATE_ROUTINE,
            (
                desired.description,
                int(desired.enabled),
                json.dumps(desired.triggers),
                json.dumps(desired.action),
                _trigger_type(desired.triggers),
                int(now),
                now,
                _next_fire(desired.triggers, max(current.last_checked, now)),
                current.seq,
            ),
        )

    def _settle(self, conn: sqlite3.Connection, routine: _Routine, now: float) -> None:
        """Fire what fell due under the routine's current definition, then move its watermark."""
        if routine.last_checked >= now:
            return
        if routine.enabled:
            self._fire(conn, routine, now)
        conn.execute(_MOVE_WATERMARK, (now, _next_fire(routine.triggers, now), routine.seq))

    @staticmethod
    def _fire(conn: sqlite3.Connection, routine: _Routine, now: float) -> int:
        """Insert one run per due firing of ``routine``; return how many."""
        instants = _due_instants(routine, now)
        if not instants:
            return 0
        source = _DELIVERY_SOURCE[str(routine.trigger()[1].get("type"))]
        records = [
            _run_record(routine, source=source, now=now, scheduled_fire_at=instant)
            for instant in instants
        ]
        conn.executemany(
            _INSERT_RUN,
            [(routine.project, routine.name, json.dumps(record)) for record in records],
        )
        return len(records)

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
        with self._lock:
            self._handles.add(handle)
        return handle.connection

    def _connect(self) -> sqlite3.Connection:
        with self._errors():
            if self.read_only:
                return self._connect_read_only()
            return _open(self.path, uri=False)

    def _connect_read_only(self) -> sqlite3.Connection:
        """``mode=ro``.  Reading a WAL file needs its ``-shm`` index, which SQLite cannot create
        in a read-only folder; when there is no ``-wal`` file (every change is in the main file)
        the file is read as ``immutable`` instead, which needs neither."""
        uri = Path(os.path.abspath(self.path)).as_uri() + "?mode=ro"
        if self._immutable:
            return _open(uri + "&immutable=1", uri=True)
        conn = _open(uri, uri=True)
        try:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.OperationalError as err:
            conn.close()
            if err.sqlite_errorcode != sqlite3.SQLITE_CANTOPEN or not os.path.isfile(self.path):
                raise
            if _has_wal(self.path):
                raise StoreError(
                    f"local project {self.path} cannot be read here: its {self.path}-wal file "
                    "holds changes, and reading them needs a -shm file that cannot be created "
                    "in this read-only folder (open it once where its folder is writable, and "
                    "SQLite moves the changes into the file)"
                ) from None
            self._immutable = True
            return _open(uri + "&immutable=1", uri=True)
        return conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn SQLite failures into one-line ``StoreError`` naming the file."""
        try:
            yield
        except sqlite3.Error as err:
            raise StoreError(_describe_failure(self.path, err, writing=not self.read_only)) from err

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
            if not _user_tables(conn):
                if self.read_only:  # nothing to read; apply would create the tables
                    self.empty = True
                    return
                with self._write() as tx:
                    if not _user_tables(tx):
                        _create_schema(tx)
            _check_schema(self.path, conn)
            if not self.read_only:
                _use_wal(conn)
                conn.execute(store_locks.CREATE)


def _open(target: str, *, uri: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(
        target,
        timeout=BUSY_TIMEOUT_SECONDS,
        isolation_level=None,
        check_same_thread=False,
        uri=uri,
    )
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
    return conn


def _has_wal(path: str) -> bool:
    """True when a ``-wal`` file may hold changes not yet in the main file."""
    try:
        return os.path.getsize(f"{path}-wal") > 0
    except OSError:
        return False


def _check_payload(payload: object, action_type: str) -> None:
    """A dispatch payload is optional; when given, its ``type`` must be the action's."""
    if payload is None:
        return
    if not isinstance(payload, dict):
        raise _bad_argument("payload", "payload must be a JSON object")
    given = payload.get("type")
    if given != action_type:
        message = f"payload type {given!r} does not match the routine's action type {action_type!r}"
        raise _bad_argument("payload.type", message)


def _user_tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    ).fetchall()
    return [str(row[0]) for row in rows]


def _create_schema(conn: sqlite3.Connection) -> None:
    for statement in _CREATE_TABLES:
        conn.execute(statement)
    conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)",
        [("application", APPLICATION), ("schema_version", str(SCHEMA_VERSION))],
    )


def _check_schema(path: str, conn: sqlite3.Connection) -> None:
    """Refuse a database of another application, another schema version, or a damaged one."""
    tables = _user_tables(conn)
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
    missing = sorted(_OUR_TABLES - set(tables))
    if missing:
        raise StoreError(f"local project {path} is damaged (missing table {', '.join(missing)})")


def _read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    try:
        rows = conn.execute("SELECT key, value FROM meta").fetchall()
    except sqlite3.OperationalError:  # a table named meta with other columns
        return {}
    return {str(key): str(value) for key, value in rows}


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL once (persistent); retry while another process holds a lock."""
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _describe_failure(path: str, err: sqlite3.Error, *, writing: bool = True) -> str:
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
