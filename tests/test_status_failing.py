"""``reconciler status`` on FAILING routines (3 consecutive failed deliveries: exit 2, named as
failing) through the real SDK against the emulator and on the embedded project, and disabled
routines counted apart from healthy ones in text, markdown and JSON."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from reconciler.emulator import EmulatedClock, Emulator
from reconciler.service import RoutineStore
from reconciler.service.failures import AgentFailure
from tests.conftest import run_cli
from tests.emulator_fixtures import admin

ISSUE = "{type: github_issue, connection_id: c, owner: o, repository: r, issue_event: opened}"
MANIFEST = f"""\
routines:
  - name: broken
    triggers:
      t: {ISSUE}
    action: {{type: invoke_agent_responses_api, agent_name: bad}}
  - name: fine
    triggers:
      t: {ISSUE}
    action: {{type: invoke_agent_responses_api, agent_name: good}}
  - name: paused
    enabled: false
    triggers:
      t: {ISSUE}
    action: {{type: invoke_agent_responses_api, agent_name: bad}}
"""


def cli(tmp_path: Path, endpoint: str, *args: str) -> Any:
    return run_cli(*args, "--endpoint", endpoint, cwd=tmp_path)


def assert_failing(tmp_path: Path, endpoint: str) -> None:
    """status: exit 2, broken failing, fine healthy, paused disabled and not counted healthy."""
    done = run_cli("status", "r.yaml", "--endpoint", endpoint, "-o", "json", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    routines = {r["name"]: r for r in doc["routines"]}
    assert routines["broken"]["health"] == "failing"
    assert routines["broken"]["consecutive_failures"] == 3
    assert routines["fine"]["health"] == "healthy" and routines["paused"]["health"] == "disabled"
    summary = doc["summary"]
    assert (summary["failing"], summary["healthy"], summary["disabled"]) == (1, 1, 1)
    text = run_cli("status", "r.yaml", "--endpoint", endpoint, cwd=tmp_path)
    assert text.returncode == 2
    assert "  failing   broken" in text.stdout, text.stdout
    assert "problem: failing: 3 consecutive failed deliveries" in text.stdout
    assert "Unhealthy: 1 of 3 routine(s) (1 failing); 1 disabled, not judged." in text.stdout


def test_three_failed_deliveries_through_the_sdk_exit_2(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(MANIFEST)
    failing = [AgentFailure("bad", status_code=400)]
    with Emulator(tmp_path / "emu.db", clock=EmulatedClock(speed=0), failures=failing) as emu:
        endpoint = emu.endpoint()
        applied = cli(tmp_path, endpoint, "apply", "r.yaml", "--auto-approve")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        for name in ("broken", "broken", "fine"):
            sent = cli(tmp_path, endpoint, "dispatch", name)
            assert sent.returncode == 0, sent.stdout + sent.stderr
        admin(emu.url, "POST", "clock/advance", {"seconds": 60})  # the runs finish
        two = run_cli("status", "r.yaml", "--endpoint", endpoint, cwd=tmp_path)
        assert two.returncode == 0, two.stdout + two.stderr  # two failures are not failing
        assert "Healthy: 2 routine(s); 1 disabled, not judged." in two.stdout
        assert cli(tmp_path, endpoint, "dispatch", "broken").returncode == 0
        admin(emu.url, "POST", "clock/advance", {"seconds": 60})
        assert_failing(tmp_path, endpoint)


def test_three_failed_deliveries_on_the_embedded_project_exit_2(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(MANIFEST)
    endpoint = f"local:{tmp_path}/p.db"
    applied = cli(tmp_path, endpoint, "apply", "r.yaml", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert cli(tmp_path, endpoint, "agents", "fail", "bad:1:400").returncode == 0
    for name in ("broken", "broken", "broken", "fine"):
        sent = cli(tmp_path, endpoint, "dispatch", name)
        assert sent.returncode == 0, sent.stdout + sent.stderr
    time.sleep(3.5)  # the embedded project's runs advance with the wall clock (1 s + 2 s)
    assert_failing(tmp_path, endpoint)
    markdown = run_cli("status", "r.yaml", "--endpoint", endpoint, "-o", "markdown", cwd=tmp_path)
    assert markdown.returncode == 2
    assert "(1 failing); 1 disabled, not judged." in markdown.stdout


def test_runs_on_the_embedded_project_shows_the_due_schedule_deliveries(tmp_path: Path) -> None:
    """The embedded project has no ticker: reading runs first delivers what came due."""
    hourly = {"type": "schedule", "cron_expression": "0 * * * *", "time_zone": "UTC"}
    action = {"type": "invoke_agent_responses_api", "agent_name": "a"}
    body: dict[str, Any] = {"triggers": {"t": hourly}, "action": action}
    with RoutineStore(str(tmp_path / "p.db"), EmulatedClock(time.time() - 3 * 3600, speed=0)) as s:
        s.put("_project", "hourly", body)  # three hours ago
    endpoint = f"local:{tmp_path}/p.db"
    done = run_cli("runs", "hourly", "-o", "json", "--endpoint", endpoint, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    sources = [run["attempt_source"] for run in json.loads(done.stdout)["runs"]]
    assert len(sources) >= 2 and set(sources) == {"schedule_delivery"}
