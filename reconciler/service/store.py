"""The embedded project: a SQLite file that behaves like the Foundry Routines service.

``RoutineStore`` is the service side shared by the ``local`` backend and the HTTP emulator, so
its errors carry HTTP semantics (``ServiceError``: status, code, message, param) and it enforces
the same rules as the real service (docs/design.md, "Service contract"): full-replace PUT,
``authorization`` on create only, run records kept after delete, exactly-once timers, disabled
routines that neither fire nor replay missed firings.

Every operation reads the time once from the store's ``Clock`` and runs in one transaction of
``ProjectFile`` (``reconciler.service.connections``). Before a routine is changed it is settled
up to that time under its old definition (the firing model of ``reconciler.service.runs``).
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler.contract.agents import AgentInfo
from reconciler.contract.locks import LockHolder
from reconciler.service import agents, failures, locks, rows
from reconciler.service import sqlite as sql
from reconciler.service.clock import SYSTEM_CLOCK, Clock
from reconciler.service.connections import ProjectFile
from reconciler.service.cursors import decode_cursor, encode_cursor
from reconciler.service.errors import ServiceError, not_found
from reconciler.service.events import event_record, matches, parse_event
from reconciler.service.failures import AgentFailure
from reconciler.service.filters import run_filter
from reconciler.service.requests import check_page_args, check_payload, validate_put
from reconciler.service.rows import Routine
from reconciler.service.run_rows import insert_deliveries, select_page
from reconciler.service.runs import due_records, new_id, next_fire, run_record
from reconciler.service.timers import (
    DEFAULT_TIMER_AFTER_FIRE,
    DISABLE_FIRED,
    TimerAfterFire,
    check_mode,
    turned_off,
)

Json = dict[str, Any]
Page = tuple[list[Json], str | None]
Fired = list[tuple[str, Json]]


class RoutineStore(ProjectFile):
    """Routines and their runs, per project, in one SQLite file; safe across threads/processes."""

    def __init__(
        self,
        path: str,
        clock: Clock = SYSTEM_CLOCK,
        *,
        read_only: bool = False,
        timer_after_fire: TimerAfterFire = DEFAULT_TIMER_AFTER_FIRE,
        rng: random.Random | None = None,
    ) -> None:
        self._clock = clock
        self._draw = (rng or random.Random()).random  # noqa: S311 - injected failures only
        """Draws the outcome of an attempt against an agent's failure rate."""
        self.timer_after_fire = check_mode(timer_after_fire)
        """What a routine becomes once its timer fired (``reconciler.service.timers``)."""
        super().__init__(path, read_only=read_only)

    # -- routines --

    def put(self, project: str, name: str, body: Json) -> Json:
        """Create or fully replace a routine (``PUT /routines/{name}``)."""
        now = self._clock.now()
        with self._read() as conn:
            existing = rows.find(conn, project, name)
        desired = validate_put(name, body, int(now), rows.timer_instants(existing))
        with self._write() as conn:
            agents.check_put(conn, desired.action)
            current = rows.find(conn, project, name)
            if current is None:
                rows.insert(conn, project, name, desired, now)
            else:
                self._settle(conn, current, now)
                rows.update(conn, current, desired, now)
            return rows.require(conn, project, name).to_wire()

    def get(self, project: str, name: str) -> Json:
        """One routine; 404 when absent."""
        now = self._clock.now()
        with self._read() as conn:
            return self._shown(rows.require(conn, project, name), now)

    def authorization_of(self, project: str, name: str) -> str:
        """The identity fixed at creation (``agent`` or ``creator``); never in the Routine JSON."""
        with self._read() as conn:
            return rows.require(conn, project, name).identity

    def delete(self, project: str, name: str) -> None:
        """Delete a routine; 404 when absent. Its run records are kept."""
        now = self._clock.now()
        with self._write() as conn:
            current = rows.require(conn, project, name)
            self._settle(conn, current, now)
            conn.execute(sql.DELETE_ROUTINE, (current.seq,))

    def set_enabled(self, project: str, name: str, enabled: bool) -> Json:
        """Enable or disable (``:enable`` / ``:disable``); bumps ``updated_at``; 404 when absent."""
        now = self._clock.now()
        with self._write() as conn:
            current = rows.require(conn, project, name)
            self._settle(conn, current, now)
            conn.execute(sql.SET_ENABLED, (int(enabled), int(now), current.seq))
            return rows.require(conn, project, name).to_wire()

    def list(
        self,
        project: str,
        *,
        limit: int | None = None,
        after: str | None = None,
        order: str = "asc",
    ) -> Page:
        """One page of routines by creation time, and the cursor of the next page (or None)."""
        size = check_page_args(limit, order)
        now = self._clock.now()
        key = decode_cursor(after, "r", 2) if after is not None else ()
        query = sql.LIST_ROUTINES_SELECT + sql.LIST_ROUTINES[(order, bool(key))]
        with self._read() as conn:
            selected = conn.execute(query, (project, *key, size + 1)).fetchall()
        found = [Routine.from_row(row) for row in selected]
        last = found[size - 1] if len(found) > size else None
        cursor = encode_cursor("r", last.created_at, last.seq) if last is not None else None
        return [self._shown(routine, now) for routine in found[:size]], cursor

    # -- runs --

    def dispatch(self, project: str, name: str, payload: Json | None = None) -> Json:
        """Queue one manual run (``:dispatch_async``); 404 absent, 409 disabled, 400 bad payload."""
        now = self._clock.now()
        with self._write() as conn:
            routine = rows.require(conn, project, name)
            if not routine.enabled or turned_off(routine, now, self.timer_after_fire):
                message = f"routine {name!r} is disabled; enable it before dispatching"
                raise ServiceError(409, "routine_disabled", message)
            check_payload(payload, str(routine.action.get("type")))
            dispatch_id = new_id()
            record = run_record(routine, source="manual_dispatch", now=now, dispatch_id=dispatch_id)
            insert_deliveries(conn, project, [(name, record)], now, self._draw)
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
        filter_expression: str | None = None,
    ) -> Page:
        """One page of a routine's runs (newest first by default) and the next cursor, each as it
        reads now (``reconciler.service.attempts``); with a filter (MLflow's syntax, the subset
        of ``reconciler.service.filters``), only the runs it matches, so a page is never
        emptied by filtering while more runs match."""
        size = check_page_args(limit, order)
        wanted = run_filter(filter_expression)
        key = decode_cursor(after, "u", 1) if after is not None else ()
        now = self._clock.now()
        with self._read() as conn:
            found = select_page(
                conn, project, name, order=order, key=key, wanted=wanted, count=size + 1, now=now
            )
            if not found and not rows.known(conn, project, name):
                raise not_found(name)
        cursor = encode_cursor("u", found[size - 1][0]) if len(found) > size else None
        return [record for _, record in found[:size]], cursor

    def fire_due(self, now: float) -> int:
        """Write a run for every due firing of enabled schedule/timer routines; count them."""
        with self._write() as conn:
            due = [Routine.from_row(row) for row in conn.execute(sql.SELECT_DUE, (now,))]
            failing = failures.listed(conn) if due else {}
            written = 0
            for routine in due:
                written += self._fire_settled(conn, routine, now, failing)
                watermark = (now, next_fire(routine.triggers, now), routine.seq)
                conn.execute(sql.MOVE_WATERMARK, watermark)
        return written

    def fire_event(self, project: str, event: object) -> Fired:
        """Write an ``event_fire`` run for every enabled routine of ``project`` whose trigger
        takes ``event`` (``reconciler.service.events``); returns (routine, run) pairs."""
        checked = parse_event(event)
        now = self._clock.now()
        with self._write() as conn:
            selected = conn.execute(sql.SELECT_EVENT_ROUTINES, (project, checked.type))
            taken = [
                routine
                for routine in map(Routine.from_row, selected.fetchall())
                if matches(checked, routine.trigger()[1])
            ]
            made = [(routine.name, event_record(routine, checked, now)) for routine in taken]
            first = insert_deliveries(conn, project, made, now, self._draw)
        return [(name, run) for (name, _), run in zip(made, first, strict=True)]

    # -- the agent registry (``reconciler.service.agents``; shared by every project) --

    def get_agent(self, name: str) -> AgentInfo | None:
        """The agent as ``GET /agents/{agent_name}`` shows it; None when it does not exist."""
        with self._read() as conn:
            return agents.find(conn, name)

    def replace_agents(self, registered: Sequence[AgentInfo]) -> int:
        """Make the registry exactly ``registered`` (empty: permissive); returns the count."""
        with self._write() as conn:
            return agents.replace(conn, registered)

    def list_agents(self) -> Sequence[AgentInfo]:
        """The registered agents, by name (empty: the registry is permissive)."""
        with self._read() as conn:
            return agents.listed(conn)

    # -- injected agent failures (``reconciler.service.failures``; shared by every project) --

    def replace_failures(self, failing: Sequence[AgentFailure]) -> int:
        """Make the injected agent failures exactly ``failing`` (empty: none); the count."""
        with self._write() as conn:
            return failures.replace(conn, failing)

    def list_failures(self) -> tuple[AgentFailure, ...]:
        """The injected agent failures, by agent."""
        with self._read() as conn:
            return tuple(failures.listed(conn).values())

    # -- stack locks (one apply per stack at a time) --

    def acquire_lock(self, project: str, stack: str, holder: LockHolder) -> None:
        """Take ``stack``'s lock; raises ``LockHeld`` while another live apply holds it."""
        with self._write() as conn:
            locks.acquire(conn, project, stack, holder)

    def renew_lock(self, project: str, stack: str, holder: LockHolder) -> bool:
        """Refresh the heartbeat of the holder's lock; False when it is no longer theirs."""
        with self._write() as conn:
            return locks.renew(conn, project, stack, holder)

    def release_lock(self, project: str, stack: str, holder: LockHolder) -> None:
        """Release the holder's lock."""
        with self._write() as conn:
            locks.release(conn, project, stack, holder)

    # -- lifecycle --

    def __enter__(self) -> RoutineStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- firing --

    def _settle(self, conn: sqlite3.Connection, routine: Routine, now: float) -> None:
        """Fire what fell due under the routine's current definition, then move its watermark."""
        if routine.last_checked >= now:
            return
        if routine.enabled:
            self._fire_settled(conn, routine, now)
        conn.execute(sql.MOVE_WATERMARK, (now, next_fire(routine.triggers, now), routine.seq))

    def _shown(self, routine: Routine, now: float) -> Json:
        """The routine as a read returns it: a timer routine that fired its last firing since
        it was settled already shows what settling it will do (``timer_after_fire``)."""
        wire = routine.to_wire()
        if turned_off(routine, now, self.timer_after_fire):
            wire["enabled"] = False
        return wire

    def _fire_settled(
        self,
        conn: sqlite3.Connection,
        routine: Routine,
        now: float,
        failing: Mapping[str, AgentFailure] | None = None,
    ) -> int:
        """Write the attempts of each due firing of ``routine`` (count the firings), then
        disable a timer routine that fired its last firing (``disable``)."""
        made = [(routine.name, record) for record in due_records(routine, now)]
        insert_deliveries(conn, routine.project, made, now, self._draw, failing=failing)
        if turned_off(routine, now, self.timer_after_fire):
            conn.execute(DISABLE_FIRED, (routine.seq,))
        return len(made)
