"""The agent rules, the agents file, and the agent registry of the embedded project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.contract.agents import AgentInfo, from_details, problems, to_details
from reconciler.live.base import BackendError
from reconciler.live.local import LocalBackend
from reconciler.manifest.agents_file import load_agents
from tests.conftest import run_cli
from tests.test_agents_emulator import agent_line, manifest, routine_body

AGENTS_FILE = """\
agents:
  - name: ops
    kind: hosted
  - name: drafts
    identity: none
  - name: pipeline
    kind: workflow
  - name: paused
    state: disabled
"""


def severities(name: str, agent: AgentInfo | None) -> list[str]:
    return [p.severity for p in problems(name, agent)]


def test_rules() -> None:
    assert severities("x", None) == ["error"]
    assert severities("x", AgentInfo("x", "hosted")) == []
    assert severities("x", AgentInfo("x", "prompt")) == []
    assert severities("x", AgentInfo("x", "prompt", identity=None)) == ["error"]
    assert severities("x", AgentInfo("x", "workflow")) == ["error"]
    assert severities("x", AgentInfo("x", "hosted", state="disabled")) == ["warning"]
    assert severities("x", AgentInfo("x", "hosted", identity="disabled")) == ["warning"]
    assert severities("x", AgentInfo("x", "voice")) == ["warning"]
    both = problems("x", AgentInfo("x", "workflow", identity=None))
    assert [p.severity for p in both] == ["error", "error"]
    assert "prompt-only" not in both[1].message


@pytest.mark.parametrize(
    "agent",
    [
        AgentInfo("a", "hosted"),
        AgentInfo("b", "prompt", identity=None),
        AgentInfo("c", "workflow", state="disabled", identity="disabled"),
    ],
)
def test_the_served_details_read_back_as_the_same_agent(agent: AgentInfo) -> None:
    assert from_details(to_details(agent, created_at=1)) == agent


def test_details_without_a_name_are_not_an_agent() -> None:
    assert from_details({"object": "agent"}) is None
    assert from_details(["a"]) is None
    bare = from_details({"name": "n", "instance_identity": {"principal_id": "p"}})
    assert bare == AgentInfo("n", kind="unknown", state="enabled", identity="active")


def test_the_agents_file(tmp_path: Path) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text(AGENTS_FILE)
    loaded = load_agents(str(path))
    assert loaded.diagnostics == []
    assert loaded.agents == [
        AgentInfo("ops", "hosted"),
        AgentInfo("drafts", "prompt", identity=None),
        AgentInfo("pipeline", "workflow"),
        AgentInfo("paused", "prompt", state="disabled"),
    ]


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        ("agents:\n  - name: a\n    kind: robot\n", (3, 11, "agents[0].kind"), "is not one of"),
        ("agents:\n  - name: a\n  - name: a\n", (3, 11, "agents[1].name"), "more than once"),
        ("agents:\n  - name: a\n    color: red\n", (3, 5, "agents[0].color"), "unknown field"),
        ("agents: [\n", (2, 1, None), ""),
        ("routines: []\n", (1, 1, "agents"), "missing required field"),
    ],
)
def test_a_bad_agents_file_is_located(
    tmp_path: Path, text: str, where: tuple[int, int, str | None], fragment: str
) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text(text)
    loaded = load_agents(str(path))
    assert loaded.agents == []
    first = loaded.diagnostics[0]
    assert (first.file, first.line, first.col, first.field) == (str(path), *where)
    assert fragment in first.message


def test_a_missing_agents_file_is_one_error(tmp_path: Path) -> None:
    loaded = load_agents(str(tmp_path / "nope.yaml"))
    assert len(loaded.diagnostics) == 1
    assert loaded.diagnostics[0].severity == "error"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# nothing yet\n", "file is empty: an agents file needs a top-level 'agents:' list "
         "(agents: [] empties the registry)"),
        ("agents:\n  - name: a\n    identity: null\n", "must be a string, not null (empty)"),
        ("agents:\n" + "  - {name: a}\n" * 34_000, "more than 100000 YAML nodes (keys and "
         "values) in one file; an agents file is loaded whole (it replaces the registry), so it "
         "cannot be split: give each agent only the fields that differ from the defaults"),
        ("agents:\n" + "  - {name: agent, kind: hosted}\n" * 40_000, "; the limit is 1048576 "
         "bytes; an agents file is loaded whole (it replaces the registry), so it cannot be "
         "split"),
    ],
)  # fmt: skip
def test_agents_file_messages_speak_of_agents_files(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "agents.yaml"
    path.write_text(text)
    loaded = load_agents(str(path))
    assert [d.severity for d in loaded.diagnostics] == ["error"]
    assert message in loaded.diagnostics[0].message
    assert "routines" not in loaded.diagnostics[0].message
    assert "None" not in loaded.diagnostics[0].message


@pytest.fixture
def local(tmp_path: Path) -> str:
    (tmp_path / "agents.yaml").write_text(AGENTS_FILE)
    done = run_cli("agents", "load", "agents.yaml", "--endpoint", "local:p.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Loaded 4 agent(s) into local:p.db; it now refuses routines" in done.stdout
    return "local:p.db"


def plan_local(tmp_path: Path, endpoint: str, *agents: str) -> Any:
    (tmp_path / "m.yaml").write_text(manifest(*agents), encoding="utf-8")
    return run_cli("plan", "m.yaml", "--endpoint", endpoint, cwd=tmp_path)


def test_the_embedded_project_checks_its_registry(local: str, tmp_path: Path) -> None:
    done = plan_local(tmp_path, local, "ops", "ghost", "drafts", "pipeline", "paused")
    assert done.returncode == 1
    field = "action.agent_name: "
    assert f"m.yaml:{agent_line(1)}:19: routines[1].{field}agent 'ghost' does not" in done.stderr
    assert f"m.yaml:{agent_line(2)}:19: routines[2].{field}agent 'drafts' is a prompt-only" in (
        done.stderr
    )
    assert f"m.yaml:{agent_line(3)}:19: routines[3].{field}agent 'pipeline' is a workflow" in (
        done.stderr
    )
    assert f"m.yaml:{agent_line(4)}:19: routines[4].{field}warning: agent 'paused'" in done.stderr
    assert "'ops'" not in done.stderr


def test_agent_diagnostics_are_capped_per_agent(local: str, tmp_path: Path) -> None:
    done = plan_local(tmp_path, local, *(["ghost", "phantom", "paused"] * 300))
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    for agent in ("ghost", "phantom", "paused"):
        located = [x for x in lines if ".action.agent_name: " in x and f"agent '{agent}'" in x]
        assert len(located) == 20, located
    assert (
        "… and 280 more routine(s) name agent 'ghost', with the same problem (only the first 20 "
        "lines of an agent are shown)"
    ) in lines
    assert "warning: … and 280 more routine(s) name agent 'paused', with the same problem" in (
        done.stderr
    )
    assert sum(".action.agent_name: " in line for line in lines) == 60


def test_apply_on_the_embedded_project_refuses_before_writing(local: str, tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(manifest("ops", "ghost"), encoding="utf-8")
    done = run_cli("apply", "m.yaml", "--auto-approve", "--endpoint", local, cwd=tmp_path)
    assert done.returncode == 1
    assert "agent 'ghost' does not exist" in done.stderr
    with LocalBackend(str(tmp_path / "p.db")) as backend:
        assert backend.list_routines() == []


def test_the_embedded_project_refuses_the_put_itself(local: str, tmp_path: Path) -> None:
    with LocalBackend(str(tmp_path / "p.db")) as backend:
        assert backend.create_or_update("ok", routine_body("ops"))["name"] == "ok"
        with pytest.raises(BackendError) as refused:
            backend.create_or_update("bad", routine_body("pipeline"))
        assert backend.get_agent("ghost") is None
        assert backend.get_agent("paused") == AgentInfo("paused", state="disabled")
    assert refused.value.status == 400
    assert refused.value.param == "action.agent_name"
    assert "workflow agent" in refused.value.message


def test_agents_list_and_an_empty_file_make_it_permissive_again(local: str, tmp_path: Path) -> None:
    listed = run_cli("agents", "list", "--endpoint", local, cwd=tmp_path)
    assert listed.returncode == 0
    assert "drafts  kind=prompt state=enabled identity=none" in listed.stdout
    (tmp_path / "none.yaml").write_text("agents: []\n")
    emptied = run_cli("agents", "load", "none.yaml", "--endpoint", local, cwd=tmp_path)
    assert "Loaded 0 agent(s) into local:p.db; it now accepts any agent name." in emptied.stdout
    assert plan_local(tmp_path, local, "ghost").returncode == 0
    again = run_cli("agents", "list", "--endpoint", local, cwd=tmp_path)
    assert "No agents registered in local:p.db: any agent name is accepted." in again.stdout


def test_a_project_without_a_registry_accepts_any_agent(tmp_path: Path) -> None:
    done = plan_local(tmp_path, "local:missing.db", "anything")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "missing.db").exists()
    with LocalBackend(str(tmp_path / "fresh.db")) as backend:
        assert backend.get_agent("x") == AgentInfo("x", "hosted")
        assert backend.create_or_update("r", routine_body("x"))["name"] == "r"


def test_drift_does_not_check_agents(local: str, tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(manifest("ghost"), encoding="utf-8")
    done = run_cli("drift", "m.yaml", "--endpoint", local, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "ghost" not in done.stderr


def test_agents_load_refuses_a_remote_endpoint(tmp_path: Path) -> None:
    (tmp_path / "agents.yaml").write_text(AGENTS_FILE)
    endpoint = "https://acct.services.ai.azure.com/api/projects/p"
    done = run_cli("agents", "load", "agents.yaml", "--endpoint", endpoint, cwd=tmp_path)
    assert done.returncode == 1
    assert "error: agents load and list work on a local project, not" in done.stderr
    assert "Traceback" not in done.stderr


def test_agents_load_reports_a_bad_file_and_loads_nothing(local: str, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("agents:\n  - name: ops\n    state: sleeping\n")
    done = run_cli("agents", "load", "bad.yaml", "--endpoint", local, cwd=tmp_path)
    assert done.returncode == 1
    assert "bad.yaml:3:12: agents[0].state:" in done.stderr
    assert "bad.yaml is not a valid agents file (1 problem(s)); nothing was loaded" in done.stderr
    listed = run_cli("agents", "list", "--endpoint", local, cwd=tmp_path)
    assert listed.stdout.count("kind=") == 4
