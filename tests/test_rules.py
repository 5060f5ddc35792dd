"""Each service rule is a separate function with its own cases."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.contract import rules

NOW = 1_800_000_000


def messages(found: list[rules.Violation]) -> list[tuple[tuple[Any, ...], str]]:
    return [(v.path, v.message) for v in found]


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("daily-ops", True),
        ("a", True),
        ("A.b_c-9", True),
        ("", False),
        ("-lead", False),
        ("trail-", False),
        ("has space", False),
        ("colon:x", False),
        ("slash/x", False),
        ("x" * 128, True),
        ("x" * 129, False),
    ],
)
def test_check_name(name: str, ok: bool) -> None:
    assert (rules.check_name(name) == []) is ok


def test_check_description_limit_is_a_parameter() -> None:
    assert rules.check_description("d" * 1024) == []
    assert rules.check_description("d" * 1025)[0].message == "1025 characters; the limit is 1024"
    assert rules.check_description("d" * 769, 768)


def test_check_trigger_count() -> None:
    assert "none is given" in rules.check_trigger_count({})[0].message
    assert rules.check_trigger_count({"a": {}}) == []
    assert "2 are given (a, b)" in rules.check_trigger_count({"a": {}, "b": {}})[0].message


def test_check_schedule_reports_cron_and_zone_separately() -> None:
    found = rules.check_schedule(
        {"cron_expression": "*/4 * * * *", "time_zone": "Nowhere"}, ("triggers", "t"), NOW
    )
    paths = [v.path for v in found]
    assert paths == [("triggers", "t", "time_zone"), ("triggers", "t", "cron_expression")]


def test_check_schedule_accepts_windows_zones() -> None:
    assert (
        rules.check_schedule(
            {"cron_expression": "0 7 * * 1-5", "time_zone": "W. Europe Standard Time"}, (), NOW
        )
        == []
    )


def test_check_timer_future_and_past() -> None:
    assert rules.check_timer({"at": NOW + 60}, (), NOW) == []
    assert "in the past" in rules.check_timer({"at": NOW}, (), NOW)[0].message
    assert rules.check_timer({"at": "30m"}, (), NOW) == []


def test_check_github_issue_lengths_and_emptiness() -> None:
    ok = {"connection_id": "c", "owner": "o", "repository": "r"}
    assert rules.check_github_issue(ok, (), NOW) == []
    assert messages(rules.check_github_issue({**ok, "owner": ""}, (), NOW)) == [
        (("owner",), "must not be empty")
    ]
    assert rules.check_github_issue({**ok, "repository": "r" * 129}, (), NOW)[0].path == (
        "repository",
    )


def test_check_custom_lengths() -> None:
    assert rules.check_custom({"provider": "p", "event_name": "e" * 256}, (), NOW) == []
    assert rules.check_custom({"provider": "p", "event_name": "e" * 257}, (), NOW)


def test_check_agent_reference_exactly_one() -> None:
    assert rules.check_agent_reference({"agent_name": "a"}) == []
    assert rules.check_agent_reference({"agent_endpoint_id": "e"}) == []
    assert "required" in rules.check_agent_reference({})[0].message
    assert (
        "mutually exclusive"
        in rules.check_agent_reference({"agent_name": "a", "agent_endpoint_id": "e"})[0].message
    )
    assert "the limit is 256" in rules.check_agent_reference({"agent_name": "a" * 257})[0].message


def test_check_action_fields_placement() -> None:
    responses = {"type": "invoke_agent_responses_api", "session_id": "s"}
    invocations = {"type": "invoke_agent_invocations_api", "conversation": "c"}
    assert rules.check_action_fields(responses)[0].path == ("action", "session_id")
    assert rules.check_action_fields(invocations)[0].path == ("action", "conversation")
    assert rules.check_action_fields({**responses, "session_id": None} | {"conversation": "c"})


def test_check_action_lengths() -> None:
    assert rules.check_action_lengths({"conversation": "c" * 257})[0].path == (
        "action",
        "conversation",
    )
    assert rules.check_action_lengths({"session_id": "s" * 257})[0].path == ("action", "session_id")


def test_rules_ignore_values_of_the_wrong_type() -> None:
    assert rules.check_routine({"name": 5, "triggers": "x", "action": []}, now=NOW) == []


def test_both_day_fields_restricted_is_a_warning_not_an_error() -> None:
    [warning] = rules.check_schedule(
        {"cron_expression": "0 8 1-7 * MON", "time_zone": "UTC"}, ("triggers", "t"), NOW
    )
    assert warning.severity == "warning"
    assert "EITHER" in warning.message and "(1-7)" in warning.message
    assert (
        rules.check_schedule({"cron_expression": "0 8 1-7 * *", "time_zone": "UTC"}, (), NOW) == []
    )
    assert (
        rules.check_schedule({"cron_expression": "0 8 * * MON", "time_zone": "UTC"}, (), NOW) == []
    )
