"""``GET /agents/{agent_name}``: the agent registry as the SDK's ``client.agents.get`` reads it.

The answer is ``AgentDetails`` JSON (``reconciler.contract.agents.to_details``); an agent the
registry lacks is the service's 404. An empty registry answers every name (permissive, see
``reconciler.service.agents``). Faults reach this route only from script steps that name it
(``fault_config``), so fault tests of the routine routes are not changed by the agent check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reconciler.contract.agents import to_details
from reconciler.emulator.protocol import Reply
from reconciler.service import RoutineStore, ServiceError

if TYPE_CHECKING:
    from reconciler.emulator.handlers import Request


def get_agent(store: RoutineStore, request: Request) -> Reply:
    """The agent's details, or 404 ``not_found``."""
    agent = store.get_agent(request.name)
    if agent is None:
        raise ServiceError(404, "not_found", f"agent {request.name!r} not found")
    return Reply(200, to_details(agent, created_at=0))
