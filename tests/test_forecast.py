"""The load forecast in plans (issue 14, item 3): per agent, runs per day before -> after and
the busiest UTC minute, with a warning above the herd threshold (default 20; ``herd_threshold``
in reconciler.yaml, per environment, and ``--herd-threshold``).

Plans go through the real loader, the embedded project and the engine at a pinned time; the
threshold's configuration through the CLI. The busiest minute is checked against croniter.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from croniter import croniter
from rich.console import Console

from reconciler.contract.zones import resolve_zone
from reconciler.plan import planfile
from reconciler.plan.forecast import agent_of, forecast
from reconciler.plan.model import Plan
from reconciler.plan.serialize import plan_from_json, plan_to_json
from reconciler.views import plan_markdown, plan_text
from tests.conftest import run_cli
from tests.test_next_fires import at, plan_at, routine, seed

NOW = at("2026-12-05T00:00:00Z")  # a Saturday


def of(agent: str, name: str, cron: str, zone: str = "UTC", **extra: Any) -> dict[str, Any]:
    item = routine(name, cron, zone, **extra)
    item["action"] = {"type": "invoke_agent_responses_api", "agent_name": agent}
    return item


def loads(result: Plan) -> dict[str, dict[str, Any]]:
    doc = plan_to_json(result)["forecast"]
    assert doc is not None
    return {a["agent"]: a for a in doc["agents"]}


def test_runs_per_day_before_and_after_per_agent(tmp_path: Path) -> None:
    backend = seed(tmp_path, of("a", "daily", "0 7 * * *"), of("b", "weekly", "0 7 * * MON"))
    result = plan_at(
        tmp_path,
        [
            of("a", "daily", "0 7,19 * * *"),  # twice a day now
            of("a", "weekdays", "0 9 * * 1-5", "Tokyo Standard Time"),  # new
            of("b", "weekly", "0 7 * * MON"),  # unchanged: agent b is not reported
        ],
        NOW,
        backend,
    )
    agents = loads(result)
    assert set(agents) == {"a"}
    start = date(2026, 12, 5)
    weekdays = sum((start + timedelta(days=n)).weekday() < 5 for n in range(365))
    assert weekdays == 260  # 52 weeks, and one Saturday
    assert agents["a"]["runs"] == {"before": 365, "after": 2 * 365 + weekdays}
    assert agents["a"]["runs_per_day"] == {"before": 1.0, "after": round(990 / 365, 3)}


def test_disabled_routines_deletes_and_event_triggers_run_nothing(tmp_path: Path) -> None:
    gone = of("a", "gone", "0 6 * * *")
    backend = seed(tmp_path, of("a", "kept", "0 7 * * *"), gone)
    event = of("e", "on-issue", "0 7 * * *")
    issue = {"connection_id": "c", "owner": "o", "repository": "r", "issue_event": "opened"}
    event["triggers"] = {"t": {"type": "github_issue", **issue}}
    result = plan_at(
        tmp_path,
        [of("a", "kept", "0 7 * * *", enabled=False), of("a", "new", "0 8 * * *"), event],
        NOW,
        backend,
        prune=True,
    )
    agents = loads(result)
    assert "e" not in agents  # an agent only events reach has no predictable load
    assert agents["a"]["runs"] == {"before": 2 * 365, "after": 365}  # kept off, gone deleted


def test_a_timer_counts_once_within_the_year(tmp_path: Path) -> None:
    timer = of("a", "once", "0 7 * * *")
    timer["triggers"] = {"t": {"type": "timer", "at": "2027-02-01T09:00:30Z"}}
    later = of("a", "later", "0 7 * * *")
    later["triggers"] = {"t": {"type": "timer", "at": "2028-02-01T09:00:00Z"}}
    agents = loads(plan_at(tmp_path, [timer, later], NOW))
    assert agents["a"]["runs"] == {"before": 0, "after": 1}
    assert agents["a"]["busiest_minute"]["after"] is None  # beyond the 31 days searched


def test_the_busiest_minute_is_counted_in_utc_across_zones(tmp_path: Path) -> None:
    """07:00 in Tokyo is 22:00 UTC the day before; 23:00 in Stockholm is 22:00 UTC in winter
    only, so they meet in December and not after the end of March."""
    routines = [
        of("a", "tokyo", "0 7 * * *", "Tokyo Standard Time"),
        of("a", "stockholm", "0 23 * * *", "Europe/Stockholm"),
        of("a", "utc", "0 22 * * *", "UTC"),
    ]
    winter = loads(plan_at(tmp_path, routines, NOW))["a"]["busiest_minute"]["after"]
    assert winter == {
        "at": "2026-12-05T22:00:00+00:00",
        "routines": 3,
        "names": ["stockholm", "tokyo", "utc"],
    }
    (tmp_path / "p.db").unlink()
    summer = loads(plan_at(tmp_path, routines, at("2027-04-05T00:00:00Z")))["a"]
    assert summer["busiest_minute"]["after"]["routines"] == 2
    assert summer["busiest_minute"]["after"]["names"] == ["tokyo", "utc"]


def croniter_busiest(routines: list[dict[str, Any]], now: int, days: int) -> int:
    """The oracle: count every routine's croniter fires per UTC minute over the window."""
    counts: Counter[int] = Counter()
    for item in routines:
        trigger = item["triggers"]["t"]
        zone = resolve_zone(trigger["time_zone"])
        found = croniter(trigger["cron_expression"], datetime.fromtimestamp(now, zone))
        end = datetime.fromtimestamp(now, zone) + timedelta(days=days)
        while (moment := found.get_next(datetime)) <= end:
            counts[int(moment.timestamp())] += 1
    return max(counts.values())


def test_the_busiest_minute_equals_an_oracle_count(tmp_path: Path) -> None:
    crons = ["0 7 * * *", "0 7 * * 1-5", "30 6 * * *", "0 */6 * * *", "0 22 * * 0", "0 8 1 * *"]
    zones = ["UTC", "Tokyo Standard Time", "Europe/London", "Asia/Kolkata", "America/New_York"]
    routines = [
        of("a", f"r{i:02d}", crons[i % len(crons)], zones[i % len(zones)]) for i in range(30)
    ]
    after = loads(plan_at(tmp_path, routines, NOW))["a"]["busiest_minute"]["after"]
    assert after["routines"] == croniter_busiest(routines, NOW, 31)


def test_more_than_the_threshold_in_one_minute_is_a_warning(tmp_path: Path) -> None:
    herd = [of("a", f"r{i:02d}", "0 7 * * *", "Europe/Stockholm") for i in range(21)]
    result = plan_at(tmp_path, herd, NOW)
    assert result.ok and loads(result)["a"]["herd"] is True
    [warning] = [d for d in result.diagnostics if "herd" in d.message]
    assert warning.severity == "warning" and warning.file and warning.line
    assert warning.message == (
        "agent 'a': 21 routines fire in the same minute (Sat 2026-12-05 06:00 UTC: r00, r01, "
        "r02, r03, r04 and 16 more), above the herd threshold of 20; spread their minutes, or "
        "raise herd_threshold in reconciler.yaml (--herd-threshold)"
    )
    console = Console(file=io.StringIO(), color_system=None, width=300)
    plan_text.render(console, result)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert (
        "  ! a: 0.00 -> 21.00 runs/day; busiest minute: none -> 21 routines "
        "(Sat 2026-12-05 06:00 UTC)  (above the herd threshold of 20)\n"
    ) in text
    markdown = plan_markdown.render([("prod", result)])
    assert "| `a` | 0.00 -> 21.00 runs/day | none -> 21 routines (Sat 2026-12-05 06:00 UTC) | " in (
        markdown.replace("-&gt;", "->")
    )
    assert "**above the herd threshold of 20**" in markdown


def test_exactly_the_threshold_is_no_warning_and_the_threshold_is_an_option(
    tmp_path: Path,
) -> None:
    herd = [of("a", f"r{i:02d}", "0 7 * * *") for i in range(20)]
    result = plan_at(tmp_path, herd, NOW)
    assert not result.diagnostics and loads(result)["a"]["herd"] is False
    lower = plan_at(tmp_path, herd, NOW, herd_threshold=19)
    assert [d.severity for d in lower.diagnostics] == ["warning"]


def test_the_forecast_round_trips_the_saved_plan_and_render(tmp_path: Path) -> None:
    backend = seed(tmp_path, of("a", "daily", "0 7 * * *"))
    result = plan_at(tmp_path, [of("a", "daily", "0 8 * * *")], NOW, backend)
    assert result.forecast is not None and result.forecast.agents[0].busiest_before is not None
    assert planfile.decode(json.loads(json.dumps(planfile.encode(result)))) == result
    assert plan_from_json(json.loads(json.dumps(plan_to_json(result)))).forecast == result.forecast


def test_no_pending_change_no_forecast(tmp_path: Path) -> None:
    backend = seed(tmp_path, of("a", "daily", "0 7 * * *"))
    result = plan_at(tmp_path, [of("a", "daily", "0 7 * * *")], NOW, backend)
    assert result.forecast is None and plan_to_json(result)["forecast"] is None


def test_routines_of_other_stacks_and_unmanaged_ones_count_for_the_agent(tmp_path: Path) -> None:
    """The agent receives every routine's runs, whoever manages it."""
    backend = seed(tmp_path)
    by_hand = of("a", "x", "0 7 * * *")
    del by_hand["name"]
    backend.create_or_update("by-hand", by_hand)
    result = plan_at(tmp_path, [of("a", "mine", "0 7 * * *")], NOW, backend)
    busiest = loads(result)["a"]["busiest_minute"]
    assert busiest["before"]["names"] == ["by-hand"]
    assert busiest["after"] == {
        "at": "2026-12-05T07:00:00+00:00",
        "routines": 2,
        "names": ["by-hand", "mine"],
    }


def test_agent_endpoint_ids_are_agents_too() -> None:
    action = {"type": "invoke_agent_responses_api", "agent_endpoint_id": "ep-1"}
    assert agent_of({"action": action}) == "endpoint:ep-1"
    assert agent_of({"action": "odd"}) is None
    assert forecast({}, {}, [], NOW) is None


# --- the threshold's configuration, through the CLI --------------------------------------------


def herd_manifest(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "manifests" / "herd.yaml"
    path.parent.mkdir(exist_ok=True)
    routines = [of("a", f"r{i:02d}", "0 7 * * *") for i in range(count)]
    path.write_text(yaml.safe_dump({"routines": routines}))
    return path


def cli_plan(tmp_path: Path, *args: str) -> Any:
    return run_cli("plan", *args, "--endpoint", f"local:{tmp_path}/p.db", cwd=tmp_path)


def test_the_cli_warns_at_the_default_and_the_flag_raises_the_threshold(tmp_path: Path) -> None:
    herd_manifest(tmp_path, 21)
    done = cli_plan(tmp_path, "manifests")
    assert done.returncode == 0
    assert "warning: agent 'a': 21 routines fire in the same minute" in done.stdout + done.stderr
    quiet = cli_plan(tmp_path, "manifests", "--herd-threshold", "21")
    assert quiet.returncode == 0 and "herd" not in quiet.stdout + quiet.stderr
    assert "Load forecast per agent" in quiet.stdout


@pytest.mark.parametrize(
    ("config", "warns"),
    [
        ("herd_threshold: 10\n", True),
        (
            "herd_threshold: 10\n"
            "environments:\n  dev: {endpoint: 'local:p.db', herd_threshold: 12}\n",
            False,
        ),
    ],
)
def test_reconciler_yaml_sets_the_threshold_shared_or_per_environment(
    tmp_path: Path, config: str, warns: bool
) -> None:
    herd_manifest(tmp_path, 11)
    (tmp_path / "reconciler.yaml").write_text(config)
    args = ("--env", "dev") if "environments" in config else ("manifests",)
    done = run_cli("plan", *args, "-o", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["forecast"]["herd_threshold"] == (12 if "dev" in config else 10)
    assert document["forecast"]["agents"][0]["herd"] is warns


def test_a_bad_threshold_is_a_located_error(tmp_path: Path) -> None:
    herd_manifest(tmp_path, 1)
    (tmp_path / "reconciler.yaml").write_text("stack: s\nherd_threshold: 0\n")
    done = run_cli("plan", "manifests", cwd=tmp_path)
    assert done.returncode == 1
    assert "reconciler.yaml:2:" in done.stderr and "herd_threshold" in done.stderr
    assert "Traceback" not in done.stderr
    flag = cli_plan(tmp_path, "manifests", "--herd-threshold", "0")
    assert flag.returncode != 0 and "--herd-threshold" in flag.stderr
    assert "Traceback" not in flag.stderr
