"""The agent registry of the embedded project and the emulator (one per SQLite file).

An ``agents`` table (name, kind, state, identity) that a file gains when agents are first loaded
(``CREATE TABLE IF NOT EXISTS``; no schema version change: a file without it has an empty
registry). An empty registry is permissive, as the service model always was: every agent name
reads as an enabled hosted agent with an active identity, and every routine PUT is accepted.
Once it holds any agent, ``GET /agents/{agent_name}`` answers from it (404 for other names) and
a routine PUT whose ``agent_name`` breaks an error rule of ``reconciler.contract.agents`` is
refused with the service's 400 at ``action.agent_name``. ``agent_endpoint_id`` is never checked:
no API reads endpoint ids.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any, Final

from reconciler.contract.agents import AgentInfo, permissive, refusal
from reconciler.service.errors import detail, invalid

CREATE: Final = (
    "CREATE TABLE IF NOT EXISTS agents (name TEXT PRIMARY KEY, kind TEXT NOT NULL, "
    "state TEXT NOT NULL, identity TEXT)"
)
_EXISTS: Final = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'agents'"


def replace(conn: sqlite3.Connection, agents: Iterable[AgentInfo]) -> int:
    """Make the registry exactly ``agents`` (an empty list makes it permissive again)."""
    conn.execute(CREATE)
    conn.execute("DELETE FROM agents")
    rows = [(a.name, a.kind, a.state, a.identity) for a in agents]
    conn.executemany("INSERT INTO agents (name, kind, state, identity) VALUES (?, ?, ?, ?)", rows)
    return len(rows)


def enforced(conn: sqlite3.Connection) -> bool:
    """True when the registry holds any agent."""
    if conn.execute(_EXISTS).fetchone() is None:
        return False
    return conn.execute("SELECT 1 FROM agents LIMIT 1").fetchone() is not None


def find(conn: sqlite3.Connection, name: str) -> AgentInfo | None:
    """The agent ``name`` as the agents API shows it; None when the registry lacks it (an
    empty registry shows every name)."""
    if not enforced(conn):
        return permissive(name)
    row = conn.execute(
        "SELECT name, kind, state, identity FROM agents WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        return None
    return AgentInfo(str(row[0]), str(row[1]), str(row[2]), None if row[3] is None else str(row[3]))


def listed(conn: sqlite3.Connection) -> list[AgentInfo]:
    """Every registered agent, by name."""
    if conn.execute(_EXISTS).fetchone() is None:
        return []
    found = conn.execute("SELECT name, kind, state, identity FROM agents ORDER BY name")
    return [
        AgentInfo(str(n), str(k), str(s), None if i is None else str(i)) for n, k, s, i in found
    ]


def check_put(conn: sqlite3.Connection, action: Mapping[str, Any]) -> None:
    """Refuse (400 at ``action.agent_name``) a routine whose agent breaks an error rule, when
    the registry holds any agent."""
    name = action.get("agent_name")
    if not isinstance(name, str) or not enforced(conn):
        return
    message = refusal(name, find(conn, name))
    if message is not None:
        raise invalid([detail("action.agent_name", message)])
