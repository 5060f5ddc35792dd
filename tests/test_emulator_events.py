"""GitHub issue and custom events fire their routines: ``POST /_emulator/events`` and
``reconciler emulator --fire-event`` leave ``event_fire`` runs with ``trigger_event_payload``,
read back through the real azure-ai-projects SDK (and from the embedded project's file)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.ai.projects.models import (
    CustomRoutineTrigger,
    GitHubIssueRoutineTrigger,
    InvokeAgentResponsesApiRoutineAction,
)

from reconciler.emulator import Emulator
from reconciler.service import RoutineStore
from tests.conftest import run_cli
from tests.emulator_fixtures import (
    FROZEN_START,
    HTTP,
    admin,
    frozen_emulator,
    raw,
    sdk_routines,
)

ACTION = InvokeAgentResponsesApiRoutineAction(agent_name="triage")
OPENED = {
    "type": "github_issue",
    "connection_id": "gh-conn",
    "owner": "contoso",
    "repository": "web",
    "issue_event": "opened",
}
ISSUE = {"action": "opened", "issue": {"number": 7, "title": "Login fails"}}


def github(owner: str = "contoso", repository: str = "web", event: str = "opened") -> Any:
    """A GitHub issue trigger on connection ``gh-conn``."""
    return GitHubIssueRoutineTrigger(
        connection_id="gh-conn", owner=owner, repository=repository, issue_event=event
    )


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    """A running emulator with a frozen clock."""
    with frozen_emulator(tmp_path / "emu.db") as running:
        yield running


@pytest.fixture
def routines(emu: Emulator) -> Iterator[Any]:
    """``client.beta.routines`` of the real SDK against the emulator."""
    with sdk_routines(emu) as found:
        yield found


def create(routines: Any, name: str, trigger: Any, *, enabled: bool = True) -> None:
    """A routine whose one trigger ``on_event`` is ``trigger``."""
    routines.create_or_update(
        name, triggers={"on_event": trigger}, action=ACTION, enabled=enabled, **HTTP
    )


def sources(routines: Any, name: str) -> list[str]:
    """The ``attempt_source`` of each of a routine's runs, newest first."""
    return [run.attempt_source for run in routines.list_runs(name, **HTTP)]


def test_a_github_issue_event_fires_exactly_the_routines_that_take_it(
    routines: Any, emu: Emulator
) -> None:
    create(routines, "triage", github(owner="Contoso"))  # GitHub names ignore case
    create(routines, "other-repo", github(repository="api"))
    create(routines, "on-close", github(event="closed"))
    create(routines, "switched-off", github(), enabled=False)
    create(routines, "custom", CustomRoutineTrigger(provider="contoso", parameters={}))
    answer = admin(emu.url, "POST", "events", {**OPENED, "payload": ISSUE})
    assert answer["fired"] == 1
    [fired] = answer["runs"]
    assert (fired["routine"], fired["trigger_name"]) == ("triage", "on_event")
    [run] = routines.list_runs("triage", **HTTP)
    assert run.id == fired["id"]
    assert (run.attempt_source, run.trigger_type, run.trigger_name) == (
        "event_fire",
        "github_issue",
        "on_event",
    )
    assert run.trigger_event_payload == ISSUE
    assert (run.status, run.phase) == ("SCHEDULED", "queued")  # the clock is frozen
    admin(emu.url, "POST", "clock/advance", {"seconds": 3})
    [run] = routines.list_runs("triage", **HTTP)
    assert (run.status, run.phase) == ("FINISHED", "completed")
    assert run.triggered_at.timestamp() == int(FROZEN_START)
    for name in ("other-repo", "on-close", "switched-off", "custom"):
        assert sources(routines, name) == []


def test_a_github_event_without_a_payload_gets_the_webhook_shape(
    routines: Any, emu: Emulator
) -> None:
    create(routines, "triage", github(event="closed"))
    admin(emu.url, "POST", "events", {**OPENED, "issue_event": "closed"})
    [run] = routines.list_runs("triage", **HTTP)
    assert run.trigger_event_payload == {
        "action": "closed",
        "repository": {"full_name": "contoso/web", "name": "web", "owner": {"login": "contoso"}},
    }


def test_a_custom_event_fires_by_provider_and_event_name(routines: Any, emu: Emulator) -> None:
    create(
        routines,
        "named",
        CustomRoutineTrigger(provider="jira", event_name="created", parameters={}),
    )
    create(routines, "any", CustomRoutineTrigger(provider="jira", parameters={"project": "X"}))
    create(routines, "elsewhere", CustomRoutineTrigger(provider="linear", parameters={}))
    event = {"type": "custom", "provider": "jira", "event_name": "created", "payload": {"k": 1}}
    assert admin(emu.url, "POST", "events", event)["fired"] == 2
    [run] = routines.list_runs("named", **HTTP)
    assert (run.attempt_source, run.trigger_type) == ("event_fire", "custom")
    assert run.trigger_event_payload == {"k": 1}
    assert sources(routines, "any") == ["event_fire"]
    assert sources(routines, "elsewhere") == []
    updated = {"type": "custom", "provider": "jira", "event_name": "updated"}
    assert [r["routine"] for r in admin(emu.url, "POST", "events", updated)["runs"]] == ["any"]
    assert routines.list_runs("any", **HTTP).__next__().trigger_event_payload == {}


def test_events_stay_in_their_project(routines: Any, emu: Emulator) -> None:
    create(routines, "triage", github())
    assert admin(emu.url, "POST", "events", {**OPENED, "project": "elsewhere"})["fired"] == 0
    assert sources(routines, "triage") == []


@pytest.mark.parametrize(
    ("event", "param", "says"),
    [
        ({**OPENED, "issue_event": "reopened"}, "issue_event", "'opened' or 'closed'"),
        ({**OPENED, "owner": ""}, "owner", "non-empty string"),
        ({**OPENED, "repository": "r" * 129}, "repository", "at most 128"),
        ({**OPENED, "label": "bug"}, "label", "unknown field 'label'"),
        ({**OPENED, "payload": [1]}, "payload", "JSON object"),
        ({"type": "push"}, "type", "'github_issue' or 'custom'"),
        ({"type": "custom"}, "provider", "non-empty string"),
        ({**OPENED, "project": 5}, "project", "non-empty string"),
    ],
)
def test_a_bad_event_is_a_400_naming_the_field(
    emu: Emulator, event: dict[str, Any], param: str, says: str
) -> None:
    answer = raw("POST", f"{emu.url}/_emulator/events", event, auth=False)
    assert (answer.status, answer.error["param"]) == (400, param)
    assert says in answer.error["message"]


# --- reconciler emulator --fire-event -------------------------------------------------------


def test_the_cli_fires_into_a_running_emulator(routines: Any, emu: Emulator) -> None:
    create(routines, "triage", github())
    done = run_cli("emulator", "--fire-event", json.dumps(OPENED), "--endpoint", emu.endpoint())
    assert done.returncode == 0, done.stderr
    [run] = routines.list_runs("triage", **HTTP)
    assert done.stdout == (
        f"fired github_issue event: run {run.id} of routine triage (trigger on_event)\n"
    )
    quiet = run_cli(
        "emulator",
        "--fire-event",
        json.dumps({**OPENED, "owner": "x"}),
        "--endpoint",
        emu.endpoint(),
    )
    assert quiet.stdout == "fired github_issue event: no enabled routine takes it\n"


def test_the_cli_fires_into_a_project_file(tmp_path: Path) -> None:
    db = tmp_path / "local.db"
    with RoutineStore(str(db)) as store:
        triggers = {"hook": {"type": "custom", "provider": "p", "parameters": {}}}
        store.put("_project", "hooked", {"triggers": triggers, "action": ACTION.as_dict()})
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"type": "custom", "provider": "p", "payload": {"id": 3}}))
    done = run_cli("emulator", "--fire-event", f"@{event}", "--endpoint", f"local:{db}")
    assert done.returncode == 0, done.stderr
    again = run_cli("emulator", "--fire-event", f"@{event}", "--db", str(db))
    assert again.returncode == 0, again.stderr
    with RoutineStore(str(db)) as store:
        runs, _ = store.list_runs("_project", "hooked")
    assert [(r["attempt_source"], r["trigger_event_payload"]) for r in runs] == [
        ("event_fire", {"id": 3})
    ] * 2
    assert done.stdout.startswith("fired custom event: run ") and "routine hooked" in done.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--fire-event", "{not json"], "Invalid value for --fire-event: the event is not JSON"),
        (["--fire-event", "[1]"], "must be a JSON object"),
        (["--fire-event", "@missing.json"], "cannot read missing.json"),
        (["--fire-event", json.dumps({**OPENED, "issue_event": "x"})], "event refused: 400"),
        (["--endpoint", "local:x.db"], "--endpoint is only used with --fire-event"),
        (
            [
                "--fire-event",
                "{}",
                "--agents",
                "nonexistent.yaml",
                "--rate-500",
                "0.5",
                "--port",
                "1",
            ],
            "--port, --rate-500, --agents are only used when serving, not with --fire-event",
        ),
        (["--fire-event", "{}", "--endpoint", "https://example.com/api/projects/p"], "loopback"),
    ],
)
def test_cli_mistakes_are_one_line_and_exit_1(
    emu: Emulator, tmp_path: Path, args: list[str], says: str
) -> None:
    with RoutineStore(str(tmp_path / "emulator.db")):
        pass  # --db names an existing project file
    done = run_cli("emulator", "--db", str(tmp_path / "emulator.db"), *args, cwd=tmp_path)
    assert done.returncode == 1
    assert says in done.stderr.splitlines()[0]
    assert "Traceback" not in done.stderr


def test_the_cli_refuses_a_missing_project_file(tmp_path: Path) -> None:
    done = run_cli("emulator", "--fire-event", json.dumps(OPENED), "--db", str(tmp_path / "no.db"))
    assert done.returncode == 1
    assert "does not exist; nothing was fired" in done.stderr
    assert not (tmp_path / "no.db").exists()
