"""Trigger and action types are fixed at creation: changing one is a replace (delete, then
create), refused for protected routines exactly as an authorization change is."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from azure.ai.projects import AIProjectClient

from reconciler.emulator import EmulatedClock, Emulator
from reconciler.plan.kinds import kind_changes
from reconciler.plan.model import Action
from tests.conftest import BASE_ROUTINE, run_cli
from tests.emulator_fixtures import HTTP, StaticToken
from tests.test_plan import SCHEDULE, desired, live_of, only, plan

TIMER = {"t": {"type": "timer", "at": 4_000_000_000}}
GITHUB = {
    "type": "github_issue",
    "connection_id": "c",
    "owner": "o",
    "repository": "r",
    "issue_event": "opened",
}
INVOCATIONS = {"type": "invoke_agent_invocations_api", "agent_name": "agent"}
WHY = "trigger and action types cannot change after creation, so the routine is deleted and "


def test_a_trigger_type_change_is_a_replace_with_its_reason() -> None:
    before, after = desired(), desired(triggers=TIMER)
    change = only(plan([after], [live_of(before)]))
    assert change.action is Action.REPLACE and change.action.steps == ["delete", "create"]
    assert change.reason == f"trigger 't' changes type from schedule to timer; {WHY}re-created"
    assert change.recreate_for == ["trigger type"]
    assert change.body["triggers"] == TIMER
    [diff] = change.diff
    assert (diff.dotted, diff.before["type"], diff.after["type"]) == (
        "triggers.t",
        "schedule",
        "timer",
    )


def test_an_action_type_change_is_a_replace() -> None:
    change = only(plan([desired(action=INVOCATIONS)], [live_of(desired())]))
    assert change.action is Action.REPLACE
    assert change.reason.startswith(
        "action changes type from invoke_agent_responses_api to invoke_agent_invocations_api; "
    )
    assert change.recreate_for == ["action type"]


def test_authorization_and_kinds_together_name_every_cause() -> None:
    after = desired(triggers=TIMER, action=INVOCATIONS, authorization="creator")
    change = only(plan([after], [live_of(desired())]))
    assert change.action is Action.REPLACE
    assert change.recreate_for == ["authorization", "trigger type", "action type"]
    assert change.reason.startswith("authorization changes from agent to creator, trigger 't'")
    assert "honours authorization only at creation, and trigger and action types" in change.reason


def test_authorization_alone_keeps_its_reason() -> None:
    change = only(plan([desired(authorization="creator")], [live_of(desired())]))
    assert change.reason == (
        "authorization changes from agent to creator; the service honours it only at creation, "
        "so the routine is deleted and re-created"
    )


@pytest.mark.parametrize(
    ("live_triggers", "git_triggers", "facts"),
    [
        (SCHEDULE, SCHEDULE, []),
        ({"u": SCHEDULE["t"]}, SCHEDULE, []),  # renamed, same type: an in-place update
        (SCHEDULE, {"u": GITHUB}, ["trigger 't' (schedule) gives way to trigger 'u' (github_issue)"]),  # noqa: E501
        (SCHEDULE, {"t": GITHUB}, ["trigger 't' changes type from schedule to github_issue"]),
        ({**SCHEDULE, "x": GITHUB}, SCHEDULE, []),  # only removed: no kind changes
        (SCHEDULE, {**SCHEDULE, "x": GITHUB}, []),  # only added
    ],
)  # fmt: skip
def test_triggers_are_compared_by_name(
    live_triggers: dict[str, Any], git_triggers: dict[str, Any], facts: list[str]
) -> None:
    found = kind_changes({"triggers": live_triggers}, {"triggers": git_triggers})
    assert [f.fact.removesuffix(", of another type") for f in found] == facts


def test_a_renamed_trigger_of_the_same_type_is_an_update() -> None:
    change = only(plan([desired()], [live_of(desired(), triggers={"old": SCHEDULE["t"]})]))
    assert change.action is Action.UPDATE


def test_a_renamed_trigger_of_another_type_is_a_replace() -> None:
    change = only(plan([desired(triggers={"once": TIMER["t"]})], [live_of(desired())]))
    assert change.action is Action.REPLACE
    assert change.reason.startswith("trigger 't' (schedule) gives way to trigger 'once' (timer)")


@pytest.mark.parametrize(
    ("live_protect", "git_protect"), [(True, True), (True, False), (False, True)]
)
def test_a_protected_routine_never_changes_kind(live_protect: bool, git_protect: bool) -> None:
    result = plan(
        [desired(triggers=TIMER, protect=git_protect)], [live_of(desired(protect=live_protect))]
    )
    assert not result.ok and result.changes == []
    [message] = [d.message for d in result.diagnostics]
    assert message.startswith(
        "routine 'r1' is protected (reconcile.protect: true), but trigger 't'"
    )
    assert message.endswith("set protect: false and apply, then change the trigger type")
    drift = plan(
        [desired(triggers=TIMER, protect=True)],
        [live_of(desired(protect=True))],
        report_conflicts=True,
    )
    assert only(drift).action is Action.REPLACE  # drift reports it, never refuses


def test_an_ignored_trigger_type_is_not_a_kind_change() -> None:
    d = desired(triggers=TIMER, ignore=(("triggers",),))
    assert only(plan([d], [live_of(desired())])).action is Action.NOOP


def test_adopting_never_replaces() -> None:
    d = desired(triggers=TIMER)
    result = plan([d], [live_of(desired(), stack=None)], adopt=True)
    assert not result.ok
    [message] = [x.message for x in result.diagnostics]
    assert message.startswith("routine 'r1' cannot be adopted and replaced at once (trigger 't'")
    assert message.endswith("adopt it first with its current trigger type in git, then change "
                            "the trigger type")  # fmt: skip
    moved = plan([d], [live_of(desired(), stack="team-b")], adopt_from=frozenset({"team-b"}))
    assert only(moved).action is Action.REPLACE  # owned elsewhere, named: precheck allows it


# --- through the CLI and the real SDK ---------------------------------------------------------


def _timer_routine(at: int) -> str:
    return BASE_ROUTINE.replace(
        '        type: schedule\n        cron_expression: "0 7 * * *"\n        time_zone: UTC',
        f"        type: timer\n        at: {at}",
    )


def test_a_trigger_type_change_is_replaced_on_the_emulator(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(BASE_ROUTINE)
    with Emulator(tmp_path / "emu.db", clock=EmulatedClock(speed=0)) as emu:
        endpoint = emu.endpoint()
        done = run_cli("apply", "r.yaml", "--auto-approve", "--endpoint", endpoint, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        (tmp_path / "r.yaml").write_text(_timer_routine(int(time.time()) + 86_400))
        planned = run_cli("plan", "r.yaml", "--output", "json", "--endpoint", endpoint,
                          cwd=tmp_path)  # fmt: skip
        assert planned.returncode == 0, planned.stderr
        [change] = json.loads(planned.stdout)["changes"]
        assert change["action"] == ["delete", "create"]
        assert change["reason"].startswith("trigger 't' changes type from schedule to timer")
        text = run_cli("plan", "r.yaml", "--endpoint", endpoint, cwd=tmp_path).stdout
        assert "! replace  r1  (trigger 't' changes type from schedule to timer;" in text
        done = run_cli("apply", "r.yaml", "--auto-approve", "--endpoint", endpoint, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "replaced" in done.stdout
        client = AIProjectClient(endpoint=endpoint, credential=StaticToken())
        triggers = client.beta.routines.get("r1", **HTTP).triggers
        assert triggers is not None and triggers["t"]["type"] == "timer"


def test_a_protected_kind_change_fails_the_plan_on_the_embedded_project(tmp_path: Path) -> None:
    protected = BASE_ROUTINE + "    reconcile:\n      protect: true\n"
    (tmp_path / "r.yaml").write_text(protected)
    endpoint = f"local:{tmp_path}/p.db"
    done = run_cli("apply", "r.yaml", "--auto-approve", "--endpoint", endpoint, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "r.yaml").write_text(protected.replace("invoke_agent_responses_api",
                                                       "invoke_agent_invocations_api"))  # fmt: skip
    planned = run_cli("plan", "r.yaml", "--endpoint", endpoint, cwd=tmp_path)
    assert planned.returncode == 1
    first = planned.stderr.strip().splitlines()[0]
    assert first.startswith("r.yaml:2:5: routines[0].name: routine 'r1' is protected")
    assert "is protected (reconcile.protect: true), but action changes type" in first
    assert "Traceback" not in planned.stderr
