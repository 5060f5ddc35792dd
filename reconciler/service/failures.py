"""Injected agent failures: runs of a named agent fail, as when its endpoint answers an error.

A test of run health, alerting or a smoke gate needs runs that fail. The service's runs fail when
the agent's endpoint answers an error or times out; neither can happen to a local agent, so the
embedded project and the emulator keep a table of agents whose attempts fail (one per SQLite
file, like the agent registry; ``CREATE TABLE IF NOT EXISTS``, no schema version change):

- ``rate``: the share of attempts that fail (1: every one; each attempt draws on its own, so a
  retried attempt of a flaky agent may succeed);
- ``status_code``: the agent's answer, which decides whether the delivery is retried (408,
  429, 5xx) or ends at once (other 4xx; ``reconciler.contract.delivery``); 408 stands for an
  attempt that timed out, so it lasts the full ``ATTEMPT_TIMEOUT``;
- ``error_type`` and ``error_message``: what the run records (defaults below; the service's
  own values are not published).

Set by ``reconciler emulator --fail-agent NAME[:RATE[:STATUS]]``, ``PUT
/_emulator/agents/failures`` and ``reconciler agents fail`` (the embedded project).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from reconciler.contract import limits
from reconciler.contract.delivery import TIMEOUT_STATUS

CREATE: Final = (
    "CREATE TABLE IF NOT EXISTS agent_failures (agent TEXT PRIMARY KEY, rate REAL NOT NULL, "
    "status_code INTEGER NOT NULL, error_type TEXT, error_message TEXT)"
)
_EXISTS: Final = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'agent_failures'"
_SELECT: Final = (
    "SELECT agent, rate, status_code, error_type, error_message FROM agent_failures ORDER BY agent"
)
_KEYS: Final = frozenset({"agent", "rate", "status_code", "error_type", "error_message"})
HTTP_ERROR_TYPE: Final = "reconciler.emulator.AgentHttpError"
TIMEOUT_ERROR_TYPE: Final = "reconciler.emulator.AgentTimeout"
MESSAGE_MAX: Final = 1024
SPEC_HELP: Final = "NAME[:RATE[:STATUS]], e.g. triage, triage:0.5 or triage:1:400"


@dataclass(frozen=True)
class AgentFailure:
    """Attempts of runs for ``agent`` (an ``agent_name`` or ``agent_endpoint_id``) fail."""

    agent: str
    rate: float = 1.0
    status_code: int = 500
    error_type: str | None = None
    error_message: str | None = None

    def __post_init__(self) -> None:
        """Check the values; ValueError names the field."""
        if not self.agent or len(self.agent) > limits.AGENT_REF_MAX:
            raise ValueError(f"agent must be 1 to {limits.AGENT_REF_MAX} characters")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"rate of agent {self.agent!r} must be between 0 and 1")
        if not 400 <= self.status_code <= 599:
            raise ValueError(
                f"status_code of agent {self.agent!r} must be an error status from 400 to 599"
            )
        for name in ("error_type", "error_message"):
            text = getattr(self, name)
            if text is not None and (not text or len(text) > MESSAGE_MAX):
                raise ValueError(f"{name} of agent {self.agent!r} must be 1 to 1024 characters")

    def recorded(self) -> tuple[str, str]:
        """The ``error_type`` and ``error_message`` a failed attempt records."""
        timeout = self.status_code == TIMEOUT_STATUS
        kind = TIMEOUT_ERROR_TYPE if timeout else HTTP_ERROR_TYPE
        if timeout:
            default = f"agent {self.agent!r} did not answer in time (injected failure)"
        else:
            default = f"agent {self.agent!r} answered {self.status_code} (injected failure)"
        return self.error_type or kind, self.error_message or default

    def to_json(self) -> dict[str, Any]:
        """The failure as the admin route shows it."""
        return {
            "agent": self.agent,
            "rate": self.rate,
            "status_code": self.status_code,
            "error_type": self.error_type,
            "error_message": self.error_message,
        }

    @classmethod
    def from_json(cls, data: object) -> AgentFailure:
        """One failure from ``{"agent", "rate"?, "status_code"?, "error_type"?,
        "error_message"?}``; ValueError names the bad field."""
        if not isinstance(data, Mapping):
            raise ValueError('each failure must be an object such as {"agent": "triage"}')
        unknown = sorted(set(map(str, data)) - _KEYS)
        if unknown:
            raise ValueError(f"unknown failure field {unknown[0]!r} ({', '.join(sorted(_KEYS))})")
        agent, rate, status = data.get("agent"), data.get("rate", 1.0), data.get("status_code", 500)
        if not isinstance(agent, str):
            raise ValueError("agent must be a string (the agent_name or agent_endpoint_id)")
        if isinstance(rate, bool) or not isinstance(rate, int | float):
            raise ValueError(f"rate of agent {agent!r} must be a number")
        if isinstance(status, bool) or not isinstance(status, int):
            raise ValueError(f"status_code of agent {agent!r} must be an integer")
        texts = {name: data.get(name) for name in ("error_type", "error_message")}
        for name, text in texts.items():
            if text is not None and not isinstance(text, str):
                raise ValueError(f"{name} of agent {agent!r} must be a string")
        return cls(agent, float(rate), status, texts["error_type"], texts["error_message"])


def parse_spec(text: str) -> AgentFailure:
    """``NAME[:RATE[:STATUS]]`` (``--fail-agent``); ValueError says what is wrong."""
    name, *rest = text.split(":")
    if not name or len(rest) > 2:
        raise ValueError(f"{text!r} is not {SPEC_HELP}")
    try:
        rate = float(rest[0]) if rest else 1.0
        status = int(rest[1]) if len(rest) > 1 else 500
    except ValueError:
        raise ValueError(f"{text!r} is not {SPEC_HELP}") from None
    return AgentFailure(name, rate, status)


def replace(conn: sqlite3.Connection, failing: Iterable[AgentFailure]) -> int:
    """Make the table exactly ``failing`` (empty: no agent fails); returns the count."""
    conn.execute(CREATE)
    conn.execute("DELETE FROM agent_failures")
    rows = [(f.agent, f.rate, f.status_code, f.error_type, f.error_message) for f in failing]
    conn.executemany("INSERT OR REPLACE INTO agent_failures VALUES (?, ?, ?, ?, ?)", rows)
    return int(conn.execute("SELECT COUNT(*) FROM agent_failures").fetchone()[0])


def listed(conn: sqlite3.Connection) -> dict[str, AgentFailure]:
    """Agent -> its failure (empty when none is injected)."""
    if conn.execute(_EXISTS).fetchone() is None:
        return {}
    return {
        str(agent): AgentFailure(
            str(agent),
            float(rate),
            int(status),
            None if kind is None else str(kind),
            None if message is None else str(message),
        )
        for agent, rate, status, kind, message in conn.execute(_SELECT)
    }
