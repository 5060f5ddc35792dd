"""The stored routines: one row of the ``routines`` table, and reading and writing rows.

A row keeps the routine as the service returns it plus what the service never shows: the
``authorization`` identity fixed at creation, and the firing watermark (``last_checked``) and
``next_fire`` of ``reconciler.service.runs``. Every function here runs inside a transaction the
caller holds (``reconciler.service.connections``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.service import sqlite as sql
from reconciler.service.errors import not_found
from reconciler.service.requests import Desired
from reconciler.service.runs import next_fire

Json = dict[str, Any]


@dataclass(frozen=True)
class Routine:
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
    def from_row(cls, row: Sequence[Any]) -> Routine:
        """Build from a row selected with the columns of ``sqlite.SELECT_ROUTINE``."""
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


def trigger_type(triggers: Mapping[str, Any]) -> str:
    """The ``type`` of the (one) trigger, kept in its own column."""
    return str(next(iter(triggers.values())).get("type"))


def timer_instants(routine: Routine | None) -> dict[str, int]:
    """Trigger name -> timestamp of the routine's timers (empty for an absent routine)."""
    if routine is None:
        return {}
    return {
        name: int(t["at"])
        for name, t in routine.triggers.items()
        if t.get("type") == "timer" and isinstance(t.get("at"), int)
    }


def find(conn: sqlite3.Connection, project: str, name: str) -> Routine | None:
    """The routine, or None when it does not exist."""
    row = conn.execute(sql.SELECT_ROUTINE, (project, name)).fetchone()
    return Routine.from_row(row) if row is not None else None


def require(conn: sqlite3.Connection, project: str, name: str) -> Routine:
    """The routine; 404 when it does not exist."""
    found = find(conn, project, name)
    if found is None:
        raise not_found(name)
    return found


def known(conn: sqlite3.Connection, project: str, name: str) -> bool:
    """True when the routine exists or once existed and left runs behind."""
    if find(conn, project, name) is not None:
        return True
    return conn.execute(sql.SELECT_ANY_RUN, (project, name)).fetchone() is not None


def insert(conn: sqlite3.Connection, project: str, name: str, desired: Desired, now: float) -> None:
    """A new routine, created (and last checked) at ``now``."""
    conn.execute(
        sql.INSERT_ROUTINE,
        (
            project,
            name,
            desired.description,
            int(desired.enabled),
            json.dumps(desired.triggers),
            json.dumps(desired.action),
            desired.identity,
            trigger_type(desired.triggers),
            int(now),
            int(now),
            now,
            next_fire(desired.triggers, now),
        ),
    )


def update(conn: sqlite3.Connection, current: Routine, desired: Desired, now: float) -> None:
    """Full replace; ``authorization`` and ``created_at`` keep their values."""
    conn.execute(
        sql.UPDATE_ROUTINE,
        (
            desired.description,
            int(desired.enabled),
            json.dumps(desired.triggers),
            json.dumps(desired.action),
            trigger_type(desired.triggers),
            int(now),
            now,
            next_fire(desired.triggers, max(current.last_checked, now)),
            current.seq,
        ),
    )
