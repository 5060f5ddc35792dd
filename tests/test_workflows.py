"""The workflows' shape: pinned actions, least privilege, OIDC, gates, concurrency, scripts.

actionlint itself runs in .ci/run (.ci/actionlint.sh); these checks are the project's own rules.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

WORKFLOWS = REPO / ".github/workflows"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")


def load(name: str) -> dict[Any, Any]:
    return dict(yaml.safe_load((WORKFLOWS / name).read_text()))


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def all_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path.name, name, job)
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for name, job in load(path.name)["jobs"].items()
    ]


def test_the_four_workflows_exist() -> None:
    assert sorted(p.name for p in WORKFLOWS.glob("*.yml")) == [
        "apply.yml",
        "ci.yml",
        "drift.yml",
        "plan.yml",
    ]


@pytest.mark.parametrize(("workflow", "job_name", "job"), all_jobs())
def test_every_action_is_pinned_to_a_commit(
    workflow: str, job_name: str, job: dict[str, Any]
) -> None:
    for step in steps(job):
        if "uses" in step:
            assert PINNED.match(step["uses"]), f"{workflow}:{job_name}: {step['uses']}"


@pytest.mark.parametrize("name", ["ci.yml", "plan.yml", "apply.yml", "drift.yml"])
def test_top_level_permissions_are_read_only(name: str) -> None:
    assert load(name)["permissions"] == {"contents": "read"}


@pytest.mark.parametrize(("workflow", "job_name", "job"), all_jobs())
def test_azure_login_uses_oidc_and_no_client_secret(
    workflow: str, job_name: str, job: dict[str, Any]
) -> None:
    logins = [s for s in steps(job) if s.get("uses", "").startswith("azure/login@")]
    text = (WORKFLOWS / workflow).read_text()
    assert "client-secret" not in text and "creds:" not in text
    if logins:
        assert job["permissions"]["id-token"] == "write", f"{workflow}:{job_name}"
        assert set(logins[0]["with"]) >= {"client-id", "tenant-id"}


def test_plan_never_applies_and_comments_once() -> None:
    plan = load("plan.yml")
    text = (WORKFLOWS / "plan.yml").read_text()
    assert "apply" not in re.sub(r"#.*", "", text).replace("pull-requests", "")
    triggers = plan.get(True) or plan["on"]  # YAML 1.1 reads the key "on" as true
    assert list(triggers) == ["pull_request"]
    matrix = plan["jobs"]["plan"]["strategy"]["matrix"]["environment"]
    assert matrix == ["dev", "prod"]
    comment = plan["jobs"]["comment"]
    assert comment["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "<!-- reconciler-plan -->" in text and "updateComment" in text


def test_apply_goes_dev_then_prod_behind_the_gate_without_overlap() -> None:
    jobs = load("apply.yml")["jobs"]
    assert jobs["dev"]["environment"] == "dev"
    assert jobs["plan-prod"]["needs"] == "dev" and "environment" not in jobs["plan-prod"]
    assert jobs["prod"]["environment"] == "prod" and jobs["prod"]["needs"] == "plan-prod"
    approve = [s for s in steps(jobs["prod"]) if s.get("env", {}).get("APPROVED_PLAN")]
    assert approve and approve[0]["run"] == "bash .github/scripts/apply.sh prod"
    for env in ("dev", "prod"):
        assert jobs[env]["concurrency"] == {"group": f"apply-{env}", "cancel-in-progress": False}
        runs = [s["run"] for s in steps(jobs[env]) if "run" in s]
        assert f"bash .github/scripts/apply.sh {env}" in runs
        uploads = [s for s in steps(jobs[env]) if "upload-artifact" in s.get("uses", "")]
        assert uploads and uploads[0]["if"] == "always()"


def test_drift_runs_on_a_schedule_and_manages_one_issue_per_environment() -> None:
    drift = load("drift.yml")
    triggers = drift.get(True) or drift["on"]  # YAML 1.1 reads the key "on" as true
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    job = drift["jobs"]["drift"]
    assert job["permissions"]["issues"] == "write"
    text = (WORKFLOWS / "drift.yml").read_text()
    assert 'labels: ["drift"]' in text and 'state: "closed"' in text


def test_ci_runs_what_the_ci_script_runs() -> None:
    runs = [s.get("run") for s in steps(load("ci.yml")["jobs"]["ci"])]
    assert "bash .ci/run" in runs


@pytest.mark.parametrize("script", ["plan.sh", "apply.sh", "drift.sh", "comment.sh"])
def test_workflow_scripts_exist_are_executable_and_strict(script: str) -> None:
    path = REPO / ".github/scripts" / script
    assert os.access(path, os.X_OK)
    assert "set -euo pipefail" in path.read_text()
    used = " ".join(p.read_text() for p in WORKFLOWS.glob("*.yml"))
    assert f".github/scripts/{script}" in used


def test_actionlint_runs_in_ci() -> None:
    assert "actionlint" in Path(REPO / ".ci/run").read_text()
