"""Problems found after loading an azure.yaml (the agent pre-flight, a service 400 during
apply) are located where the file writes the field: camelCase or snake_case, under the
deprecated ``config:``, or in the ``$ref`` file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

AZURE_YAML = """\
services:
  camel:
    host: azure.ai.routine
    triggers:
      t: {type: schedule, cronExpression: "0 7 * * *", timeZone: UTC}
    action:
      type: invoke_agent_responses_api
      agentName: ghost
  snake:
    host: azure.ai.routine
    triggers:
      t: {type: schedule, cron_expression: "0 7 * * *", time_zone: UTC}
    action:
      type: invoke_agent_responses_api
      agent_name: ghost
  old-shape:
    host: azure.ai.routine
    config:
      triggers:
        t: {type: schedule, cronExpression: "0 7 * * *", timeZone: UTC}
      action:
        type: invoke_agent_responses_api
        agentName: ghost
  referenced:
    host: azure.ai.routine
    $ref: ./routines/x.yaml
  overlaid:
    host: azure.ai.routine
    $ref: ./routines/x.yaml
    action:
      type: invoke_agent_responses_api
      agentName: ghost
"""
REF_FILE = """\
description: from a file
triggers:
  t:
    type: schedule
    cronExpression: "0 7 * * *"
    timeZone: UTC
action:
  type: invoke_agent_responses_api
  agentName: ghost
"""
EXPECTED = {
    "camel": "azure.yaml:8:18: services.camel.action.agentName",
    "snake": "azure.yaml:15:19: services.snake.action.agent_name",
    "old-shape": "azure.yaml:23:20: services.old-shape.config.action.agentName",
    "referenced": "routines/x.yaml:9:14: action.agentName",
    "overlaid": "azure.yaml:32:18: services.overlaid.action.agentName",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "routines").mkdir()
    (tmp_path / "azure.yaml").write_text(AZURE_YAML, encoding="utf-8")
    (tmp_path / "routines/x.yaml").write_text(REF_FILE, encoding="utf-8")
    (tmp_path / "agents.yaml").write_text("agents:\n  - name: ops\n    kind: hosted\n")
    loaded = run_cli("agents", "load", "agents.yaml", "--endpoint", "local:p.db", cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    return tmp_path


def test_the_agent_check_points_at_each_services_agent_name_as_written(project: Path) -> None:
    done = run_cli("plan", "azure.yaml", "--endpoint", "local:p.db", cwd=project)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if "'ghost' does not exist" in line]
    assert len(lines) == len(EXPECTED), done.stderr
    for where in EXPECTED.values():
        assert any(line.startswith(f"{where}: agent 'ghost'") for line in lines), (where, lines)


def test_a_service_400_during_apply_points_at_the_field_as_written(project: Path) -> None:
    done = run_cli(
        "apply", "azure.yaml", "--endpoint", "local:p.db", "--no-agent-check", "--auto-approve",
        cwd=project,
    )  # fmt: skip
    assert done.returncode == 1
    for name, where in EXPECTED.items():
        location = where.split(": ")[0].rsplit(":", 2)
        line = next(x for x in done.stdout.splitlines() if f"failed  create   {name} " in x)
        assert line.endswith(f"[{':'.join(location)}]"), (name, line)
