"""Field-level diffs: paths, absent values, ignore patterns (pure)."""

from __future__ import annotations

from reconciler.plan.diff import FieldDiff, field_diffs, split_ignored


def paths(diffs: list[FieldDiff]) -> list[str]:
    return [d.dotted for d in diffs]


def test_equal_is_empty() -> None:
    assert field_diffs({"a": {"b": [1, 2]}}, {"a": {"b": [1, 2]}}) == []


def test_changed_added_and_removed_leaves() -> None:
    before = {"description": "x", "action": {"agent_name": "a", "input": {"k": [1, 2]}}}
    after = {
        "description": "y",
        "action": {"agent_name": "a", "input": {"k": [1, 3]}, "conversation": "c"},
    }
    diffs = field_diffs(before, after)
    assert paths(diffs) == ["action.conversation", "action.input.k[1]", "description"]
    added = diffs[0]
    assert (added.before_present, added.after) == (False, "c")
    assert added.to_json() == {
        "path": "action.conversation",
        "before": None,
        "after": "c",
        "before_absent": True,
    }


def test_type_change_is_a_diff() -> None:
    assert paths(field_diffs({"input": "5"}, {"input": 5})) == ["input"]


def test_ignore_patterns_with_wildcards_split_the_diffs() -> None:
    before = {"enabled": False, "triggers": {"t": {"time_zone": "UTC", "cron_expression": "0 7"}}}
    after = {"enabled": True, "triggers": {"t": {"time_zone": "CET", "cron_expression": "0 8"}}}
    kept, ignored = split_ignored(
        field_diffs(before, after), [("enabled",), ("triggers", "*", "time_zone")]
    )
    assert paths(kept) == ["triggers.t.cron_expression"]
    assert paths(ignored) == ["enabled", "triggers.t.time_zone"]


def test_ignoring_a_parent_ignores_everything_inside() -> None:
    kept, ignored = split_ignored(
        field_diffs({"action": {"input": {"a": 1}}}, {"action": {"input": {"a": 2, "b": 3}}}),
        [("action", "input")],
    )
    assert kept == [] and len(ignored) == 2
