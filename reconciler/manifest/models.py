"""Manifest models: the wire format plus the few fields that only the client understands.

A manifest file holds one or more YAML documents, each ``{routines: [RoutineSpec, ...]}``.  Field
names are the service's own, so the YAML in the reference deploy pattern is valid as is.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from reconciler.contract import models as wire


class ManifestTimerTrigger(wire.TimerTrigger):
    """A one-shot timer; ``time_zone`` resolves a local ``at`` on the client (not sent)."""

    time_zone: str | None = Field(
        default=None,
        description="Zone of a local date-time `at` (IANA or Windows name); resolved client-side.",
    )


ManifestTrigger = Annotated[
    wire.ScheduleTrigger | ManifestTimerTrigger | wire.GithubIssueTrigger | wire.CustomTrigger,
    Field(discriminator="type"),
]


class ManifestResponsesAction(wire.ResponsesAction):
    """Responses API action; ``conversation_id`` is the deprecated name of ``conversation``."""

    conversation_id: str | None = Field(
        default=None, deprecated=True, description="Deprecated: use `conversation`."
    )


ManifestAction = Annotated[
    ManifestResponsesAction | wire.InvocationsAction, Field(discriminator="type")
]


class SmokeSettings(wire.WireModel):
    """A smoke test run by apply --smoke after the routine is created, updated or enabled."""

    input: Any = Field(
        default=None,
        description="The dispatch input (any JSON, passed as is; at most 32,768 characters); "
        "omitted: the routine's own action input.",
    )
    timeout: int | str = Field(
        default="5m",
        description="How long to wait for the run to complete or fail: a duration (90s, 5m, at "
        "most 1h) or seconds.",
    )


class ReconcileSettings(wire.WireModel):
    """Settings for the reconciler itself; never sent to the service as such."""

    protect: bool = Field(
        default=False,
        description="Never delete this routine, even after its manifest is removed.",
    )
    adopt: bool = Field(
        default=False,
        description="Take this routine over if it already exists in the project, created "
        "outside the reconciler (a reviewed, declarative --adopt; like Terraform's import).",
    )
    ignore_differences: list[str] = Field(
        default_factory=list,
        description="JSON pointers (e.g. /enabled, /action/input, /triggers/*/time_zone) whose "
        "live value is not drift; '*' matches one segment.",
    )
    sensitive: list[str] = Field(
        default_factory=list,
        description="JSON pointers (e.g. /action/input/api_key) whose values are redacted in "
        "every plan, diff and report.",
    )
    smoke: SmokeSettings | None = Field(
        default=None,
        description="Dispatch the routine once after each apply that changes it (apply --smoke, "
        "or smoke: true for the environment in reconciler.yaml), wait for the run, and fail the "
        "deploy if it fails; e.g. {input: 'smoke test', timeout: 5m}.",
    )


class RoutineSpec(wire.WireModel):
    """One routine as declared in git."""

    name: str = Field(description="Unique routine name in the project (1-128 characters).")
    description: str = Field(default="", description="Free text (at most 768 characters).")
    enabled: bool = Field(default=True, description="Whether the routine fires.")
    triggers: dict[str, ManifestTrigger] = Field(
        description="Exactly one named trigger: schedule, timer, github_issue or custom."
    )
    action: ManifestAction = Field(description="The agent to invoke and how.")
    authorization: wire.Authorization | None = Field(
        default=None, description="Dispatch identity; honoured at creation (a change replaces)."
    )
    reconcile: ReconcileSettings = Field(
        default_factory=ReconcileSettings, description="Reconciler-only settings."
    )


class ManifestDocument(wire.WireModel):
    """One YAML document of a manifest file."""

    routines: list[RoutineSpec] = Field(description="The routines this document declares.")
