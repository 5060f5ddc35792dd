"""The ``runs`` table: writing a delivery's attempts, and reading a page of runs as of a time.

Every function runs inside a transaction the caller holds (``reconciler.service.connections``).
A row keeps one attempt's record as JSON with its lifecycle (``reconciler.service.attempts``);
reading shows each record as of the store's time, so an attempt not yet begun is skipped and a
filter matches what a reader sees (a queued run's ``status`` is SCHEDULED, not FINISHED).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler.service import failures
from reconciler.service import sqlite as sql
from reconciler.service.attempts import Draw, as_of, deliver
from reconciler.service.failures import AgentFailure
from reconciler.service.filters import Predicate

Json = dict[str, Any]
Delivery = tuple[str, Json]
"""The routine's name and the run record of one delivery (``runs.run_record``)."""


def insert_deliveries(
    conn: sqlite3.Connection,
    project: str,
    deliveries: Sequence[Delivery],
    now: float,
    draw: Draw,
    *,
    failing: Mapping[str, AgentFailure] | None = None,
) -> list[Json]:
    """Write every attempt of each delivery made at ``now``, against the injected agent
    failures (``failing``; default: the file's, read now); returns each delivery's first
    attempt."""
    if not deliveries:
        return []
    if failing is None:
        failing = failures.listed(conn)
    rows: list[tuple[str, str, str]] = []
    first: list[Json] = []
    for name, base in deliveries:
        attempts = deliver(base, now, failing.get(str(base.get("agent_id"))), draw)
        first.append(attempts[0])
        rows.extend((project, name, json.dumps(attempt)) for attempt in attempts)
    conn.executemany(sql.INSERT_RUN, rows)
    return first


def select_page(
    conn: sqlite3.Connection,
    project: str,
    name: str,
    *,
    order: str,
    key: tuple[int, ...],
    wanted: Predicate | None,
    count: int,
    now: float,
) -> list[tuple[int, Json]]:
    """The first ``count`` (seq, record) rows after the cursor ``key`` that exist at ``now``
    and that ``wanted`` matches, each as it reads at ``now``."""
    query = sql.LIST_RUNS_SELECT + sql.LIST_RUNS[(order, bool(key))]
    return _matching(conn.execute(query, (project, name, *key, -1)), wanted, count, now)


def _matching(
    selected: Iterable[tuple[Any, str]], wanted: Predicate | None, count: int, now: float
) -> list[tuple[int, Json]]:
    found: list[tuple[int, Json]] = []
    for seq, text in selected:
        record = as_of(json.loads(text), now)
        if record is not None and (wanted is None or wanted(record)):
            found.append((int(seq), record))
            if len(found) == count:
                break
    return found
