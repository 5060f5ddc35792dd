"""Every bad manifest gets one located error: exact file, line and field, and a clear message."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reconciler.manifest.loader import load
from tests.conftest import BASE_ROUTINE

NOW = int(time.time())


def diagnostics_for(path: Path, variables: dict[str, str] | None = None) -> list[str]:
    result = load([str(path)], variables=variables or {}, now=NOW)
    return [d.render() for d in result.diagnostics if d.severity == "error"]


SCHEDULE = '        type: schedule\n        cron_expression: "0 7 * * *"\n        time_zone: UTC\n'


def trigger(new: str) -> str:
    """The base routine with its trigger body replaced by ``new``."""
    return edit(SCHEDULE, new)


def edit(old: str, new: str) -> str:
    assert old in BASE_ROUTINE, old
    return BASE_ROUTINE.replace(old, new, 1)


# (id, manifest text, expected line, expected field, expected words in the message)
CASES = [
    (
        "unknown-field-did-you-mean",
        edit("    triggers:", "    descripton: x\n    triggers:"),
        3,
        "routines[0].descripton",
        "did you mean 'description'",
    ),
    (
        "unknown-trigger-field",
        edit("time_zone: UTC", "time_zone: UTC\n        tz: x"),
        8,
        "routines[0].triggers.t.tz",
        "unknown field 'tz'",
    ),
    (
        "field-of-other-trigger-type",
        edit("        time_zone: UTC", "        time_zone: UTC\n        at: 5"),
        8,
        "routines[0].triggers.t.at",
        "only valid with type 'timer'",
    ),
    (
        "unknown-trigger-type",
        edit("type: schedule", "type: scheduel"),
        5,
        "routines[0].triggers.t.type",
        "did you mean 'schedule'",
    ),
    (
        "missing-trigger-type",
        edit("        type: schedule\n", ""),
        4,
        "routines[0].triggers.t.type",
        "missing required field 'type'",
    ),
    (
        "unknown-action-type",
        edit("type: invoke_agent_responses_api", "type: invoke"),
        9,
        "routines[0].action.type",
        "expected one of",
    ),
    ("name-wrong-type", edit("name: r1", "name: [r1]"), 2, "routines[0].name", "must be a string"),
    (
        "enabled-wrong-type",
        edit("    triggers:", "    enabled: maybe\n    triggers:"),
        3,
        "routines[0].enabled",
        "must be true or false",
    ),
    (
        "description-wrong-type",
        edit("    triggers:", "    description: {a: 1}\n    triggers:"),
        3,
        "routines[0].description",
        "must be a string",
    ),
    (
        "triggers-not-mapping",
        edit(
            "    triggers:\n      t:\n        type: schedule\n"
            '        cron_expression: "0 7 * * *"\n'
            "        time_zone: UTC\n",
            "    triggers: [a]\n",
        ),
        3,
        "routines[0].triggers",
        "must be a mapping",
    ),
    (
        "cron-wrong-type",
        edit('cron_expression: "0 7 * * *"', "cron_expression: 7"),
        6,
        "routines[0].triggers.t.cron_expression",
        "must be a string",
    ),
    (
        "missing-name",
        edit("  - name: r1\n    triggers:", "  - triggers:"),
        2,
        "routines[0].name",
        "missing required field 'name'",
    ),
    (
        "missing-action",
        BASE_ROUTINE.split("    action:")[0],
        2,
        "routines[0].action",
        "missing required field 'action'",
    ),
    (
        "two-triggers",
        edit("    action:", "      u:\n        type: timer\n        at: 30m\n    action:"),
        3,
        "routines[0].triggers",
        "exactly one trigger is allowed; 2 are given",
    ),
    (
        "zero-triggers",
        edit(
            "    triggers:\n      t:\n        type: schedule\n"
            '        cron_expression: "0 7 * * *"\n        time_zone: UTC\n',
            "    triggers: {}\n",
        ),
        3,
        "routines[0].triggers",
        "exactly one trigger is required",
    ),
    (
        "cron-every-4-minutes",
        edit('"0 7 * * *"', '"*/4 * * * *"'),
        6,
        "routines[0].triggers.t.cron_expression",
        "every 4 minutes",
    ),
    (
        "cron-two-close-minutes",
        edit('"0 7 * * *"', '"0,3 * * * *"'),
        6,
        "routines[0].triggers.t.cron_expression",
        "at least 5 minutes",
    ),
    (
        "cron-six-fields",
        edit('"0 7 * * *"', '"0 */5 * * * *"'),
        6,
        "routines[0].triggers.t.cron_expression",
        "5",
    ),
    (
        "cron-minute-61",
        edit('"0 7 * * *"', '"61 * * * *"'),
        6,
        "routines[0].triggers.t.cron_expression",
        "61",
    ),
    (
        "cron-garbage",
        edit('"0 7 * * *"', '"every day"'),
        6,
        "routines[0].triggers.t.cron_expression",
        "field",
    ),
    (
        "unknown-zone",
        edit("time_zone: UTC", "time_zone: Mars/Olympus"),
        7,
        "routines[0].triggers.t.time_zone",
        "unknown time zone",
    ),
    (
        "zone-typo",
        edit("time_zone: UTC", "time_zone: Europe/Stockholmm"),
        7,
        "routines[0].triggers.t.time_zone",
        "Europe/Stockholm",
    ),
    (
        "timer-in-the-past",
        trigger('        type: timer\n        at: "2020-01-01T00:00:00Z"\n'),
        6,
        "routines[0].triggers.t.at",
        "in the past",
    ),
    (
        "timer-epoch-in-the-past",
        trigger("        type: timer\n        at: 1000\n"),
        6,
        "routines[0].triggers.t.at",
        "in the past",
    ),
    (
        "timer-local-without-zone",
        trigger('        type: timer\n        at: "2031-01-01T09:00:00"\n'),
        6,
        "routines[0].triggers.t.at",
        "no UTC offset",
    ),
    (
        "timer-not-a-time",
        trigger("        type: timer\n        at: soon\n"),
        6,
        "routines[0].triggers.t.at",
        "not a date-time or a duration",
    ),
    (
        "timer-offset-and-zone",
        trigger(
            '        type: timer\n        at: "2031-01-01T09:00:00Z"\n'
            "        time_zone: Europe/Stockholm\n"
        ),
        6,
        "routines[0].triggers.t.at",
        "time_zone applies only",
    ),
    (
        "both-agent-references",
        edit("agent_name: a", "agent_name: a\n      agent_endpoint_id: b"),
        11,
        "routines[0].action.agent_endpoint_id",
        "mutually exclusive",
    ),
    (
        "no-agent-reference",
        edit("      agent_name: a\n", ""),
        8,
        "routines[0].action",
        "one of agent_name or agent_endpoint_id is required",
    ),
    (
        "session-on-responses",
        edit("agent_name: a", "agent_name: a\n      session_id: s"),
        11,
        "routines[0].action.session_id",
        "only valid on invoke_agent_invocations_api",
    ),
    (
        "conversation-on-invocations",
        edit(
            "type: invoke_agent_responses_api",
            "type: invoke_agent_invocations_api\n      conversation: c",
        ),
        10,
        "routines[0].action.conversation",
        "only valid on invoke_agent_responses_api",
    ),
    (
        "conversation-and-old-name",
        edit("agent_name: a", "agent_name: a\n      conversation: c\n      conversation_id: d"),
        12,
        "routines[0].action.conversation_id",
        "not both",
    ),
    (
        "name-too-long",
        edit("name: r1", "name: " + "r" * 129),
        2,
        "routines[0].name",
        "129 characters; the limit is 128",
    ),
    (
        "name-bad-characters",
        edit("name: r1", "name: my routine"),
        2,
        "routines[0].name",
        "not a valid name",
    ),
    (
        "description-too-long",
        edit("    triggers:", "    description: " + "d" * 769 + "\n    triggers:"),
        3,
        "routines[0].description",
        "the limit is 768",
    ),
    (
        "agent-name-too-long",
        edit("agent_name: a", "agent_name: " + "a" * 257),
        10,
        "routines[0].action.agent_name",
        "the limit is 256",
    ),
    (
        "conversation-too-long",
        edit("agent_name: a", "agent_name: a\n      conversation: " + "c" * 257),
        11,
        "routines[0].action.conversation",
        "the limit is 256",
    ),
    (
        "github-owner-too-long",
        trigger(
            "        type: github_issue\n        connection_id: c\n"
            "        owner: " + "o" * 129 + "\n        repository: r\n"
            "        issue_event: opened\n"
        ),
        7,
        "routines[0].triggers.t.owner",
        "the limit is 128",
    ),
    (
        "github-bad-event",
        trigger(
            "        type: github_issue\n        connection_id: c\n"
            "        owner: o\n        repository: r\n"
            "        issue_event: reopened\n"
        ),
        9,
        "routines[0].triggers.t.issue_event",
        "'reopened' is not one of",
    ),
    (
        "custom-without-parameters",
        trigger("        type: custom\n        provider: p\n"),
        4,
        "routines[0].triggers.t.parameters",
        "missing required field 'parameters'",
    ),
    (
        "custom-provider-too-long",
        trigger(
            "        type: custom\n        provider: " + "p" * 129 + "\n        parameters: {}\n"
        ),
        6,
        "routines[0].triggers.t.provider",
        "the limit is 128",
    ),
    (
        "authorization-bad-identity",
        edit("    action:", "    authorization:\n      identity: root\n    action:"),
        9,
        "routines[0].authorization.identity",
        "'root' is not one of",
    ),
    (
        "reconcile-unknown-setting",
        edit("    action:", "    reconcile:\n      protected: true\n    action:"),
        9,
        "routines[0].reconcile.protected",
        "did you mean 'protect'",
    ),
    (
        "sensitive-pointer-without-slash",
        edit("    action:", "    reconcile:\n      sensitive: [action/input]\n    action:"),
        9,
        "routines[0].reconcile.sensitive[0]",
        "must start with '/'",
    ),
    (
        "sensitive-pointer-matches-nothing",
        edit("    action:", "    reconcile:\n      sensitive: [/action/input/key]\n    action:"),
        9,
        "routines[0].reconcile.sensitive[0]",
        "matches no value",
    ),
    (
        "ignore-pointer-unknown-field",
        edit("    action:", "    reconcile:\n      ignore_differences: [/enabeld]\n    action:"),
        9,
        "routines[0].reconcile.ignore_differences[0]",
        "names no routine field",
    ),
    (
        "duplicate-key",
        edit("      agent_name: a", "      agent_name: a\n      agent_name: b"),
        11,
        "routines[0].action.agent_name",
        "duplicate key 'agent_name' (first defined at line 10)",
    ),
    (
        "undefined-variable",
        edit("agent_name: a", "agent_name: ${NO_SUCH_AGENT_VAR}"),
        10,
        "routines[0].action.agent_name",
        "undefined variable ${NO_SUCH_AGENT_VAR}",
    ),
    (
        "unterminated-variable",
        edit("agent_name: a", "agent_name: ${AGENT"),
        10,
        "routines[0].action.agent_name",
        "unterminated",
    ),
    ("routines-not-a-list", "routines: {name: x}\n", 1, "routines", "must be a list"),
    (
        "routine-not-a-mapping",
        "routines:\n  - just-a-name\n",
        2,
        "routines[0]",
        "must be a mapping",
    ),
    ("no-routines-key", "routine:\n  - name: x\n", 1, None, "no top-level 'routines:' key"),
    (
        "unsafe-python-tag",
        "routines:\n  - !!python/object/apply:os.system [echo]\n",
        2,
        "routines[0]",
        "is not allowed",
    ),
    (
        "custom-local-tag",
        edit("agent_name: a", "agent_name: !secret a"),
        10,
        "routines[0].action.agent_name",
        "tag !secret is not allowed",
    ),
    (
        "quoted-boolean",
        edit("  - name: r1\n", "  - name: r1\n    enabled: 'false'\n"),
        3,
        "routines[0].enabled",
        "not the text 'false' (quoted, or from a ${VAR}: variables are substituted as text only",
    ),
    (
        "field-of-the-other-action-type-misspelt",
        edit("agent_name: a", "agent_name: a\n      sesion_id: s"),
        11,
        "routines[0].action.sesion_id",
        "(did you mean 'session_id'? it is only valid with type 'invoke_agent_invocations_api'",
    ),
    ("tab-indentation", "routines:\n\t- name: x\n", 2, None, "tab character"),
    ("broken-yaml", "routines:\n  - name: [x\n", 3, None, "invalid YAML"),
]


@pytest.mark.parametrize(
    ("text", "line", "field", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_invalid_manifest_is_located(
    write, text: str, line: int, field: str | None, words: str
) -> None:
    path = write("bad.yaml", text)
    errors = diagnostics_for(path)
    prefix = f"{path}:{line}:"
    matching = [
        e
        for e in errors
        if e.startswith(prefix) and words in e and (field is None or f": {field}: " in e)
    ]
    assert matching, f"expected {prefix} {field} '{words}' in:\n" + "\n".join(errors)


def test_there_are_at_least_forty_located_cases() -> None:
    assert len(CASES) >= 40


def test_all_errors_are_collected_not_just_the_first(write) -> None:
    path = write(
        "many.yaml",
        edit("name: r1", "name: bad name")
        .replace("time_zone: UTC", "time_zone: Nowhere/City")
        .replace('"0 7 * * *"', '"*/2 * * * *"'),
    )
    errors = diagnostics_for(path)
    assert len(errors) == 3
    assert [e.split(":")[1] for e in errors] == ["2", "6", "7"]


def test_a_disallowed_tag_is_reported_without_follow_on_errors(write) -> None:
    tagged = write("tagged.yaml", edit("name: r1", "name: !!python/name:os.system ''"))
    errors = diagnostics_for(tagged)
    assert len(errors) == 1, errors
    assert ": routines[0].name: tag !!python/name:os.system is not allowed" in errors[0]
    incomplete = write(
        "incomplete.yaml",
        "routines:\n  - name: !!python/name:os.system ''\n    triggers: {}\n",
    )
    kept = diagnostics_for(incomplete)
    assert any("routines[0].action: missing required field 'action'" in e for e in kept), kept


def test_duplicate_names_across_files_name_both_places(write) -> None:
    first = write("a/one.yaml", BASE_ROUTINE)
    second = write("b/two.yaml", "# a comment line\n" + BASE_ROUTINE)
    result = load([str(first.parent.parent)], variables={}, now=NOW)
    messages = [d.render() for d in result.diagnostics]
    assert messages == [
        f"{second}:3:11: routines[0].name: duplicate routine name 'r1': also "
        f"defined at {first}:2:11"
    ]
