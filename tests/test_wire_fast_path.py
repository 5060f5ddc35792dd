"""The service's PUT fast path: jsonschema runs only for a body the strict wire model rejects.

That is sound only if the strict model accepts nothing the wire schema rejects (the schema is
generated from the model); then the problems, and so the 400 messages, are those of the schema.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from reconciler.contract.models import RoutineBody
from reconciler.contract.schema_errors import problems
from reconciler.contract.wire_schema import wire_validator
from reconciler.service.errors import detail, param_of
from reconciler.service.requests import schema_problems
from tests.test_store import INVALID_BODIES

RESPONSES = {"type": "invoke_agent_responses_api", "agent_name": "agent-a"}
SCHEDULE = {"type": "schedule", "cron_expression": "0 7 * * *", "time_zone": "UTC"}
VALID_BODIES: list[dict[str, Any]] = [
    {"triggers": {"t": SCHEDULE}, "action": RESPONSES},
    {
        "name": "r1",
        "description": "nightly",
        "enabled": False,
        "triggers": {"once": {"type": "timer", "at": 1_800_000_000}},
        "action": {
            "type": "invoke_agent_invocations_api",
            "agent_endpoint_id": "ep",
            "input": {"nested": [1, None, True, 2.5, "x"]},
            "session_id": "s",
        },
        "authorization": {"identity": "creator"},
        "created_at": 1,
        "updated_at": 2,
    },
    {"triggers": {"t": {"type": "timer", "at": "PT1H"}}, "action": {**RESPONSES, "input": None}},
    {
        "triggers": {
            "g": {
                "type": "github_issue",
                "connection_id": "c",
                "owner": "o",
                "repository": "r",
                "issue_event": "opened",
            }
        },
        "action": {**RESPONSES, "conversation": "conv"},
    },
    {
        "triggers": {
            "c": {"type": "custom", "provider": "p", "event_name": None, "parameters": {}}
        },
        "action": RESPONSES,
        "authorization": None,
        "description": None,
        "enabled": None,
    },
]


def _with(body: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


TRICKY_BODIES: list[Any] = [
    _with(VALID_BODIES[0], ("enabled",), "true"),
    _with(VALID_BODIES[0], ("enabled",), 1),
    _with(VALID_BODIES[0], ("name",), 5),
    _with(VALID_BODIES[0], ("created_at",), True),
    _with(VALID_BODIES[0], ("created_at",), 1.0),
    _with(VALID_BODIES[0], ("created_at",), 10**30),
    _with(VALID_BODIES[0], ("triggers",), {"t": {"type": "timer", "at": 1.0}}),
    _with(VALID_BODIES[0], ("triggers",), {"t": {"type": "timer", "at": True}}),
    _with(VALID_BODIES[0], ("triggers",), {"t": {"type": "timer", "at": None}}),
    _with(VALID_BODIES[0], ("triggers",), {"t": {"type": "timer"}}),
    _with(VALID_BODIES[0], ("triggers",), {1: SCHEDULE}),
    _with(VALID_BODIES[0], ("triggers",), {"t": {**SCHEDULE, "type": "Schedule"}}),
    _with(VALID_BODIES[0], ("triggers",), {"t": {**SCHEDULE, "cron_expression": 5}}),
    _with(VALID_BODIES[0], ("triggers",), []),
    _with(VALID_BODIES[0], ("action",), {"type": "invoke_agent_responses_api", "session_id": "s"}),
    _with(VALID_BODIES[0], ("action",), {"agent_name": "a"}),
    _with(VALID_BODIES[0], ("authorization",), {"identity": "root"}),
    _with(VALID_BODIES[0], ("authorization",), {}),
    _with(VALID_BODIES[3], ("triggers", "g", "issue_event"), "reopened"),
    _with(VALID_BODIES[4], ("triggers", "c", "parameters"), []),
    _with(VALID_BODIES[4], ("triggers", "c", "parameters"), {"deep": {"er": [{}]}}),
    _with(VALID_BODIES[0], ("description",), "\ud800"),
    *(case[2] for case in INVALID_BODIES if isinstance(case[2], dict)),
]


def _schema_details(body: Any) -> list[dict[str, Any]]:
    """What the service reported before the fast path: jsonschema on every body."""
    return [detail(param_of(p.path), p.message) for p in problems(wire_validator(), body)]


def test_the_strict_model_never_accepts_what_the_wire_schema_rejects() -> None:
    checked = 0
    for body in [*VALID_BODIES, *TRICKY_BODIES]:
        try:
            RoutineBody.model_validate(body, strict=True)
        except ValidationError:
            continue
        checked += 1
        assert list(wire_validator().iter_errors(body)) == [], body
    assert checked >= 10


def test_valid_bodies_pass_both_ways() -> None:
    for body in VALID_BODIES:
        RoutineBody.model_validate(body, strict=True)
        assert schema_problems(body) == [] == _schema_details(body)


def test_the_fast_path_reports_exactly_what_the_schema_reports() -> None:
    for body in TRICKY_BODIES:
        assert schema_problems(body) == _schema_details(body), body


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
_WORDS = st.sampled_from(
    ["type", "at", "name", "input", "identity", "parameters", "schedule", "timer", "custom",
     "agent", "creator", "opened", "invoke_agent_responses_api", "invoke_agent_invocations_api"]
)  # fmt: skip


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into nested dicts."""
    if not isinstance(value, dict):
        return []
    found = []
    for key, inner in value.items():
        found.append((*prefix, key))
        found.extend(_paths(inner, (*prefix, key)))
    return found


@st.composite
def _mutated_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid body with a few keys replaced by random JSON, removed, or added."""
    body: dict[str, Any] = copy.deepcopy(draw(st.sampled_from(VALID_BODIES)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(body) or [("extra",)]))
        target = body
        for key in path[:-1]:
            target = target[key]
        if not isinstance(target, dict):
            continue
        action = draw(st.sampled_from(["replace", "replace", "word", "drop", "add"]))
        if action == "drop":
            target.pop(path[-1], None)
        elif action == "add":
            target[draw(st.text(max_size=4) | _WORDS)] = draw(_JSON)
        else:
            target[path[-1]] = draw(_WORDS if action == "word" else _JSON)
    return body


@given(_mutated_bodies())
@settings(max_examples=400, deadline=None)
def test_the_fast_path_equals_the_schema_on_mutated_bodies(body: dict[str, Any]) -> None:
    try:
        RoutineBody.model_validate(body, strict=True)
    except ValidationError:
        pass
    else:
        assert list(wire_validator().iter_errors(body)) == []
    assert schema_problems(body) == _schema_details(body)
