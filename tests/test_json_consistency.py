"""Every command's JSON has the same shape: ``format_version`` is the string "1" (runs and
dispatch too) and a ``kind``; ``agents list``/``agents fail`` have ``-o json``; and an
environment's ``herd_threshold: 0`` gets the same message as the shared key."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.live.local import LocalBackend
from tests.conftest import run_cli

ROUTINE = {
    "triggers": {"t": {"type": "schedule", "cron_expression": "0 7 * * *", "time_zone": "UTC"}},
    "action": {"type": "invoke_agent_responses_api", "agent_name": "a"},
}


def test_runs_and_dispatch_documents_have_a_string_format_version(tmp_path: Path) -> None:
    endpoint = f"local:{tmp_path}/p.db"
    with LocalBackend(str(tmp_path / "p.db")) as backend:
        backend.create_or_update("r", ROUTINE)
    sent = run_cli("dispatch", "r", "-o", "json", "--endpoint", endpoint, cwd=tmp_path)
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["format_version"] == "1"
    read = run_cli("runs", "r", "-o", "json", "--endpoint", endpoint, cwd=tmp_path)
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout)["format_version"] == "1"


def test_agents_list_and_fail_as_json(tmp_path: Path) -> None:
    endpoint = f"local:{tmp_path}/p.db"
    (tmp_path / "agents.yaml").write_text("agents:\n  - name: triage\n")
    loaded = run_cli("agents", "load", "agents.yaml", "--endpoint", endpoint, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    failed = run_cli("agents", "fail", "triage:0.5:400", "-o", "json", "--endpoint", endpoint)
    assert failed.returncode == 0, failed.stderr
    assert json.loads(failed.stdout) == {
        "format_version": "1",
        "kind": "reconciler-agent-failures",
        "target": endpoint,
        "failing": [{"agent": "triage", "rate": 0.5, "status_code": 400}],
    }
    listed = run_cli("agents", "list", "-o", "json", "--endpoint", endpoint)
    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert (document["format_version"], document["kind"]) == ("1", "reconciler-agents")
    assert document["agents"] == [
        {"name": "triage", "kind": "prompt", "state": "enabled", "identity": "active"}
    ]
    assert document["failing"] == [{"agent": "triage", "rate": 0.5, "status_code": 400}]
    text = run_cli("agents", "list", "--endpoint", endpoint)
    assert "runs of triage fail: 50% of attempts, answered 400" in text.stdout


def test_herd_threshold_zero_reads_the_same_shared_and_per_environment(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text(
        "herd_threshold: 0\nenvironments:\n"
        "  dev:\n    endpoint: local:p.db\n    herd_threshold: 0\n"
    )
    done = run_cli("validate", "--env", "dev", cwd=tmp_path)
    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert "reconciler.yaml:1:17: herd_threshold: 0 is less than the minimum of 1" in output
    assert (
        "reconciler.yaml:5:21: environments.dev.herd_threshold: 0 is less than the minimum of 1"
    ) in output
    assert "must be an integer or null" not in output
