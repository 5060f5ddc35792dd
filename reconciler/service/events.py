"""Events that fire ``github_issue`` and ``custom`` routines.

The service fires these routines from deliveries it receives (a GitHub issue webhook through a
project connection, a provider's custom event). Neither can reach a local project, so the
emulator's admin route (``POST /_emulator/events``) and ``reconciler emulator --fire-event``
hand one in: ``parse_event`` checks it (a 400 ``ServiceError`` naming the field), ``matches``
says whether a trigger takes it, and ``event_record`` is the ``event_fire`` run it leaves.

The service publishes none of its matching; these rules are this project's choice
(docs/design.md, "The emulator"):

- ``github_issue``: the same ``connection_id`` (exactly), ``owner`` and ``repository`` (ignoring
  case, as GitHub does) and ``issue_event`` (opened | closed).
- ``custom``: the same ``provider``, and the same ``event_name`` when the trigger names one (a
  trigger without an ``event_name`` takes every event of its provider); ``parameters`` are
  provider-specific and not compared.

The run's ``trigger_event_payload`` is the event's ``payload`` (a JSON object). A GitHub event
sent without one gets the smallest shape of GitHub's ``issues`` webhook: ``action`` and the
``repository`` (``full_name``, ``name``, ``owner.login``); a custom event gets ``{}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from reconciler.contract import limits, nesting
from reconciler.service.errors import bad_argument
from reconciler.service.runs import run_record

if TYPE_CHECKING:
    from reconciler.service.rows import Routine

Json = dict[str, Any]

ISSUE_EVENTS: Final = ("opened", "closed")
# event type -> field -> (maximum length, or None for a choice; required)
FIELDS: Final[dict[str, dict[str, tuple[int | None, bool]]]] = {
    "github_issue": {
        "connection_id": (limits.CONNECTION_ID_MAX, True),
        "owner": (limits.GITHUB_OWNER_MAX, True),
        "repository": (limits.GITHUB_REPOSITORY_MAX, True),
        "issue_event": (None, True),
    },
    "custom": {
        "provider": (limits.CUSTOM_PROVIDER_MAX, True),
        "event_name": (limits.CUSTOM_EVENT_NAME_MAX, False),
    },
}


@dataclass(frozen=True)
class Event:
    """A checked event: its type, the fields triggers are compared with, and its payload."""

    type: str
    fields: dict[str, str]
    payload: Json


def parse_event(body: object) -> Event:
    """The event in ``body`` (``{"type": "github_issue"|"custom", ...}``); raises 400."""
    if not isinstance(body, Mapping):
        raise bad_argument("event", "the event must be a JSON object")
    if nesting.value_too_deep(dict(body)):
        raise bad_argument("event", f"the event {nesting.MESSAGE}")
    kind = body.get("type")
    if not isinstance(kind, str) or kind not in FIELDS:
        raise bad_argument("type", f"event type must be 'github_issue' or 'custom', not {kind!r}")
    spec = FIELDS[kind]
    unknown = sorted(set(body) - set(spec) - {"type", "payload"})
    if unknown:
        known = ", ".join(["type", *spec, "payload"])
        raise bad_argument(unknown[0], f"unknown field {unknown[0]!r} in a {kind} event ({known})")
    fields = {
        name: text
        for name, (maximum, required) in spec.items()
        if (text := _text(body, name, maximum, required)) is not None
    }
    if kind == "github_issue" and fields["issue_event"] not in ISSUE_EVENTS:
        message = f"issue_event must be 'opened' or 'closed', not {fields['issue_event']!r}"
        raise bad_argument("issue_event", message)
    payload = body.get("payload")
    if payload is not None and not isinstance(payload, dict):
        raise bad_argument("payload", "payload must be a JSON object")
    return Event(kind, fields, payload if payload is not None else _default_payload(kind, fields))


def matches(event: Event, trigger: Mapping[str, Any]) -> bool:
    """True when ``trigger`` takes ``event`` (the rules of the module docstring)."""
    if trigger.get("type") != event.type:
        return False
    fields = event.fields
    if event.type == "github_issue":
        return (
            trigger.get("connection_id") == fields["connection_id"]
            and _same_name(trigger.get("owner"), fields["owner"])
            and _same_name(trigger.get("repository"), fields["repository"])
            and trigger.get("issue_event") == fields["issue_event"]
        )
    wanted = trigger.get("event_name")
    return trigger.get("provider") == fields["provider"] and (
        wanted is None or wanted == fields.get("event_name")
    )


def event_record(routine: Routine, event: Event, now: float) -> Json:
    """The ``event_fire`` run ``event`` leaves on ``routine``."""
    return run_record(routine, source="event_fire", now=now, event_payload=dict(event.payload))


def _text(body: Mapping[str, Any], name: str, maximum: int | None, required: bool) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise bad_argument(name, f"{name} must be a non-empty string, not {value!r}")
    if maximum is not None and len(value) > maximum:
        raise bad_argument(name, f"{name} is {len(value)} characters; at most {maximum}")
    return value


def _same_name(configured: object, given: str) -> bool:
    return isinstance(configured, str) and configured.casefold() == given.casefold()


def _default_payload(kind: str, fields: Mapping[str, str]) -> Json:
    if kind != "github_issue":
        return {}
    owner, name = fields["owner"], fields["repository"]
    return {
        "action": fields["issue_event"],
        "repository": {"full_name": f"{owner}/{name}", "name": name, "owner": {"login": owner}},
    }
