"""Plan views: the DST line lists several skipped or repeated times with commas; the text plan
shows which changes ``apply --smoke`` will dispatch, and neither it nor the plan JSON gives a
smoke test to a routine git declares disabled (it is never dispatched)."""

from __future__ import annotations

import json
from pathlib import Path
from zoneinfo import ZoneInfo

from reconciler.plan.fires import DstShift
from reconciler.views.fires_text import _shift_text
from tests.conftest import run_cli

YEARLY = '{type: schedule, cron_expression: "0 7 1 1 *", time_zone: UTC}'
SPRING = 1_806_454_800  # 2027-03-28 01:00 UTC: Stockholm goes from +01:00 to +02:00


def test_several_skipped_and_repeated_times_are_comma_separated() -> None:
    zone = ZoneInfo("Europe/Stockholm")
    skipped = _shift_text(DstShift(SPRING, 3600, 7200, skipped=("02:00", "02:20")), zone)
    assert skipped.endswith(", 02:00, 02:20 skipped (does not exist that day)"), skipped
    twice = _shift_text(DstShift(SPRING, 7200, 3600, repeated=("02:00", "02:20")), zone)
    assert twice.endswith(", 02:00, 02:20 fire twice"), twice
    once = _shift_text(DstShift(SPRING, 7200, 3600, repeated=("02:30",)), zone)
    assert once.endswith(", 02:30 fires twice"), once


def routine(name: str, *, enabled: bool, smoke: bool) -> str:
    text = f"""\
  - name: {name}
    enabled: {str(enabled).lower()}
    triggers:
      t: {YEARLY}
    action: {{type: invoke_agent_responses_api, agent_name: a}}
"""
    return text + ("    reconcile:\n      smoke: {timeout: 90s}\n" if smoke else "")


def test_the_plan_shows_what_will_be_smoked(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "routines:\n"
        + routine("smoked", enabled=True, smoke=True)
        + routine("paused", enabled=False, smoke=True)
        + routine("plain", enabled=True, smoke=False)
    )
    endpoint = f"local:{tmp_path}/p.db"
    text = run_cli("plan", "r.yaml", "--endpoint", endpoint, cwd=tmp_path)
    assert text.returncode == 0, text.stdout + text.stderr
    line = "      smoke test: apply --smoke dispatches it once (its own input), waits up to 90s"
    assert text.stdout.count("smoke test:") == 1 and line in text.stdout
    assert text.stdout.index("+ create   smoked") < text.stdout.index(line)
    assert text.stdout.index("+ create   plain") < text.stdout.index("+ create   smoked")
    done = run_cli("plan", "r.yaml", "--endpoint", endpoint, "-o", "json", cwd=tmp_path)
    changes = {c["name"]: c for c in json.loads(done.stdout)["changes"]}
    assert changes["smoked"]["smoke"] == {"timeout_seconds": 90, "input_given": False}
    assert "smoke" not in changes["paused"] and "smoke" not in changes["plain"]
