"""Pydantic models of the Routines wire format (docs/design.md, "Service contract").

These models are the single source of the JSON Schemas: the service side (embedded project and
emulator) validates request bodies against ``contract.wire_schema``, and the manifest models in
``reconciler.manifest.models`` extend them with client-only fields.  Length limits and
cross-field rules live in ``reconciler.contract.rules`` so that each one has a precise message.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field


class WireModel(BaseModel):
    """Base: unknown fields are errors, values keep their wire names."""

    model_config = ConfigDict(extra="forbid")


class ScheduleTrigger(WireModel):
    """Recurring trigger: a 5-field cron expression evaluated in a time zone."""

    type: Literal["schedule"]
    cron_expression: str = Field(description="Standard 5-field cron; at least 5 minutes apart.")
    time_zone: str = Field(description="IANA (Europe/Stockholm) or Windows zone name.")


class TimerTrigger(WireModel):
    """One-shot trigger; on the wire ``at`` is an integer unix timestamp (UTC)."""

    type: Literal["timer"]
    at: int | str = Field(description="Unix seconds, ISO 8601 with offset, or a duration.")


class GithubIssueTrigger(WireModel):
    """Fires when an issue is opened or closed in a GitHub repository."""

    type: Literal["github_issue"]
    connection_id: str
    owner: str
    repository: str
    issue_event: Literal["opened", "closed"]


class CustomTrigger(WireModel):
    """Fires on a named event from a custom provider."""

    type: Literal["custom"]
    provider: str
    event_name: str | None = None
    parameters: dict[str, Any]


WireTrigger = Annotated[
    ScheduleTrigger | TimerTrigger | GithubIssueTrigger | CustomTrigger,
    Field(discriminator="type"),
]


class ResponsesAction(WireModel):
    """Invoke an agent through the Responses API, optionally continuing a conversation."""

    type: Literal["invoke_agent_responses_api"]
    agent_name: str | None = None
    agent_endpoint_id: str | None = None
    input: Any = None
    conversation: str | None = None


class InvocationsAction(WireModel):
    """Invoke an agent through the Invocations API, optionally continuing a session."""

    type: Literal["invoke_agent_invocations_api"]
    agent_name: str | None = None
    agent_endpoint_id: str | None = None
    input: Any = None
    session_id: str | None = None


Action = Annotated[ResponsesAction | InvocationsAction, Field(discriminator="type")]


class Authorization(WireModel):
    """Identity used to dispatch; honoured on create only (a change needs a replace)."""

    identity: Literal["agent", "creator"] = "agent"


class RoutineBody(WireModel):
    """Body of ``PUT /routines/{name}``; read-only fields a client echoes back are ignored."""

    name: str | None = None
    description: str | None = None
    enabled: bool | None = None
    triggers: dict[str, WireTrigger]
    action: Action
    authorization: Authorization | None = None
    created_at: int | None = None
    updated_at: int | None = None


def _by_type(union: Any) -> dict[str, type[WireModel]]:
    """``{type name: model}`` of a discriminated wire union, in declaration order."""
    members = get_args(get_args(union)[0])
    return {get_args(m.model_fields["type"].annotation)[0]: m for m in members}


TRIGGER_MODELS: dict[str, type[WireModel]] = _by_type(WireTrigger)
"""The trigger types and their models, derived from the one wire union (``WireTrigger``)."""
ACTION_MODELS: dict[str, type[WireModel]] = _by_type(Action)
"""The action types and their models, derived from ``Action``."""
TRIGGER_TYPES = tuple(TRIGGER_MODELS)
ACTION_TYPES = tuple(ACTION_MODELS)
