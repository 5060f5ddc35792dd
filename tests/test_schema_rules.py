"""The published schema and the service rules agree: maxLength, pattern, one trigger.

Editors check manifests with ``schemas/manifest.schema.json``; the loader checks the same limits
with ``contract.rules``. For every limit the schema states, a value at the limit passes both and
a value one longer fails both; names agree on every string hypothesis tries.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from reconciler.contract.rules import check_name, check_routine
from reconciler.manifest.editor_schema import _LENGTHS, editor_schema, modeline
from tests.conftest import REPO

VALIDATOR = Draft202012Validator(editor_schema())
NOW = int(time.time())
TRIGGERS: dict[str, dict[str, Any]] = {
    "ScheduleTrigger": {"type": "schedule", "cron_expression": "0 7 * * *", "time_zone": "UTC"},
    "ManifestTimerTrigger": {"type": "timer", "at": "2099-01-01T00:00:00Z"},
    "GithubIssueTrigger": {
        "type": "github_issue",
        "connection_id": "c",
        "owner": "o",
        "repository": "r",
        "issue_event": "opened",
    },
    "CustomTrigger": {"type": "custom", "provider": "p", "parameters": {}},
}
ACTIONS: dict[str, dict[str, Any]] = {
    "ManifestResponsesAction": {"type": "invoke_agent_responses_api", "agent_name": "a"},
    "InvocationsAction": {"type": "invoke_agent_invocations_api", "agent_name": "a"},
}


def _kinds(document: dict[str, Any]) -> set[str]:
    """Every failing keyword, including those inside oneOf/anyOf branches."""
    found: set[str] = set()
    stack = list(VALIDATOR.iter_errors(document))
    while stack:
        error = stack.pop()
        found.add(str(error.validator))
        stack.extend(error.context or [])
    return found


def _routine(model: str, field: str, value: str) -> dict[str, Any]:
    routine: dict[str, Any] = {
        "name": "r1",
        "triggers": {"t": copy.deepcopy(TRIGGERS["ScheduleTrigger"])},
        "action": copy.deepcopy(ACTIONS["ManifestResponsesAction"]),
    }
    if model in TRIGGERS:
        routine["triggers"]["t"] = {**copy.deepcopy(TRIGGERS[model]), field: value}
    elif model in ACTIONS:
        action = {**copy.deepcopy(ACTIONS[model]), field: value}
        if field == "agent_endpoint_id":
            action.pop("agent_name")
        if field == "conversation_id":
            action["conversation"] = action.pop("conversation_id")
        routine["action"] = action
    else:
        routine[field] = value
    return routine


def _filler(model: str, field: str, length: int) -> str:
    if field == "cron_expression":
        return "0 7 * * *" + " " * (length - 9)
    if field == "time_zone":
        return "UTC" + " " * (length - 3) if length > 3 else "UTC"
    if field == "at":
        return "2099-01-01T00:00:00Z" + " " * (length - 20)
    return "a" * length


CASES = [
    (model, field, limit) for model, fields in _LENGTHS.items() for field, limit in fields.items()
]


@pytest.mark.parametrize(("model", "field", "limit"), CASES)
def test_each_schema_max_length_is_the_rules_limit(model: str, field: str, limit: int) -> None:
    for length, allowed in ((limit + 1, False), (limit, True)):
        routine = _routine(model, field, _filler(model, field, length))
        schema_ok = "maxLength" not in _kinds({"routines": [routine]})
        body = dict(routine)
        rules = [
            v for v in check_routine(body, now=NOW, description_limit=768) if "limit" in v.message
        ]
        assert schema_ok is allowed, (model, field, length)
        assert (not rules) is allowed, (model, field, length, rules)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet="aZ09._-$ {}/é", max_size=140))
def test_names_agree_between_schema_pattern_and_rules(name: str) -> None:
    if "${" in name:
        return  # interpolated before the rules see it; the schema lets it through
    routine = {**_routine("RoutineSpec", "name", "r1"), "name": name}
    schema_ok = not _kinds({"routines": [routine]}) & {"pattern", "maxLength", "minLength"}
    assert schema_ok == (not check_name(name)), name


def test_exactly_one_trigger_in_both() -> None:
    base = _routine("RoutineSpec", "name", "r1")
    for triggers in ({}, {**base["triggers"], "u": TRIGGERS["ScheduleTrigger"]}):
        routine = {**base, "triggers": triggers}
        assert list(VALIDATOR.iter_errors({"routines": [routine]}))
        assert check_routine(routine, now=NOW)


def test_every_example_manifest_starts_with_the_published_modeline() -> None:
    for path in sorted((REPO / "manifests").rglob("*.yaml")):
        assert path.read_text().splitlines()[0] == modeline(), path
