"""Next fire times in plans (issue 14, item 1): the plan JSON's ``next_fires`` against an
independent oracle (croniter) for (cron, zone) cases across both daylight-saving directions and
a hypothesis property; the two places where the firing definition (docs/design.md, "When a
schedule fires") deliberately differs from croniter, each named; before -> after for a cron,
zone or time change; the daylight-saving line; text, markdown, saved plan and render.

Plans are made through the real loader, the embedded project (``LocalBackend``) and the engine,
with the plan's time pinned (``Settings.now``); one test runs the CLI at the real time.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from croniter import croniter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from reconciler.app.engine import Settings, load_desired, plan
from reconciler.contract.localtime import offset_changes
from reconciler.contract.zones import resolve_zone
from reconciler.live.local import LocalBackend
from reconciler.plan import planfile
from reconciler.plan.fires import routine_fires
from reconciler.plan.model import Action, Plan
from reconciler.plan.options import PlanOptions
from reconciler.plan.previews_json import fires_to_json
from reconciler.plan.serialize import plan_from_json, plan_to_json
from reconciler.views import plan_markdown, plan_text
from tests.conftest import run_cli

STACK = "default"


def at(text: str) -> int:
    """Unix seconds of an ISO 8601 time with its offset (``Z`` for UTC)."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def routine(name: str, cron: str, zone: str, **extra: Any) -> dict[str, Any]:
    trigger = {"type": "schedule", "cron_expression": cron, "time_zone": zone}
    return {
        "name": name,
        "triggers": {"t": trigger},
        "action": {"type": "invoke_agent_responses_api", "agent_name": "ops-agent"},
        **extra,
    }


def seed(tmp_path: Path, *routines: dict[str, Any]) -> LocalBackend:
    """The embedded project holding ``routines``, owned by this stack (as apply writes them)."""
    backend = LocalBackend(str(tmp_path / "p.db"))
    for item in routines:
        body = {k: v for k, v in item.items() if k != "name"}
        owned = f"\n\n[managed-by=reconciler v=1 stack={STACK} name={item['name']}]"
        body["description"] = body.get("description", "") + owned
        backend.create_or_update(item["name"], body)
    return backend


def plan_at(
    tmp_path: Path,
    routines: list[dict[str, Any]],
    now: int,
    backend: LocalBackend | None = None,
    **options: Any,
) -> Plan:
    """Plan ``routines`` (a manifest) against the embedded project at time ``now``."""
    manifest = tmp_path / "routines.yaml"
    manifest.write_text(yaml.safe_dump({"routines": routines}, sort_keys=False))
    chosen = PlanOptions(stack=STACK, target="local", now=now, **options)
    configured = Settings(paths=(str(manifest),), variables={}, now=now, options=chosen)
    loaded = load_desired(configured)
    assert loaded.ok, [d.render() for d in loaded.diagnostics]
    with backend or LocalBackend(str(tmp_path / "p.db")) as project:
        return plan(configured, loaded, project)


def next_fires_json(result: Plan, name: str) -> dict[str, Any]:
    change = next(c for c in plan_to_json(result)["changes"] if c["name"] == name)
    fires: dict[str, Any] = change["next_fires"]
    return fires


def croniter_next(cron: str, zone: str, now: int, count: int = 3) -> list[str]:
    """The oracle: croniter's next ``count`` times after ``now`` in the zone (zoneinfo)."""
    start = datetime.fromtimestamp(now, resolve_zone(zone))
    found = croniter(cron, start)
    return [found.get_next(datetime).isoformat() for _ in range(count)]


# --- equal to croniter, across both daylight-saving directions ----------------------------------

ORACLE_CASES = [
    # (cron, zone, now): the issue's example, then each DST direction in several zones
    ("0 7 * * 1-5", "Tokyo Standard Time", "2026-12-05T00:00:00Z"),
    ("0 7 * * *", "Europe/Stockholm", "2027-03-26T12:00:00Z"),  # spring forward (+01 -> +02)
    ("0 7 * * *", "Europe/Stockholm", "2027-10-29T12:00:00Z"),  # fall back (+02 -> +01)
    ("30 6 * * MON", "W. Europe Standard Time", "2027-03-20T00:00:00Z"),
    ("*/30 * * * *", "Europe/Stockholm", "2027-03-28T00:10:00Z"),  # through the gap itself
    ("30 1 * * *", "America/New_York", "2027-11-06T12:00:00Z"),  # 01:30 happens twice
    ("0 * * * *", "America/New_York", "2027-11-07T04:30:00Z"),  # the repeated hour, hourly
    ("*/15 1 * * *", "America/New_York", "2027-11-07T05:20:00Z"),
    ("0 8 1 * *", "Eastern Standard Time", "2027-02-15T00:00:00Z"),
    ("0 3 * * 0", "Australia/Sydney", "2027-09-30T00:00:00Z"),  # southern spring: October
    ("0 3 * * 0", "Australia/Sydney", "2027-03-30T00:00:00Z"),  # southern autumn: April
    ("0 9 * * *", "Pacific/Auckland", "2027-04-02T00:00:00Z"),
    ("15 1 * * *", "America/Santiago", "2027-09-03T00:00:00Z"),  # a change at midnight
    ("45 23 * * *", "Asia/Kolkata", "2027-01-01T00:00:00Z"),  # +05:30, no DST
    ("0 0 * * *", "UTC", "2026-12-31T23:59:00Z"),
]


@pytest.mark.parametrize(("cron", "zone", "now"), ORACLE_CASES)
def test_next_fires_in_the_plan_json_equal_croniter(
    tmp_path: Path, cron: str, zone: str, now: str
) -> None:
    result = plan_at(tmp_path, [routine("r", cron, zone)], at(now))
    fires = next_fires_json(result, "r")["t"]
    assert fires["after"] == {
        "time_zone": zone,
        "enabled": True,
        "fires": croniter_next(cron, zone, at(now)),
    }
    assert "before" not in fires  # a create has no earlier fires


def test_the_issue_example_reads_as_promised(tmp_path: Path) -> None:
    result = plan_at(
        tmp_path, [routine("r", "0 7 * * 1-5", "Tokyo Standard Time")], at("2026-12-05T00:00:00Z")
    )
    text = render_text(result)
    assert (
        "      next: Mon 2026-12-07 07:00 JST (2026-12-06 22:00 UTC), "
        "Tue 2026-12-08 07:00 JST (2026-12-07 22:00 UTC), "
        "Wed 2026-12-09 07:00 JST (2026-12-08 22:00 UTC)\n"
    ) in text
    assert "dst" not in text  # Tokyo keeps its offset all year


# --- where the firing definition deliberately differs from croniter -----------------------------


def test_difference_a_skipped_local_time_does_not_fire_croniter_fires_at_the_gaps_end(
    tmp_path: Path,
) -> None:
    """02:30 does not exist in Stockholm on 2027-03-28 (02:00 -> 03:00): the firing definition
    fires at every minute whose wall-clock time matches, so not that day; croniter fires once at
    03:00, the first minute after the gap, which the cron never names."""
    now = at("2027-03-27T12:00:00Z")
    result = plan_at(tmp_path, [routine("r", "30 2 * * *", "Europe/Stockholm")], now)
    fires = next_fires_json(result, "r")["t"]
    assert fires["after"]["fires"] == [
        "2027-03-29T02:30:00+02:00",
        "2027-03-30T02:30:00+02:00",
        "2027-03-31T02:30:00+02:00",
    ]
    assert croniter_next("30 2 * * *", "Europe/Stockholm", now) == [
        "2027-03-28T03:00:00+02:00",
        "2027-03-29T02:30:00+02:00",
        "2027-03-30T02:30:00+02:00",
    ]
    assert fires["dst"][0]["skipped"] == ["02:30"]


def test_difference_a_skipped_midnight_does_not_fire_croniter_fires_at_01_00(
    tmp_path: Path,
) -> None:
    """Santiago moves its clocks at midnight (2027-09-05 00:00 -> 01:00): 00:15 does not exist
    that day. The firing definition skips it; croniter fires at 01:00."""
    now = at("2027-09-03T12:00:00Z")
    result = plan_at(tmp_path, [routine("r", "15 0 * * *", "America/Santiago")], now)
    assert next_fires_json(result, "r")["t"]["after"]["fires"] == [
        "2027-09-04T00:15:00-04:00",
        "2027-09-06T00:15:00-03:00",
        "2027-09-07T00:15:00-03:00",
    ]
    assert croniter_next("15 0 * * *", "America/Santiago", now)[1] == "2027-09-05T01:00:00-03:00"


def test_difference_a_repeated_time_in_a_half_hour_overlap_fires_twice_croniter_once(
    tmp_path: Path,
) -> None:
    """Lord Howe Island turns its clocks back 30 minutes (2027-04-04 02:00 +11:00 -> 01:30
    +10:30), so 01:40 happens twice. The firing definition fires both (a repeated local time
    fires twice, as croniter also does when a whole hour repeats); croniter fires it once."""
    now = at("2027-04-04T01:30:00+11:00")
    result = plan_at(tmp_path, [routine("r", "*/20 1-3 * * *", "Australia/Lord_Howe")], now)
    assert next_fires_json(result, "r")["t"]["after"]["fires"] == [
        "2027-04-04T01:40:00+11:00",
        "2027-04-04T01:40:00+10:30",
        "2027-04-04T02:00:00+10:30",
    ]
    assert croniter_next("*/20 1-3 * * *", "Australia/Lord_Howe", now) == [
        "2027-04-04T01:40:00+11:00",
        "2027-04-04T02:00:00+10:30",
        "2027-04-04T02:20:00+10:30",
    ]


# --- the property ---------------------------------------------------------------------------------

ZONES = [
    "Europe/Stockholm",
    "America/New_York",
    "Australia/Sydney",
    "America/Santiago",
    "Pacific/Auckland",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "UTC",
    "W. Europe Standard Time",
]
MINUTES = ["0", "15", "30", "45", "*/15", "*/30", "5,35", "*/20", "59"]
HOURS = ["*", "0", "1", "2", "3", "7", "*/6", "1-3", "22", "23"]
DAYS = ["* * *", "* * 1-5", "* * 0", "1 * *", "*/2 * *", "* 3,10 *"]
LOW, HIGH = at("2026-06-01T00:00:00Z"), at("2029-06-01T00:00:00Z")


def _wall(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None, fold=0)


def _ambiguous(moment: datetime) -> bool:
    """The wall-clock time happens twice (the fall-back overlap)."""
    wall = _wall(moment)
    zone = moment.tzinfo
    return wall.replace(tzinfo=zone).utcoffset() != wall.replace(tzinfo=zone, fold=1).utcoffset()


@st.composite
def nows(draw: st.DrawFn, zone: str) -> int:
    """Any time, or (half the time) a time within a day before one of the zone's changes."""
    changes = offset_changes(resolve_zone(zone), LOW, HIGH)
    if changes and draw(st.booleans()):
        change = draw(st.sampled_from(changes))
        return change.at - draw(st.integers(0, 86_400))
    return draw(st.integers(LOW, HIGH))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    zone=st.sampled_from(ZONES),
    cron=st.tuples(st.sampled_from(MINUTES), st.sampled_from(HOURS), st.sampled_from(DAYS)),
    data=st.data(),
)
def test_property_next_fires_equal_croniter_but_for_skipped_and_repeated_times(
    zone: str, cron: tuple[str, str, str], data: st.DataObject
) -> None:
    """Up to our third fire, both fire at the same instants once the local times that do not
    exist or happen twice are set aside (croniter's fire at the end of a gap is not a time the
    cron names; a repeated time fires twice in ours, once or twice in croniter's); and every
    fire of ours is at a wall-clock time the cron names."""
    expression = " ".join(cron)
    now = data.draw(nows(zone))
    trigger = {"type": "schedule", "cron_expression": expression, "time_zone": zone}
    item = {"triggers": {"t": trigger}}
    tz = resolve_zone(zone)
    ours = [
        datetime.fromisoformat(text).astimezone(tz)
        for text in fires_to_json(routine_fires(None, item, now)["t"])["after"]["fires"]
    ]
    assert len(ours) == 3 and all(now < m.timestamp() for m in ours)
    assert [m.timestamp() for m in ours] == sorted({m.timestamp() for m in ours})
    assert all(croniter.match(expression, _wall(m)) for m in ours)
    oracle, found = [], croniter(expression, datetime.fromtimestamp(now, tz))
    while (moment := found.get_next(datetime)).timestamp() <= ours[-1].timestamp():
        oracle.append(moment)
    named = [m for m in oracle if croniter.match(expression, _wall(m)) and not _ambiguous(m)]
    assert [m.isoformat() for m in ours if not _ambiguous(m)] == [m.isoformat() for m in named]


# --- before -> after, and the daylight-saving line ----------------------------------------------


def test_a_zone_change_shows_the_fires_before_and_after(tmp_path: Path) -> None:
    now = at("2026-12-05T00:00:00Z")
    backend = seed(tmp_path, routine("r", "0 7 * * 1-5", "Europe/Stockholm"))
    result = plan_at(tmp_path, [routine("r", "0 7 * * 1-5", "Tokyo Standard Time")], now, backend)
    fires = next_fires_json(result, "r")["t"]
    assert fires["before"]["time_zone"] == "Europe/Stockholm"
    assert fires["before"]["fires"] == croniter_next("0 7 * * 1-5", "Europe/Stockholm", now)
    assert fires["after"]["fires"] == croniter_next("0 7 * * 1-5", "Tokyo Standard Time", now)
    text = render_text(result)
    assert "      next before: Mon 2026-12-07 07:00 CET (2026-12-07 06:00 UTC), " in text
    assert "      next after:  Mon 2026-12-07 07:00 JST (2026-12-06 22:00 UTC), " in text


def test_a_change_elsewhere_shows_only_the_next_fires(tmp_path: Path) -> None:
    now = at("2026-12-05T00:00:00Z")
    backend = seed(tmp_path, routine("r", "0 7 * * *", "UTC"))
    result = plan_at(
        tmp_path, [routine("r", "0 7 * * *", "UTC", description="new words")], now, backend
    )
    assert result.changes[0].action is Action.UPDATE
    fires = next_fires_json(result, "r")["t"]
    assert "before" not in fires
    assert fires["after"]["fires"][0] == "2026-12-05T07:00:00+00:00"


def test_a_trigger_type_change_shows_the_schedule_before_and_the_timer_after(
    tmp_path: Path,
) -> None:
    now = at("2026-12-05T00:00:00Z")
    backend = seed(tmp_path, routine("r", "0 7 * * *", "UTC"))
    timer = routine("r", "0 7 * * *", "UTC")
    timer["triggers"] = {"t": {"type": "timer", "at": "2027-01-01T09:00:00Z"}}
    result = plan_at(tmp_path, [timer], now, backend)
    assert result.changes[0].action is Action.REPLACE
    fires = next_fires_json(result, "r")["t"]
    assert fires["before"]["fires"] == croniter_next("0 7 * * *", "UTC", now)
    assert fires["after"] == {
        "time_zone": None,
        "enabled": True,
        "fires": ["2027-01-01T09:00:00+00:00"],
    }
    assert "      next after:  Fri 2027-01-01 09:00 UTC\n" in render_text(result)


def test_a_disabled_routine_does_not_fire_and_says_so(tmp_path: Path) -> None:
    result = plan_at(
        tmp_path, [routine("r", "0 7 * * *", "UTC", enabled=False)], at("2026-12-05T00:00:00Z")
    )
    assert next_fires_json(result, "r")["t"]["after"] == {
        "time_zone": "UTC",
        "enabled": False,
        "fires": [],
    }
    assert "      next: none (the routine is disabled)\n" in render_text(result)


def test_a_sensitive_schedule_shows_no_time_and_counts_for_no_agent(tmp_path: Path) -> None:
    secret = routine(
        "r", "17 3 * * *", "UTC", reconcile={"sensitive": ["/triggers/t/cron_expression"]}
    )
    result = plan_at(tmp_path, [secret], at("2026-12-05T00:00:00Z"))
    assert not result.changes[0].next_fires and result.forecast is None
    assert "03:17" not in json.dumps(plan_to_json(result)) + render_text(result)


def test_the_dst_line_names_the_skipped_and_the_repeated_fire(tmp_path: Path) -> None:
    now = at("2027-01-10T00:00:00Z")
    result = plan_at(tmp_path, [routine("r", "30 2 * * *", "Europe/Stockholm")], now)
    assert next_fires_json(result, "r")["t"]["dst"] == [
        {
            "at": "2027-03-28T03:00:00+02:00",
            "offset_before": "+01:00",
            "offset_after": "+02:00",
            "skipped": ["02:30"],
            "repeated": [],
        },
        {
            "at": "2027-10-31T02:00:00+01:00",
            "offset_before": "+02:00",
            "offset_after": "+01:00",
            "skipped": [],
            "repeated": ["02:30"],
        },
    ]
    assert (
        "      dst: Sun 2027-03-28 CET -> CEST: UTC times 1h earlier, 02:30 skipped (does not "
        "exist that day); Sun 2027-10-31 CEST -> CET: UTC times 1h later, 02:30 fires twice\n"
    ) in render_text(result)


def test_a_dst_change_between_fires_that_all_lie_on_one_side_is_not_mentioned(
    tmp_path: Path,
) -> None:
    """A yearly fire on 1 January never sees its UTC time move within twelve months."""
    now = at("2026-12-20T00:00:00Z")
    result = plan_at(tmp_path, [routine("r", "0 9 1 1 *", "Europe/Stockholm")], now)
    assert "dst" not in next_fires_json(result, "r")["t"]


def test_a_weekday_schedule_lists_both_changes_without_skips(tmp_path: Path) -> None:
    now = at("2027-01-10T00:00:00Z")
    result = plan_at(tmp_path, [routine("r", "0 7 * * 1-5", "America/New_York")], now)
    shifts = next_fires_json(result, "r")["t"]["dst"]
    assert [(s["at"], s["skipped"], s["repeated"]) for s in shifts] == [
        ("2027-03-14T03:00:00-04:00", [], []),
        ("2027-11-07T01:00:00-05:00", [], []),
    ]


# --- the other views, the saved plan, render --------------------------------------------------


def render_text(result: Plan) -> str:
    console = Console(file=io.StringIO(), color_system=None, width=300)
    plan_text.render(console, result)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(text, str)
    return text


def test_markdown_shows_the_next_fires_inside_the_routines_details_block(tmp_path: Path) -> None:
    now = at("2026-12-05T00:00:00Z")
    result = plan_at(tmp_path, [routine("r", "0 7 * * 1-5", "Tokyo Standard Time")], now)
    text = plan_markdown.render([("prod", result)])
    block = text[text.index("<details>") : text.index("</details>")]
    assert (
        "**Next fires**: Mon 2026-12-07 07:00 JST (2026-12-06 22:00 UTC), "
        "Tue 2026-12-08 07:00 JST (2026-12-07 22:00 UTC)"
    ) in block


def test_the_saved_plan_and_render_keep_every_fire(tmp_path: Path) -> None:
    now = at("2027-01-10T00:00:00Z")
    result = plan_at(tmp_path, [routine("r", "30 2 * * *", "Europe/Stockholm")], now)
    assert result.changes[0].next_fires["t"].dst
    assert planfile.decode(json.loads(json.dumps(planfile.encode(result)))) == result
    again = plan_from_json(json.loads(json.dumps(plan_to_json(result))))
    assert again.changes[0].next_fires == result.changes[0].next_fires
    assert render_text(again) == render_text(result)


def test_an_enable_shows_next_fires_and_a_no_op_does_not(tmp_path: Path) -> None:
    now = at("2026-12-05T00:00:00Z")
    same, off = routine("same", "0 7 * * *", "UTC"), routine("off", "0 7 * * *", "UTC")
    backend = seed(tmp_path, same, {**off, "enabled": False})
    result = plan_at(tmp_path, [same, off], now, backend)
    actions = {c.name: c for c in result.changes}
    assert actions["same"].action is Action.NOOP and actions["off"].action is Action.ENABLE
    assert not actions["same"].next_fires  # firing starts with the enable: show when
    fires = actions["off"].next_fires["t"].after
    assert fires is not None and fires.fires[0] == at("2026-12-05T07:00:00Z")
    assert "      next: Sat 2026-12-05 07:00 UTC" in render_text(result)


def test_the_cli_plan_json_has_next_fires_and_drift_has_none(tmp_path: Path) -> None:
    """At the real time: a yearly schedule, so the clock cannot cross a fire during the test."""
    start = int(datetime.now(UTC).timestamp())
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        yaml.safe_dump({"routines": [routine("yearly", "0 7 1 1 *", "Tokyo Standard Time")]})
    )
    endpoint = f"local:{tmp_path}/p.db"
    done = run_cli("plan", str(manifest), "--endpoint", endpoint, "-o", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    fires = json.loads(done.stdout)["changes"][0]["next_fires"]["t"]["after"]["fires"]
    assert fires == croniter_next("0 7 1 1 *", "Tokyo Standard Time", start)
    applied = run_cli(
        "apply", str(manifest), "--endpoint", endpoint, "--auto-approve", cwd=tmp_path
    )
    assert applied.returncode == 0, applied.stderr
    manifest.write_text(
        yaml.safe_dump({"routines": [routine("yearly", "0 8 1 1 *", "Tokyo Standard Time")]})
    )
    drift = run_cli("drift", str(manifest), "--endpoint", endpoint, "-o", "json", cwd=tmp_path)
    assert drift.returncode == 2, drift.stderr
    assert "next_fires" not in drift.stdout and "forecast" not in drift.stdout
