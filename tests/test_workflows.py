"""The workflows' shape: pinned actions, least privilege, OIDC, gates, concurrency, the reusable
workflows' interface and this repository's callers of it, the release.

actionlint itself runs in .ci/run (.ci/actionlint.sh); these checks are the project's own rules.
The steps' scripts run for real in tests/test_gitops.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler import DISTRIBUTION, __version__
from tests.conftest import REPO

WORKFLOWS = REPO / ".github/workflows"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")
REUSABLE = ("reconciler-plan.yml", "reconciler-apply.yml", "reconciler-drift.yml")
RANK = {"none": 0, "read": 1, "write": 2}
CALLERS = {"plan.yml": "plan", "apply.yml": "apply", "drift.yml": "drift"}


def load(name: str) -> dict[Any, Any]:
    return dict(yaml.safe_load((WORKFLOWS / name).read_text()))


def triggers(name: str) -> dict[str, Any]:
    doc = load(name)
    return dict(doc.get(True) or doc["on"])  # YAML 1.1 reads the key "on" as true


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def step(workflow: str, job: str, name: str) -> dict[str, Any]:
    [found] = [s for s in steps(load(workflow)["jobs"][job]) if s.get("name") == name]
    return found


def all_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path.name, name, job)
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for name, job in load(path.name)["jobs"].items()
    ]


def all_runs() -> list[tuple[str, str, str]]:
    return [
        (workflow, f"{job_name}/{s.get('name', '')}", s["run"])
        for workflow, job_name, job in all_jobs()
        for s in steps(job)
        if "run" in s
    ]


def test_the_workflows() -> None:
    assert sorted(p.name for p in WORKFLOWS.glob("*")) == sorted(
        [*CALLERS, *REUSABLE, "ci.yml", "release.yml"]
    )


@pytest.mark.parametrize(("workflow", "job_name", "job"), all_jobs())
def test_every_action_is_pinned_to_a_commit(
    workflow: str, job_name: str, job: dict[str, Any]
) -> None:
    for s in steps(job):
        if "uses" in s:
            assert PINNED.match(s["uses"]), f"{workflow}:{job_name}: {s['uses']}"
    if "uses" in job:  # a reusable workflow: this repository's own, from this checkout
        assert job["uses"] in {f"./.github/workflows/{name}" for name in REUSABLE}


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
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


@pytest.mark.parametrize(("workflow", "where", "script"), all_runs())
def test_no_expression_in_a_script(workflow: str, where: str, script: str) -> None:
    """Script injection: values reach scripts through env:, never pasted into run:."""
    assert "${{" not in script, f"{workflow}:{where}"


def test_every_script_is_shellcheck_clean(tmp_path: Path) -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    problems = []
    for workflow, where, script in all_runs():
        path = tmp_path / "step.sh"
        path.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + script)  # as GitHub runs it
        done = subprocess.run(
            ["shellcheck", str(path)], capture_output=True, text=True, check=False
        )
        if done.returncode:
            problems.append(f"{workflow}:{where}\n{done.stdout}")
    assert not problems, "\n".join(problems)


# --- the reusable workflows ------------------------------------------------------------------

INPUTS = {
    "reconciler-plan.yml": {
        "environments": ("string", "dev,prod"),
        "prune": ("boolean", False),
        "paths": ("string", ""),
        "comment": ("boolean", True),
        "python-version": ("string", "3.11"),
        "install": ("string", f"{DISTRIBUTION}=={__version__}"),
        "working-directory": ("string", "."),
    },
    "reconciler-apply.yml": {
        "environments": ("string", "dev,prod"),
        "smoke": ("boolean", True),
        "prune": ("boolean", False),
        "paths": ("string", ""),
        "python-version": ("string", "3.11"),
        "install": ("string", f"{DISTRIBUTION}=={__version__}"),
        "working-directory": ("string", "."),
    },
    "reconciler-drift.yml": {
        "environments": ("string", "dev,prod"),
        "paths": ("string", ""),
        "drift-label": ("string", "drift"),
        "expected-interval-hours": ("number", 24),
        "python-version": ("string", "3.11"),
        "install": ("string", f"{DISTRIBUTION}=={__version__}"),
        "working-directory": ("string", "."),
    },
}
SECRETS = {
    "reconciler-plan.yml": {"AZURE_TENANT_ID", "AZURE_PLAN_CLIENT_ID"},
    "reconciler-apply.yml": {"AZURE_TENANT_ID", "AZURE_PLAN_CLIENT_ID", "AZURE_CLIENT_ID"},
    "reconciler-drift.yml": {"AZURE_TENANT_ID", "AZURE_PLAN_CLIENT_ID"},
}


@pytest.mark.parametrize("name", REUSABLE)
def test_the_reusable_interface(name: str) -> None:
    """The install default is this release, so `@v<version>` installs the same version."""
    call = triggers(name)
    assert list(call) == ["workflow_call"]
    inputs = call["workflow_call"]["inputs"]
    assert {k: (v["type"], v["default"]) for k, v in inputs.items()} == INPUTS[name]
    assert all(v.get("description") and v["required"] is False for v in inputs.values())
    secrets = call["workflow_call"]["secrets"]
    assert set(secrets) == SECRETS[name]
    assert all(v["required"] is False for v in secrets.values())  # environment secrets too
    text = (WORKFLOWS / name).read_text()
    assert set(re.findall(r"inputs\.([\w-]+)", text)) == set(inputs)
    assert set(re.findall(r"secrets\.(\w+)", text)) <= set(secrets)
    assert "secrets[matrix.endpoint_secret]" in text  # <ENV>_PROJECT_ENDPOINT, by convention


def test_the_environments_parser_and_the_shared_steps_are_the_same_everywhere() -> None:
    parse = [step(n, "environments", "Parse the environments input")["run"] for n in REUSABLE]
    assert parse[0] == parse[1] == parse[2]
    install = {
        s["run"]
        for _, _, j in all_jobs()
        for s in steps(j)
        if s.get("name") == "Install reconciler"
    }
    assert len(install) == 1
    plans = [
        step("reconciler-plan.yml", "plan", "Validate and plan"),
        step("reconciler-apply.yml", "plan", "Plan (the job summary is what reviewers approve)"),
    ]
    assert plans[0]["run"] == plans[1]["run"] and plans[0]["env"] == plans[1]["env"]
    first = step("reconciler-apply.yml", "first", "Apply")
    later = step("reconciler-apply.yml", "apply", "Apply exactly the approved plan")
    assert first["run"] == later["run"]
    assert set(later["env"]) - set(first["env"]) == {"APPROVED_PLAN"}


def test_the_plan_never_applies_and_comments_once() -> None:
    text = (WORKFLOWS / "reconciler-plan.yml").read_text()
    assert "reconciler apply" not in text and "--auto-approve" not in text
    jobs = load("reconciler-plan.yml")["jobs"]
    assert jobs["plan"]["strategy"] == {
        "fail-fast": False,
        "matrix": {"include": "${{ fromJSON(needs.environments.outputs.matrix) }}"},
    }
    assert jobs["plan"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert "head.repo.full_name == github.repository" in jobs["plan"]["if"]  # no fork plans
    assert jobs["plan"]["concurrency"]["cancel-in-progress"] is True
    comment = jobs["comment"]
    assert comment["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert "!cancelled()" in comment["if"] and "inputs.comment" in comment["if"]
    post = step("reconciler-plan.yml", "comment", "Create or update the sticky comment")
    assert post["run"].startswith("python -m reconciler.ci comment --marker reconciler-plan ")
    assert post["env"]["GITHUB_TOKEN"] == "${{ github.token }}"


def test_apply_goes_first_then_the_rest_behind_their_gates_without_overlap() -> None:
    jobs = load("reconciler-apply.yml")["jobs"]
    first, plan, later = jobs["first"], jobs["plan"], jobs["apply"]
    assert first["environment"] == "${{ needs.environments.outputs.first }}"
    assert first["concurrency"] == {
        "group": "apply-${{ needs.environments.outputs.first }}",
        "cancel-in-progress": False,
    }
    assert plan["needs"] == ["environments", "first"] and "environment" not in plan
    assert plan["if"] == "needs.environments.outputs.rest != '[]'"
    assert later["needs"] == ["environments", "plan"]
    assert later["environment"] == "${{ matrix.environment }}"
    assert later["concurrency"] == {
        "group": "apply-${{ matrix.environment }}",
        "cancel-in-progress": False,
    }
    assert later["strategy"]["max-parallel"] == 1 and later["strategy"]["fail-fast"] is True
    approved = step("reconciler-apply.yml", "apply", "Apply exactly the approved plan")
    assert approved["env"]["APPROVED_PLAN"].endswith("/plan-${{ matrix.environment }}.json")
    [download] = [s for s in steps(later) if "download-artifact" in s.get("uses", "")]
    assert (
        download["with"]["name"] == "approved-plan-${{ matrix.environment }}-${{ github.run_id }}"
    )
    for job in (first, later):
        logins = [s for s in steps(job) if "azure/login" in s.get("uses", "")]
        assert logins[0]["with"]["client-id"] == "${{ secrets.AZURE_CLIENT_ID }}"
        uploads = [s for s in steps(job) if "upload-artifact" in s.get("uses", "")]
        assert uploads and uploads[0]["if"] == "always()"
        assert uploads[0]["with"]["retention-days"] == 400
    [plan_login] = [s for s in steps(plan) if "azure/login" in s.get("uses", "")]
    assert plan_login["with"]["client-id"] == "${{ secrets.AZURE_PLAN_CLIENT_ID }}"


def test_drift_manages_one_issue_per_environment_and_checks_its_schedule() -> None:
    job = load("reconciler-drift.yml")["jobs"]["drift"]
    assert job["permissions"] == {
        "actions": "read",
        "contents": "read",
        "id-token": "write",
        "issues": "write",
    }
    assert job["concurrency"] == {
        "group": "drift-${{ matrix.environment }}",
        "cancel-in-progress": False,
    }
    check = step("reconciler-drift.yml", "drift", "Check that the schedule still runs")
    assert check["continue-on-error"] is True
    assert "schedule-check --expected-interval-hours" in check["run"]
    track = step("reconciler-drift.yml", "drift", "Open, update or close the tracking issue")
    assert track["if"] == "${{ !cancelled() && steps.drift.outcome == 'success' }}"
    assert track["run"].startswith("python -m reconciler.ci drift-issue ")
    assert track["env"]["LABEL"] == "${{ inputs.drift-label }}"
    assert track["env"]["UNHEALTHY"] == "${{ steps.health.outputs.unhealthy || 'false' }}"
    assert '--unhealthy "$UNHEALTHY"' in track["run"] and "--health-report" in track["run"]


def test_drift_adds_the_routines_health_to_its_report_and_issue() -> None:
    names = [s.get("name") for s in steps(load("reconciler-drift.yml")["jobs"]["drift"])]
    assert names.index("Detect drift") < names.index("Check routine health")
    assert names.index("Check routine health") < names.index(
        "Open, update or close the tracking issue"
    )
    health = step("reconciler-drift.yml", "drift", "Check routine health")
    assert health["id"] == "health" and health["if"] == "steps.drift.outcome == 'success'"
    assert 'reconciler status --env "$ENVIRONMENT" --output github' in health["run"]
    assert '--markdown-out "$OUT_DIR/status-$ENVIRONMENT.md"' in health["run"]
    assert "0 | 2) python -m reconciler.ci outputs --status" in health["run"]
    drift = step("reconciler-drift.yml", "drift", "Detect drift")
    assert health["env"] == drift["env"]
    upload = step("reconciler-drift.yml", "drift", "Upload the drift and health reports")
    assert "status-${{ matrix.environment }}.*" in upload["with"]["path"]


def test_the_first_environment_is_applied_with_the_smoke_gate_before_later_plans() -> None:
    jobs = load("reconciler-apply.yml")["jobs"]
    first = step("reconciler-apply.yml", "first", "Apply")
    later = step("reconciler-apply.yml", "apply", "Apply exactly the approved plan")
    assert first["env"]["SMOKE"] == "${{ inputs.smoke }}" and later["env"]["SMOKE"] == "false"
    assert 'if [ "$SMOKE" = true ]; then smoke_flag=(--smoke); fi' in first["run"]
    assert '"${smoke_flag[@]}"' in first["run"]
    assert first["env"]["RUN_ATTEMPT"] == "${{ github.run_attempt }}"  # a re-run smokes them all
    rerun = 'if [ "$SMOKE" = true ] && [ "$RUN_ATTEMPT" -gt 1 ]; then smoke_flag=(--smoke-all); fi'
    assert rerun in first["run"]
    assert first["run"].index("smoke_flag=(--smoke)") < first["run"].index(rerun)
    assert "first" in jobs["plan"]["needs"]  # prod is planned for approval only after dev passed
    assert load("apply.yml")["jobs"]["apply"]["with"]["smoke"] is True


# --- this repository's callers ---------------------------------------------------------------


@pytest.mark.parametrize(("caller", "kind"), CALLERS.items())
def test_this_repository_calls_the_reusable_workflows_with_its_own_checkout(
    caller: str, kind: str
) -> None:
    [(_, job)] = load(caller)["jobs"].items()
    reusable = f"reconciler-{kind}.yml"
    assert job["uses"] == f"./.github/workflows/{reusable}"
    assert job["secrets"] == "inherit"
    assert job["with"]["install"] == "."  # dogfood the checked-out reconciler
    assert set(job["with"]) <= set(INPUTS[reusable])
    granted = job["permissions"]
    for called in load(reusable)["jobs"].values():  # a called job gets no more than this
        for scope, level in called.get("permissions", {}).items():
            assert RANK[granted.get(scope, "none")] >= RANK[level], (reusable, scope)


def test_the_callers_triggers() -> None:
    assert list(triggers("plan.yml")) == ["pull_request"]
    assert triggers("apply.yml")["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in triggers("apply.yml")
    drift = triggers("drift.yml")
    assert drift["schedule"] == [{"cron": "17 5 * * *"}] and "workflow_dispatch" in drift
    every_24h = load("drift.yml")["jobs"]["drift"]["with"]["expected-interval-hours"]
    assert every_24h == 24


def documented_callers() -> list[tuple[str, dict[str, Any], int]]:
    """The calling workflows of docs/gitops.md section 11 (what `reconciler init` writes)."""
    text = (REPO / "docs/gitops.md").read_text()
    section = text[text.index("## 11. Using the reconciler from any repository") :]
    found = []
    for block in re.findall(r"```yaml\n(.*?)```", section, re.S):
        match = re.search(
            r"reconciler/\.github/workflows/(reconciler-\w+\.yml)@v\d+\.\d+\.\d+\n", block
        )
        if match:
            found.append((match.group(1), dict(yaml.safe_load(block)), len(block.splitlines())))
    return found


def test_the_documented_calling_workflows_are_short_and_grant_what_the_jobs_need() -> None:
    callers = documented_callers()
    assert sorted(name for name, _, _ in callers) == sorted(REUSABLE)
    for name, doc, lines in callers:
        assert lines <= 20, name
        assert doc["permissions"] == {"contents": "read"}
        [(_, job)] = doc["jobs"].items()
        assert job["secrets"] == "inherit"
        assert set(job["with"]) <= set(INPUTS[name]) and "install" not in job["with"]
        for called in load(name)["jobs"].values():
            for scope, level in called.get("permissions", {}).items():
                assert RANK[job["permissions"].get(scope, "none")] >= RANK[level], (name, scope)


# --- release and CI ---------------------------------------------------------------------------


def test_release_checks_builds_publishes_with_trusted_publishing_and_moves_the_major_tag() -> None:
    assert triggers("release.yml") == {"push": {"tags": ["v*.*.*"]}}
    jobs = load("release.yml")["jobs"]
    runs = " ".join(s.get("run", "") for s in steps(jobs["build"]))
    assert 'python -m reconciler.ci check-tag "$TAG"' in runs
    assert "python -m build" in runs and "twine check --strict dist/*" in runs
    assert 'python -m venv "$RUNNER_TEMP/smoke"' in runs and 'reconciler" --version' in runs
    publish = jobs["publish"]
    assert publish["environment"]["name"] == "pypi"
    assert publish["permissions"] == {"id-token": "write"}
    [pypi] = [s for s in steps(publish) if "gh-action-pypi-publish" in s.get("uses", "")]
    assert pypi["uses"].startswith("pypa/gh-action-pypi-publish@") and "with" not in pypi
    assert "password" not in (WORKFLOWS / "release.yml").read_text()
    tag = jobs["major-tag"]
    assert tag["needs"] == ["build", "publish"] and tag["permissions"] == {"contents": "write"}
    assert 'move-tag "$MAJOR" --sha "$GITHUB_SHA"' in steps(tag)[-1]["run"]


def test_ci_runs_what_the_ci_script_runs() -> None:
    runs = [s.get("run") for s in steps(load("ci.yml")["jobs"]["ci"])]
    assert "bash .ci/run" in runs


def test_the_scripts_are_executable_strict_and_used() -> None:
    scripts = sorted(p.name for p in (REPO / ".github/scripts").iterdir())
    assert scripts == ["action.sh"]
    path = REPO / ".github/scripts/action.sh"
    assert os.access(path, os.X_OK)
    assert "set -euo pipefail" in path.read_text()
    assert ".github/scripts/action.sh" in (REPO / "action.yml").read_text()


def test_actionlint_runs_in_ci() -> None:
    assert "actionlint" in Path(REPO / ".ci/run").read_text()
