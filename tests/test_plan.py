"""Pure planning: every action, ownership, prune safety, ignore rules, redaction, timers."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.plan import ownership
from reconciler.plan.desired import Desired
from reconciler.plan.model import Action, Plan
from reconciler.plan.options import PlanOptions
from reconciler.plan.planner import make_plan
from reconciler.plan.redact import REDACTED
from reconciler.plan.safety import default_max_deletes
from reconciler.plan.saved import unapproved_changes
from reconciler.plan.serialize import plan_to_json

STACK = "team-a"
SCHEDULE = {"t": {"type": "schedule", "cron_expression": "0 7 * * *", "time_zone": "UTC"}}
ACTION = {"type": "invoke_agent_responses_api", "agent_name": "agent"}


def desired(name: str = "r1", **changes: Any) -> Desired:
    fields: dict[str, Any] = {
        "name": name,
        "triggers": copy.deepcopy(SCHEDULE),
        "action": dict(ACTION),
        "description": "hello",
    }
    fields.update(changes)
    return Desired(**fields)


def live_of(d: Desired, stack: str | None = STACK, **overrides: Any) -> dict[str, Any]:
    """What the service returns after the reconciler created ``d`` for ``stack``."""
    record = (
        None
        if stack is None
        else ownership.Ownership(
            stack=stack,
            name=d.name,
            protect=d.protect,
            auth=d.authorization or "agent",
            at=next(iter(d.durations.values()), None),
        )
    )
    description = ownership.join(d.description, record) if record else d.description
    routine = {
        "name": d.name,
        "description": description,
        "enabled": d.enabled,
        "triggers": copy.deepcopy(d.triggers),
        "action": dict(d.action),
        "created_at": 1,
        "updated_at": 2,
    }
    routine.update(overrides)
    return routine


def plan(desired_list: list[Desired], live: list[dict[str, Any]], **options: Any) -> Plan:
    return make_plan(desired_list, live, PlanOptions(stack=STACK, target="local:test", **options))


def only(result: Plan) -> Any:
    assert result.ok, [d.render() for d in result.diagnostics]
    [change] = result.changes
    return change


def test_create_when_absent_with_body_carrying_the_ownership_record() -> None:
    change = only(plan([desired()], []))
    assert change.action is Action.CREATE
    assert change.body["description"] == "hello\n\n[managed-by=reconciler v=1 stack=team-a name=r1]"
    assert change.fingerprint == "absent"
    assert change.after["triggers"] == SCHEDULE


def test_in_sync_is_a_no_op_with_no_body() -> None:
    d = desired()
    change = only(plan([d], [live_of(d)]))
    assert change.action is Action.NOOP and change.body is None and not change.diff


def test_absent_equals_default_and_cron_spacing_is_canonical() -> None:
    d = desired(description="")
    live = live_of(d, triggers={"t": {**SCHEDULE["t"], "cron_expression": "0  7 * *  *"}})
    live["action"] = {**ACTION, "input": None, "conversation": None}
    live["unknown_new_service_field"] = 5
    assert only(plan([d], [live])).action is Action.NOOP


def test_changed_cron_is_one_update_naming_the_field() -> None:
    d = desired()
    live = live_of(d, triggers={"t": {**SCHEDULE["t"], "cron_expression": "0 8 * * *"}})
    change = only(plan([d], [live]))
    assert change.action is Action.UPDATE
    assert [(x.dotted, x.before, x.after) for x in change.diff] == [
        ("triggers.t.cron_expression", "0 8 * * *", "0 7 * * *")
    ]
    assert "triggers.t.cron_expression" in change.reason


def test_only_enabled_differs_uses_enable_or_disable() -> None:
    d = desired()
    assert only(plan([d], [live_of(d, enabled=False)])).action is Action.ENABLE
    off = desired(enabled=False)
    assert only(plan([off], [live_of(off, enabled=True)])).action is Action.DISABLE


def test_enabled_plus_another_field_is_an_update() -> None:
    d = desired()
    change = only(
        plan(
            [d],
            [
                live_of(
                    d,
                    enabled=False,
                    description=ownership.join("other", ownership.Ownership(STACK, "r1")),
                )
            ],
        )
    )
    assert change.action is Action.UPDATE
    assert {x.dotted for x in change.diff} == {"description", "enabled"}


def test_authorization_change_is_a_replace() -> None:
    before = desired()
    after = desired(authorization="creator")
    change = only(plan([after], [live_of(before)]))
    assert change.action is Action.REPLACE
    assert change.action.steps == ["delete", "create"]
    assert change.body["authorization"] == {"identity": "creator"}
    assert "auth=creator" in change.body["description"]
    assert "only at creation" in change.reason


@pytest.mark.parametrize(
    ("live_protect", "git_protect"), [(True, True), (True, False), (False, True)]
)
def test_protected_routine_is_never_replaced(live_protect: bool, git_protect: bool) -> None:
    before = desired(protect=live_protect)
    after = desired(authorization="creator", protect=git_protect)
    result = plan([after], [live_of(before)])
    assert not result.ok and result.changes == []
    message = result.diagnostics[0].message
    assert message.startswith("routine 'r1' is protected (reconcile.protect: true), but ")
    assert "authorization changes from agent to creator" in message
    assert message.endswith("set protect: false and apply, then change authorization")


def test_protected_replace_is_reported_as_drift_not_refused() -> None:
    before = desired(protect=True)
    after = desired(authorization="creator", protect=True)
    result = plan([after], [live_of(before)], report_conflicts=True)
    assert result.ok
    assert only(result).action is Action.REPLACE


def test_unmanaged_declared_routine_needs_adopt() -> None:
    d = desired()
    result = plan([d], [live_of(d, stack=None)])
    assert not result.ok
    assert (
        "already exists in the project and was created outside the reconciler"
        in result.diagnostics[0].message
    )
    change = only(plan([d], [live_of(d, stack=None)], adopt=True))
    assert change.action is Action.UPDATE and change.reason.startswith("adopt")
    assert "stack=team-a" in change.body["description"]


def test_routine_owned_by_another_stack_is_refused_unless_adopt_from() -> None:
    d = desired()
    theirs = live_of(d, stack="team-b")
    result = plan([d], [theirs], adopt=True)
    assert not result.ok and "owned by stack 'team-b'" in result.diagnostics[0].message
    change = only(plan([d], [theirs], adopt_from=frozenset({"team-b"})))
    assert change.action is Action.UPDATE and "team-b" in change.reason


def test_a_copy_under_another_name_does_not_inherit_ownership() -> None:
    original = desired()
    copy_ = live_of(original)
    copy_["name"] = "r1-copy"
    result = plan([original], [live_of(original), copy_], prune=True)
    assert [c.action for c in result.changes] == [Action.NOOP]
    assert [(u.name, "copy of 'r1'" in u.reason) for u in result.unmanaged] == [("r1-copy", True)]


def test_hand_made_routines_are_unmanaged_and_never_deleted() -> None:
    keep = desired()
    hand = live_of(desired("hand-made"), stack=None)
    result = plan([keep], [live_of(keep), hand], prune=True)
    assert [c.action for c in result.changes] == [Action.NOOP]
    assert [u.name for u in result.unmanaged] == ["hand-made"]


def test_removed_routine_is_deleted_only_with_prune() -> None:
    keep, gone = desired("keep"), desired("gone")
    live = [live_of(keep), live_of(gone)]
    without = plan([keep], live)
    assert [c.action for c in without.changes] == [Action.NOOP]
    assert [(b.name, "--prune" in b.reason) for b in without.blocked] == [("gone", True)]
    with_prune = plan([keep], live, prune=True)
    assert [(c.name, c.action) for c in with_prune.changes] == [
        ("gone", Action.DELETE),
        ("keep", Action.NOOP),
    ]
    assert with_prune.blocked == []


def test_empty_source_never_prunes() -> None:
    live = [live_of(desired(f"r{i}")) for i in range(3)]
    result = plan([], live, prune=True, max_deletes=100)
    assert result.changes == []
    assert len(result.blocked) == 3
    assert all("zero routines" in b.reason for b in result.blocked)


def test_protected_routine_is_never_deleted() -> None:
    keep, guarded = desired("keep"), desired("guarded", protect=True)
    result = plan([keep], [live_of(keep), live_of(guarded)], prune=True)
    assert [c.action for c in result.changes] == [Action.NOOP]
    assert [(b.name, "protected" in b.reason) for b in result.blocked] == [("guarded", True)]


def test_protect_flag_change_is_an_update_of_the_record_only() -> None:
    d = desired(protect=True)
    change = only(plan([d], [live_of(desired())]))
    assert change.action is Action.UPDATE
    assert [(x.dotted, x.before, x.after) for x in change.diff] == [
        ("reconcile.protect", False, True)
    ]
    assert "protect=1" in change.body["description"]


def test_too_many_deletes_block_every_delete_unless_raised() -> None:
    keep = desired("keep")
    gone = [desired(f"gone{i}") for i in range(4)]
    live = [live_of(keep)] + [live_of(g) for g in gone]
    assert default_max_deletes(5) == 2
    blocked = plan([keep], live, prune=True)
    assert [c.action for c in blocked.changes] == [Action.NOOP]
    assert len(blocked.blocked) == 4 and "--max-deletes 4" in blocked.blocked[0].reason
    allowed = plan([keep], live, prune=True, max_deletes=4)
    assert sum(c.action is Action.DELETE for c in allowed.changes) == 4


@pytest.mark.parametrize(("owned", "limit"), [(1, 1), (3, 1), (4, 1), (5, 2), (40, 10), (100, 10)])
def test_default_max_deletes_is_the_smaller_of_10_and_a_quarter(owned: int, limit: int) -> None:
    assert default_max_deletes(owned) == limit


def test_duration_timer_is_not_re_timed_on_later_plans() -> None:
    timer = {"t": {"type": "timer", "at": 2_000_000_000}}
    d = desired(triggers=timer, durations={"t": "30m"})
    first_live = live_of(d)
    later = desired(triggers={"t": {"type": "timer", "at": 2_000_003_600}}, durations={"t": "30m"})
    assert only(plan([later], [first_live])).action is Action.NOOP
    changed_text = desired(
        triggers={"t": {"type": "timer", "at": 2_000_003_600}}, durations={"t": "2h"}
    )
    change = only(plan([changed_text], [first_live]))
    assert change.action is Action.UPDATE
    assert ("triggers.t.at", 2_000_000_000, 2_000_003_600) in [
        (x.dotted, x.before, x.after) for x in change.diff
    ]


def test_ignored_fields_are_reported_not_drift_and_kept_on_update() -> None:
    d = desired(ignore=(("enabled",),))
    paused = live_of(d, enabled=False)
    change = only(plan([d], [paused]))
    assert change.action is Action.NOOP
    assert [(x.dotted, x.before, x.after) for x in change.ignored] == [("enabled", False, True)]
    edited = desired(ignore=(("enabled",),), description="new text")
    update = only(plan([edited], [paused]))
    assert update.action is Action.UPDATE
    assert update.body["enabled"] is False


def test_global_ignore_patterns_with_wildcards() -> None:
    d = desired()
    live = live_of(d, triggers={"t": {**SCHEDULE["t"], "time_zone": "Europe/Berlin"}})
    change = only(plan([d], [live], ignore=(("triggers", "*", "time_zone"),)))
    assert change.action is Action.NOOP and len(change.ignored) == 1


def test_sensitive_values_are_redacted_in_before_after_and_diff() -> None:
    secret_action = {**ACTION, "input": {"api_key": "s3cret-new", "q": "x"}}
    d = desired(action=secret_action, sensitive=(("action", "input", "api_key"),))
    live = live_of(d, action={**ACTION, "input": {"api_key": "s3cret-old", "q": "x"}})
    change = only(plan([d], [live]))
    text = repr((change.before, change.after, change.diff, change.reason))
    assert "s3cret" not in text
    assert change.after["action"]["input"] == {"api_key": REDACTED, "q": "x"}
    assert [x.dotted for x in change.diff] == ["action.input.api_key"]
    assert change.body["action"]["input"]["api_key"] == "s3cret-new"


def test_undeclared_routines_hide_their_payloads() -> None:
    keep = desired("keep")
    gone = desired("gone", action={**ACTION, "input": "token=abc"})
    result = plan([keep], [live_of(keep), live_of(gone)], prune=True)
    delete = next(c for c in result.changes if c.action is Action.DELETE)
    assert delete.before["action"]["input"] == REDACTED


def test_fingerprints_change_with_content_not_timestamps() -> None:
    d = desired()
    a = only(plan([desired(description="x")], [live_of(d)]))
    b = only(plan([desired(description="x")], [live_of(d, updated_at=99)]))
    c = only(plan([desired(description="x")], [live_of(d, enabled=False)]))
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_changes_are_sorted_and_counts_add_up() -> None:
    a, b, c = desired("a"), desired("b"), desired("c")
    result = plan([c, a, b], [live_of(b, enabled=False)])
    assert [ch.name for ch in result.changes] == ["a", "b", "c"]
    counts = result.counts()
    assert counts["create"] == 2 and counts["enable"] == 1


def test_a_manifest_can_declare_its_own_adoption() -> None:
    d = desired(adopt=True)
    change = only(plan([d], [live_of(d, stack=None)]))
    assert change.action is Action.UPDATE and change.reason.startswith("adopt")
    theirs = plan([d], [live_of(d, stack="team-b")])
    assert not theirs.ok  # declarative adoption never takes routines from another stack


def test_approval_check_ignores_the_timing_of_relative_timers_only() -> None:
    first = plan(
        [desired(triggers={"t": {"type": "timer", "at": 2_000_000_000}}, durations={"t": "30m"})],
        [],
    )
    later = plan(
        [desired(triggers={"t": {"type": "timer", "at": 2_000_000_042}}, durations={"t": "30m"})],
        [],
    )
    assert unapproved_changes(plan_to_json(first), later) == []
    other = plan(
        [
            desired(
                description="changed",
                triggers={"t": {"type": "timer", "at": 2_000_000_042}},
                durations={"t": "30m"},
            )
        ],
        [],
    )
    assert unapproved_changes(plan_to_json(first), other) == ["r1"]
    assert unapproved_changes(plan_to_json(first), plan([], [])) == ["r1"]


def _timer_plan(at: int, durations: dict[str, str]) -> Plan:
    timer = {"t": {"type": "timer", "at": at}}
    return plan([desired(triggers=timer, durations=durations)], [])


def test_approval_ignores_only_the_timing_of_relative_timers() -> None:
    relative = plan_to_json(_timer_plan(1_900_000_000, {"t": "30m"}))
    assert relative["changes"][0]["relative_timers"] == ["t"]
    assert unapproved_changes(relative, _timer_plan(1_900_000_060, {"t": "30m"})) == []
    absolute = plan_to_json(_timer_plan(1_900_000_000, {}))
    assert "relative_timers" not in absolute["changes"][0]
    assert unapproved_changes(absolute, _timer_plan(1_999_999_999, {})) == ["r1"]
    assert unapproved_changes(absolute, _timer_plan(1_900_000_000, {})) == []
    assert unapproved_changes(relative, _timer_plan(1_900_000_000, {})) == ["r1"]


def test_a_plan_fed_page_by_page_equals_the_plan_of_the_whole_list() -> None:
    """``Planning`` (what plan and drift use while the list is still arriving) gives the plan
    ``make_plan`` gives for the whole list, however the list is cut into pages, a duplicate
    name included (the later routine wins in both)."""
    from reconciler.plan.planner import Planning

    wanted = [desired(f"r{i}") for i in range(12)]
    live = [live_of(d) for d in wanted[:8]]
    live[2]["enabled"] = False  # enable
    live[3]["action"] = {**ACTION, "agent_name": "other"}  # update
    live[4] = live_of(wanted[4], stack=None)  # unmanaged: needs adopt
    live += [live_of(desired("gone-1")), live_of(desired("gone-2"), stack="team-b")]
    live.append(live_of(wanted[5], description="later copy wins"))
    options = PlanOptions(stack=STACK, target="local:x.db", prune=True)
    whole = plan_to_json(make_plan(wanted, live, options))
    actions = {a for c in whole["changes"] for a in c["action"]}
    assert actions >= {"create", "update", "delete"}, actions
    assert whole["unmanaged"], whole
    for size in (1, 2, 3, 5, len(live)):
        planning = Planning(wanted, options)
        for start in range(0, len(live), size):
            planning.add(live[start : start + size])
        assert plan_to_json(planning.finish()) == whole, size


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=20,
    )
)
def test_digests_serialise_as_json_dumps_does(value: Any) -> None:
    """The shared encoder behind fingerprints gives exactly ``json.dumps``'s text, so a saved
    plan's fingerprints match those an earlier version wrote."""
    import json

    from reconciler.plan.fingerprint import _canonical_json

    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    assert _canonical_json(value) == expected
