"""The agent pre-flight and the agent registry through the real SDK against the emulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.ai.projects import AIProjectClient
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from reconciler.contract.agents import AgentInfo
from reconciler.emulator.server import Emulator
from tests.conftest import REPO, run_cli
from tests.emulator_fixtures import HTTP, TOKEN, StaticToken, admin

AGENT_ROUTE = "GET /agents/{agent_name}"
REGISTRY = [
    AgentInfo("ops", kind="hosted"),
    AgentInfo("drafts", kind="prompt", identity=None),
    AgentInfo("hosted-no-id", kind="hosted", identity=None),
    AgentInfo("pipeline", kind="workflow"),
    AgentInfo("paused", kind="hosted", state="disabled"),
    AgentInfo("locked-out", kind="hosted", identity="disabled"),
]


def manifest(*agents: str) -> str:
    """A manifest with one routine per agent, r0, r1, ... (agent_name on line 7 + 6 * i)."""
    routine = (
        "  - name: r{index}\n"
        "    triggers:\n"
        '      t: {{type: schedule, cron_expression: "0 7 * * *", time_zone: UTC}}\n'
        "    action:\n"
        "      type: invoke_agent_responses_api\n"
        "      agent_name: {agent}\n"
    )
    return "routines:\n" + "".join(
        routine.format(index=index, agent=agent) for index, agent in enumerate(agents)
    )


def agent_line(index: int) -> int:
    """The line of routine ``index``'s agent_name in ``manifest``."""
    return 7 + 6 * index


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(tmp_path / "emu.db", agents=REGISTRY) as running:
        yield running


def plan(emu: Emulator, tmp_path: Path, *agents: str, extra: tuple[str, ...] = ()) -> Any:
    (tmp_path / "m.yaml").write_text(manifest(*agents), encoding="utf-8")
    return run_cli("plan", "m.yaml", "--endpoint", emu.endpoint(), *extra, cwd=tmp_path)


def agent_reads(emu: Emulator) -> int:
    return int(admin(emu.url, "GET", "counters")["routes"].get(AGENT_ROUTE, 0))


def test_an_unregistered_agent_fails_the_plan_at_its_agent_name_line(
    emu: Emulator, tmp_path: Path
) -> None:
    done = plan(emu, tmp_path, "ops", "ghost")
    assert done.returncode == 1
    where = f"m.yaml:{agent_line(1)}:19: routines[1].action.agent_name: "
    assert f"{where}agent 'ghost' does not exist in the project" in done.stderr
    assert "error: planning failed; nothing was written" in done.stderr
    assert "Traceback" not in done.stderr
    assert "'ops'" not in done.stderr


@pytest.mark.parametrize(
    ("agent", "severity", "fragment"),
    [
        ("drafts", "", "is a prompt-only agent (no agent identity)"),
        ("hosted-no-id", "", "has no agent identity"),
        ("pipeline", "", "is a workflow agent"),
        ("paused", "warning: ", "is disabled: its endpoint rejects requests"),
        ("locked-out", "warning: ", "the agent identity of agent 'locked-out' is disabled"),
    ],
)
def test_each_rule_is_a_located_line(
    emu: Emulator, tmp_path: Path, agent: str, severity: str, fragment: str
) -> None:
    done = plan(emu, tmp_path, agent)
    assert done.returncode == (0 if severity else 1), done.stderr
    assert f"m.yaml:7:19: routines[0].action.agent_name: {severity}" in done.stderr
    assert fragment in done.stderr


def test_each_distinct_agent_is_read_once(emu: Emulator, tmp_path: Path) -> None:
    admin(emu.url, "POST", "counters/reset")
    done = plan(emu, tmp_path, "ops", "ops", "paused", "ops")
    assert done.returncode == 0, done.stderr
    assert agent_reads(emu) == 2
    assert done.stderr.count("'paused' is disabled") == 1


def test_a_403_on_the_agents_api_is_a_warning_naming_the_role(
    emu: Emulator, tmp_path: Path
) -> None:
    steps = [{"fault": "403", "route": AGENT_ROUTE, "count": 5}]
    admin(emu.url, "PUT", "faults", {"script": steps})
    done = plan(emu, tmp_path, "ghost", "pipeline")
    assert done.returncode == 0, done.stderr
    assert "warning: agents were not checked" in done.stderr
    assert "403 Forbidden) for 2 agent(s)" in done.stderr
    assert "'Foundry User'" in done.stderr
    assert "Plan: 2 to create" in done.stdout


def test_a_hung_agents_api_is_one_warning_and_the_plan_goes_on(
    emu: Emulator, tmp_path: Path
) -> None:
    admin(emu.url, "PUT", "faults", {"script": [{"fault": "hang", "route": AGENT_ROUTE}]})
    (tmp_path / "m.yaml").write_text(manifest("ops", "ops"), encoding="utf-8")
    started = time.monotonic()
    done = run_cli(
        "plan", "m.yaml", "--endpoint", emu.endpoint(), "--timeout", "30s",
        cwd=tmp_path, env={"RECONCILER_AGENT_WAIT": "1"},
    )  # fmt: skip
    assert time.monotonic() - started < 15
    assert done.returncode == 0, done.stderr
    assert "timed out" not in done.stderr
    assert (
        "warning: agents not checked: no answer from the agents API within 1s for 1 agent(s), "
        "e.g. 'ops'; the plan went on without them"
    ) in done.stderr
    assert "Plan: 2 to create" in done.stdout
    assert admin(emu.url, "GET", "counters")["faults"]["hang"] == 1


def test_a_bad_agent_wait_is_one_error(emu: Emulator, tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(manifest("ops"), encoding="utf-8")
    done = run_cli(
        "plan", "m.yaml", "--endpoint", emu.endpoint(), cwd=tmp_path,
        env={"RECONCILER_AGENT_WAIT": "soon"},
    )  # fmt: skip
    assert done.returncode == 1
    assert "RECONCILER_AGENT_WAIT must be a positive number of seconds, not 'soon'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_scripted_fault_without_a_route_never_reaches_the_agents_route(
    emu: Emulator, tmp_path: Path
) -> None:
    admin(emu.url, "PUT", "faults", {"script": [{"fault": "500", "count": 1}], "rate_500": 0})
    done = plan(emu, tmp_path, "ops")
    assert done.returncode == 0, done.stderr
    assert admin(emu.url, "GET", "counters")["faults"]["500"] == 1
    assert "was not checked" not in done.stderr


def test_no_agent_check_reads_no_agent(emu: Emulator, tmp_path: Path) -> None:
    admin(emu.url, "POST", "counters/reset")
    done = plan(emu, tmp_path, "ghost", extra=("--no-agent-check",))
    assert done.returncode == 0, done.stderr
    assert agent_reads(emu) == 0


def test_the_configuration_turns_the_check_off_per_environment(
    emu: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "m.yaml").write_text(manifest("ghost"), encoding="utf-8")
    (tmp_path / "reconciler.yaml").write_text(
        f"manifests: [m.yaml]\nagent_check: false\nenvironments:\n"
        f"  strict: {{endpoint: '{emu.endpoint()}', agent_check: true}}\n"
        f"  loose: {{endpoint: '{emu.endpoint()}'}}\n",
        encoding="utf-8",
    )
    assert run_cli("plan", "--env", "loose", cwd=tmp_path).returncode == 0
    strict = run_cli("plan", "--env", "strict", cwd=tmp_path)
    assert strict.returncode == 1
    assert "agent 'ghost' does not exist" in strict.stderr


def test_apply_refuses_before_writing_anything(emu: Emulator, tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(manifest("ops", "pipeline"), encoding="utf-8")
    done = run_cli("apply", "m.yaml", "--auto-approve", "--endpoint", emu.endpoint(), cwd=tmp_path)
    assert done.returncode == 1
    assert "m.yaml:13:19: routines[1].action.agent_name: agent 'pipeline'" in done.stderr
    assert "PUT /routines/{name}" not in admin(emu.url, "GET", "counters")["routes"]


def test_an_agent_gone_after_its_routine_was_created_is_a_warning(
    tmp_path: Path,
) -> None:
    with Emulator(tmp_path / "emu.db") as emu:  # permissive: any agent name
        (tmp_path / "m.yaml").write_text(manifest("later-deleted"), encoding="utf-8")
        done = run_cli(
            "apply", "m.yaml", "--auto-approve", "--endpoint", emu.endpoint(), cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
    with Emulator(tmp_path / "emu.db", agents=REGISTRY) as emu:
        again = plan(emu, tmp_path, "later-deleted")
    assert again.returncode == 0, again.stderr
    assert "warning: agent 'later-deleted' does not exist" in again.stderr
    assert "this plan does not write the routine; its runs fail" in again.stderr


def test_the_sdk_reads_registered_agents(emu: Emulator) -> None:
    with AIProjectClient(endpoint=emu.endpoint(), credential=StaticToken()) as client:
        ops = client.agents.get("ops", **HTTP)
        drafts = client.agents.get("drafts", **HTTP)
        with pytest.raises(ResourceNotFoundError):
            client.agents.get("ghost", **HTTP)
    assert (ops.name, ops.state, ops.versions.latest.definition.kind) == (
        "ops",
        "enabled",
        "hosted",
    )
    assert ops.instance_identity is not None
    assert ops.instance_identity.status == "active"
    assert drafts.versions.latest.definition.kind == "prompt"
    assert drafts.instance_identity is None


def routine_body(agent: str) -> dict[str, Any]:
    return {
        "triggers": {"t": {"type": "schedule", "cron_expression": "0 7 * * *", "time_zone": "UTC"}},
        "action": {"type": "invoke_agent_responses_api", "agent_name": agent},
    }


def test_a_registry_with_agents_refuses_routine_puts_with_the_services_400(
    emu: Emulator,
) -> None:
    with AIProjectClient(endpoint=emu.endpoint(), credential=StaticToken()) as client:
        routines = client.beta.routines
        assert routines.create_or_update("ok", routine_body("paused"), **HTTP).name == "ok"
        for agent in ("ghost", "drafts", "pipeline", "hosted-no-id"):
            with pytest.raises(HttpResponseError) as refused:
                routines.create_or_update("bad", routine_body(agent), **HTTP)
            assert refused.value.status_code == 400
            assert refused.value.error is not None
            assert refused.value.error.code == "invalid_value"
            assert f"'{agent}'" in str(refused.value)
        with pytest.raises(ResourceNotFoundError):
            routines.get("bad", **HTTP)


def test_an_empty_registry_stays_permissive(tmp_path: Path) -> None:
    with Emulator(tmp_path / "emu.db") as emu:
        with AIProjectClient(endpoint=emu.endpoint(), credential=StaticToken()) as client:
            created = client.beta.routines.create_or_update("r", routine_body("anything"), **HTTP)
            agent = client.agents.get("anything", **HTTP)
        done = plan(emu, tmp_path, "whatever")
    assert created.name == "r"
    assert agent.state == "enabled"
    assert agent.versions.latest.definition.kind == "hosted"
    assert done.returncode == 0, done.stderr
    assert "agent" not in done.stderr


def test_emulator_agents_option_seeds_the_registry(tmp_path: Path) -> None:
    (tmp_path / "agents.yaml").write_text("agents:\n  - name: ops\n    kind: hosted\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "GITHUB_"))}
    command = "from reconciler.cli.emulator import emulator; emulator()"
    args = [
        "--port",
        "0",
        "--db",
        str(tmp_path / "e.db"),
        "--agents",
        str(tmp_path / "agents.yaml"),
    ]
    process = subprocess.Popen(
        [sys.executable, "-c", command, *args],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        endpoint = line.split("project endpoint: ")[1].rstrip(")\n")
        with AIProjectClient(endpoint=endpoint, credential=StaticToken()) as client:
            assert client.agents.get("ops", **HTTP).name == "ops"
            with pytest.raises(HttpResponseError) as refused:
                client.beta.routines.create_or_update("r", routine_body("ghost"), **HTTP)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert refused.value.status_code == 400
    assert process.returncode == 0, stderr
    assert TOKEN not in stderr


def test_emulator_agents_option_with_a_bad_file_is_one_located_error(tmp_path: Path) -> None:
    (tmp_path / "agents.yaml").write_text("agents:\n  - name: ops\n    kind: robot\n")
    done = run_cli(
        "emulator", "--port", "0", "--db", "e.db", "--agents", "agents.yaml", cwd=tmp_path
    )
    assert done.returncode == 1
    assert "agents.yaml:3:11: agents[0].kind:" in done.stderr
    assert "is not a valid agents file (1 problem(s)); nothing was loaded" in done.stderr
    assert not (tmp_path / "e.db").exists()
