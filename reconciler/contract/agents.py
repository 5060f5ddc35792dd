"""Agents as routines see them: the fields of ``GET /agents/{agent_name}`` that matter, and the
rules a routine's agent must pass (docs/design.md, "Service contract", "Agents").

The wire shape is the SDK's ``AgentDetails`` (``client.agents.get``): ``state`` (enabled |
disabled), ``instance_identity`` (``status`` active | disabled; absent when the agent has no
identity of its own) and ``versions.latest.definition.kind`` (prompt, hosted, workflow,
external, voice). ``AgentInfo`` keeps those four facts; ``from_details`` reads them from the
JSON, and ``to_details`` writes the JSON that the emulator serves (the SDK deserialises it).

``problems`` is the one statement of the rules: the plan's agent pre-flight reports all of
them, and the embedded project and the emulator refuse a routine PUT on the errors (when their
agent registry holds any agent). An error is a rule the service enforces; a warning is one
whose enforcement is not published (the routine's runs would fail instead).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Final, Literal

Severity = Literal["error", "warning"]
KINDS: Final = ("prompt", "hosted", "workflow")
"""The kinds a registry file may declare (the SDK also knows ``external`` and ``voice``)."""
STATES: Final = ("enabled", "disabled")
IDENTITIES: Final = ("active", "disabled", "none")
"""An agent identity's status, or ``none``: the agent has no identity of its own."""
INVOCABLE_KINDS: Final = frozenset({"prompt", "hosted"})
ROLE_HINT: Final = (
    "the plan identity needs a role that can read agents, such as 'Foundry User' (formerly "
    "'Azure AI User') on the project"
)


@dataclass(frozen=True)
class AgentInfo:
    """An agent's name, definition kind, state and identity status (None: no identity)."""

    name: str
    kind: str = "prompt"
    state: str = "enabled"
    identity: str | None = "active"


@dataclass(frozen=True)
class AgentProblem:
    """One broken rule: its severity and a message naming the agent."""

    severity: Severity
    message: str


def permissive(name: str) -> AgentInfo:
    """What an empty registry answers for any name: an enabled hosted agent with an active
    identity (the embedded project and the emulator accept every agent until told otherwise)."""
    return AgentInfo(name, kind="hosted")


def problems(name: str, agent: AgentInfo | None) -> list[AgentProblem]:
    """The rules of a routine's ``agent_name`` against what the agents API says (None: 404)."""
    if agent is None:
        return [_error(f"agent '{name}' does not exist in the project; create it, or fix the name")]
    found: list[AgentProblem] = []
    if agent.kind == "workflow":
        found.append(
            _error(f"agent '{name}' is a workflow agent; routines cannot invoke workflow agents")
        )
    elif agent.kind not in INVOCABLE_KINDS:
        found.append(
            _warning(
                f"agent '{name}' is a {agent.kind} agent; routines invoke prompt and hosted "
                "agents, and whether the service accepts this kind is not published"
            )
        )
    if agent.identity is None:
        found.append(_error(_no_identity(name, agent.kind)))
    elif agent.identity == "disabled":
        found.append(
            _warning(f"the agent identity of agent '{name}' is disabled; its runs will fail")
        )
    if agent.state == "disabled":
        found.append(
            _warning(f"agent '{name}' is disabled: its endpoint rejects requests, so runs fail")
        )
    return found


def refusal(name: str, agent: AgentInfo | None) -> str | None:
    """The message of the service's 400 for this agent (its first error), or None."""
    errors = [p.message for p in problems(name, agent) if p.severity == "error"]
    return errors[0] if errors else None


def _no_identity(name: str, kind: str) -> str:
    if kind == "prompt":
        return (
            f"agent '{name}' is a prompt-only agent (no agent identity); the service rejects "
            "routines for it at creation: configure an agent identity for it in Foundry"
        )
    return f"agent '{name}' has no agent identity; the service rejects routines for it"


def _error(message: str) -> AgentProblem:
    return AgentProblem("error", message)


def _warning(message: str) -> AgentProblem:
    return AgentProblem("warning", message)


# -- the wire shape ---------------------------------------------------------------------------


def from_details(data: Any) -> AgentInfo | None:
    """The facts of an ``AgentDetails`` JSON object; None when it is not one (no name)."""
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    latest = _dig(data, "versions", "latest")
    definition = _dig(latest, "definition")
    identity = data.get("instance_identity") or _dig(latest, "instance_identity") or None
    status: str | None = None
    if isinstance(identity, dict):
        status = str(identity.get("status") or "active")
    return AgentInfo(
        name=data["name"],
        kind=str(definition.get("kind") or "unknown"),
        state=str(data.get("state") or "enabled"),
        identity=status,
    )


def to_details(agent: AgentInfo, created_at: int) -> dict[str, Any]:
    """The ``AgentDetails`` JSON of ``agent`` (what ``GET /agents/{agent_name}`` returns)."""
    identity = _identity(agent)
    latest: dict[str, Any] = {
        "metadata": {},
        "object": "agent.version",
        "id": f"{agent.name}:1",
        "name": agent.name,
        "version": "1",
        "description": "",
        "created_at": created_at,
        "definition": _definition(agent.kind),
        "status": "active",
    }
    details: dict[str, Any] = {
        "object": "agent",
        "id": agent.name,
        "name": agent.name,
        "state": agent.state,
        "configuration_state": agent.state,
        "versions": {"latest": latest},
    }
    if identity is not None:
        latest["instance_identity"] = details["instance_identity"] = identity
    if agent.identity == "disabled":
        details["state_source"] = "agent_instance_identity"
    return details


def _identity(agent: AgentInfo) -> dict[str, Any] | None:
    if agent.identity is None:
        return None
    seed = uuid.uuid5(uuid.NAMESPACE_URL, f"agent:{agent.name}")
    return {"principal_id": str(seed), "client_id": str(seed), "status": agent.identity}


def _definition(kind: str) -> dict[str, Any]:
    """A minimal definition of each kind (the SDK's required fields)."""
    if kind == "prompt":
        return {"kind": "prompt", "model": "gpt-4o-mini"}
    if kind == "hosted":
        return {"kind": "hosted", "cpu": "1", "memory": "2Gi"}
    return {"kind": kind}


def _dig(data: Any, *keys: str) -> dict[str, Any]:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}
