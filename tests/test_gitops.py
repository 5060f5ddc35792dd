"""The reusable workflows' own steps, run for real against the emulator.

Each test runs the ``run:`` script of a step of ``.github/workflows/reconciler-*.yml`` with bash,
as a runner does (``bash --noprofile --norc -eo pipefail``), with exactly the environment the
step declares (the values GitHub would put there) plus the runner's variables. One emulator
serves two projects, dev and prod (as two Foundry projects would), and a temp copy of this
repository's reconciler.yaml and manifests plays the repository. The GitHub API steps (the
sticky comment, the tracking issue, the schedule check) run against ``FakeGitHub``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.emulator.server import Emulator
from reconciler.live.azure import AzureBackend
from reconciler.plan import ownership
from tests.conftest import REPO
from tests.emulator_fixtures import admin
from tests.test_ci_github import REPOSITORY, FakeGitHub

FAST = {"RECONCILER_RETRY_TOTAL": "2", "RECONCILER_RETRY_BACKOFF": "0.01"}
WORKFLOWS = REPO / ".github/workflows"
STEPS = {  # name: (workflow, job, step)
    "environments": ("reconciler-plan.yml", "environments", "Parse the environments input"),
    "plan": ("reconciler-plan.yml", "plan", "Validate and plan"),
    "render": ("reconciler-plan.yml", "comment", "Render the comment"),
    "post": ("reconciler-plan.yml", "comment", "Create or update the sticky comment"),
    "apply": ("reconciler-apply.yml", "first", "Apply"),
    "prod-plan": (
        "reconciler-apply.yml",
        "plan",
        "Plan (the job summary is what reviewers approve)",
    ),
    "apply-approved": ("reconciler-apply.yml", "apply", "Apply exactly the approved plan"),
    "schedule": ("reconciler-drift.yml", "drift", "Check that the schedule still runs"),
    "drift": ("reconciler-drift.yml", "drift", "Detect drift"),
    "health": ("reconciler-drift.yml", "drift", "Check routine health"),
    "issue": ("reconciler-drift.yml", "drift", "Open, update or close the tracking issue"),
}


def workflow_step(name: str) -> dict[str, Any]:
    workflow, job, title = STEPS[name]
    doc = yaml.safe_load((WORKFLOWS / workflow).read_text())
    [step] = [s for s in doc["jobs"][job]["steps"] if s.get("name") == title]
    return dict(step)


def run_step(
    name: str, cwd: Path, env: dict[str, str], runner: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """The step's script with ``env`` (which must be exactly the step's ``env:`` keys) and the
    runner's variables ``runner``."""
    step = workflow_step(name)
    assert set(env) == set(step.get("env", {})), f"{name}: {sorted(step.get('env', {}))}"
    script = cwd / f".step-{name}.sh"
    script.write_text(step["run"])
    clean = ("GITHUB_", "AZURE_", "DEV_", "PROD_", "STAGING_")
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=cwd,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(clean)},
            **FAST,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "NO_COLOR": "1",
            **runner,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@dataclass
class Repo:
    """A checkout of the repository wired to an emulator with a dev and a prod project."""

    root: Path
    emulator: Emulator

    def endpoint(self, env: str) -> str:
        return self.emulator.endpoint(env)

    def portal(self, env: str) -> AzureBackend:
        return AzureBackend(self.endpoint(env), environ=FAST)

    def runner(self, **extra: str) -> dict[str, str]:
        """What a GitHub runner sets for every step."""
        return {
            "GITHUB_ACTIONS": "true",
            "GITHUB_STEP_SUMMARY": str(self.root / "step_summary.md"),
            "GITHUB_OUTPUT": str(self.root / "github_output"),
            "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
            "GITHUB_ACTOR": "octocat",
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_RUN_ID": "42",
            "RUNNER_TEMP": str(self.root / "_temp"),
            **extra,
        }

    def step(self, name: str, environment: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """An environment's step (plan, apply, apply-approved, prod-plan, drift) as the workflow
        runs it: the matrix gives ENVIRONMENT and the endpoint secret's name, the secret its
        value."""
        env = {
            "ENVIRONMENT": environment,
            "ENDPOINT_VARIABLE": f"{environment.upper()}_PROJECT_ENDPOINT",
            "ENDPOINT": self.endpoint(environment),
            "PATHS": "",
            "OUT_DIR": "out",
        }
        if name not in ("drift", "health"):
            env["PRUNE"] = "false"
        if name in ("apply", "apply-approved"):
            env["SMOKE"] = "false"
            env["RUN_ATTEMPT"] = "1"
        if name == "apply-approved":
            env["APPROVED_PLAN"] = ""
        env.update({k: v for k, v in extra.items() if k in env})
        runner = {k: v for k, v in extra.items() if k not in env}
        return run_step(name, self.root, env, self.runner(**runner))

    def render(self, *environments: str) -> subprocess.CompletedProcess[str]:
        env = {
            "ENVIRONMENT_NAMES": " ".join(environments),
            "OUT_DIR": "out",
            "RUN_URL": f"https://github.com/{REPOSITORY}/actions/runs/42",
        }
        return run_step("render", self.root, env, self.runner())

    def comment(self) -> str:
        return (self.root / "out/comment.md").read_text()

    def outputs(self) -> dict[str, str]:
        path = self.root / "github_output"
        lines = path.read_text().splitlines() if path.exists() else []
        return dict(line.split("=", 1) for line in lines)

    def json(self, name: str) -> dict[str, Any]:
        return dict(json.loads((self.root / "out" / name).read_text()))

    def edit(self, rel: str, old: str, new: str) -> None:
        path = self.root / rel
        text = path.read_text()
        assert old in text, old
        path.write_text(text.replace(old, new, 1))


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    shutil.copy(REPO / "reconciler.yaml", tmp_path / "reconciler.yaml")
    with Emulator(tmp_path / "emulator.db") as emu:
        yield Repo(tmp_path, emu)


def deployed(repo: Repo) -> None:
    for env in ("dev", "prod"):
        done = repo.step("apply", env)
        assert done.returncode == 0, done.stdout + done.stderr


def test_pull_request_plan_has_summary_table_collapsible_diffs_and_artifacts(repo: Repo) -> None:
    deployed(repo)
    repo.edit("manifests/ops/daily-summaries.yaml", '"0 7 * * 1-5"', '"45 6 * * 1-5"')
    (repo.root / "manifests/releases/timers.yaml").unlink()
    for env in ("dev", "prod"):
        done = repo.step("plan", env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"Target: {repo.endpoint(env)}" in done.stdout
    dev = repo.json("plan-dev.json")
    assert dev["target"]["environment"] == "dev"
    assert {c["name"]: c["action"] for c in dev["changes"] if c["action"] != ["no-op"]} == {
        "daily-ops-summary": ["update"],
        "post-deploy-warmup": ["delete"],
        "quarter-close-reminder": ["delete"],
        "release-day-announcement": ["delete"],
    }
    done = repo.render("dev", "prod")
    assert done.returncode == 0, done.stderr
    comment = repo.comment()
    assert comment.startswith("<!-- reconciler-plan -->")
    assert "| dev | `" + repo.endpoint("dev") + "` | 0 | 1 | 0 | 3 | 0 | 0 |" in comment
    assert "| prod | `" + repo.endpoint("prod") + "` | 0 | 1 | 0 | 3 | 0 | 0 |" in comment
    assert comment.count("<details>") == 8
    assert (
        '| `triggers.weekday-morning.cron_expression` | `"0 7 * * 1-5"` | `"45 6 * * 1-5"` |'
    ) in comment
    assert "Plan: 0 to create, 1 to update, 0 to replace, 3 to delete." in comment
    assert len(comment) < 65_536
    summary = (repo.root / "step_summary.md").read_text()
    assert summary.count("<!-- reconciler-plan -->") >= 2


def test_plan_never_writes(repo: Repo) -> None:
    assert repo.step("plan", "dev").returncode == 0
    assert repo.portal("dev").list_routines() == []


def test_invalid_manifest_fails_the_plan_with_an_annotation(repo: Repo) -> None:
    repo.edit("manifests/ops/regional.yaml", "America/New_York", "America/Nowhere")
    done = repo.step("plan", "dev")
    assert done.returncode == 1
    [annotation] = [x for x in done.stdout.splitlines() if x.startswith("::error ")]
    assert annotation.startswith("::error file=") and "regional.yaml,line=10,col=20," in annotation
    assert "title=routines[0].triggers.local-morning.time_zone::unknown time zone" in annotation
    assert not (repo.root / "out/plan-dev.json").exists()


def test_misconfigured_environment_fails_fast(repo: Repo) -> None:
    done = repo.step("plan", "dev", ENDPOINT="")
    assert done.returncode == 1
    assert "does not resolve" in done.stderr and "refusing to fall back" in done.stderr
    assert not (repo.root / ".reconciler").exists()
    unknown = repo.step("plan", "staging")
    assert unknown.returncode == 1 and "'staging' is not in reconciler.yaml" in unknown.stderr


def test_apply_writes_an_audit_record_and_gates_nothing_itself(repo: Repo) -> None:
    done = repo.step("apply", "dev")
    assert done.returncode == 0, done.stdout + done.stderr
    audit = repo.json("audit-dev.json")
    assert audit["kind"] == "reconciler-apply-audit" and audit["ok"] is True
    assert (audit["commit"], audit["actor"]) == (
        "0123456789abcdef0123456789abcdef01234567",
        "octocat",
    )
    assert audit["run"] == "https://github.com/contoso/routines/actions/runs/42"
    assert audit["plan"]["target"]["environment"] == "dev"
    assert {r["name"] for r in audit["results"]} >= {"daily-ops-summary", "dev-smoke-test"}
    assert all(r["status"] == "ok" for r in audit["results"])
    names = {r["name"] for r in repo.portal("dev").list_routines()}
    assert "dev-smoke-test" in names and "prod-capacity-report" not in names
    records = [ownership.split(r["description"])[1] for r in repo.portal("dev").list_routines()]
    assert {r.stack for r in records if r} == {"routines-platform"}


def test_apply_fails_the_job_on_any_failed_change(repo: Repo) -> None:
    from tests.emulator_fixtures import admin

    admin(
        repo.emulator.url,
        "PUT",
        "faults",
        {
            "script": [
                {
                    "fault": "400",
                    "method": "PUT",
                    "param": "action.agent_name",
                    "message": "agent has no agent identity",
                }
            ]
        },
    )
    done = repo.step("apply", "dev")
    assert done.returncode == 1
    assert any(x.startswith("::error file=") for x in done.stdout.splitlines())
    audit = repo.json("audit-dev.json")
    assert audit["ok"] is False
    assert [r["status"] for r in audit["results"]].count("failed") == 1


def test_drift_after_out_of_band_disable_and_portal_edit_then_in_sync_after_apply(
    repo: Repo,
) -> None:
    deployed(repo)
    assert repo.step("drift", "dev").returncode == 0
    assert repo.outputs()["drift"] == "false"
    portal = repo.portal("dev")
    portal.disable("daily-summary-us-east")
    edited = portal.get("daily-ops-summary")
    assert edited is not None
    _, record = ownership.split(edited["description"])
    assert record is not None
    edited["description"] = ownership.join("Edited in the portal", record)
    edited["triggers"]["weekday-morning"]["cron_expression"] = "0 9 * * 1-5"
    portal.create_or_update("daily-ops-summary", edited)
    portal.create_or_update(
        "made-in-portal",
        {
            "triggers": {
                "t": {"type": "schedule", "cron_expression": "0 12 * * *", "time_zone": "UTC"}
            },
            "action": {"type": "invoke_agent_responses_api", "agent_name": "x"},
        },
    )

    done = repo.step("drift", "dev")
    assert done.returncode == 0, done.stdout + done.stderr
    assert repo.outputs()["drift"] == "true"
    report = (repo.root / "out/drift-dev.md").read_text()
    assert report.startswith("<!-- reconciler-drift:dev -->")
    assert "**Changed outside git** (1)" in report and "daily-ops-summary" in report
    assert "**Disabled outside git** (1)" in report
    assert "**Unmanaged routines in the project** (1)" in report and "made-in-portal" in report
    doc = repo.json("drift-dev.json")
    assert doc["drifted"] is True
    assert {d["path"] for d in doc["changed"][0]["diff"]} == {
        "description",
        "triggers.weekday-morning.cron_expression",
    }

    portal.delete("made-in-portal")
    assert repo.step("apply", "dev").returncode == 0
    assert repo.step("drift", "dev").returncode == 0
    assert repo.outputs()["drift"] == "false"


def test_ignored_field_is_reported_but_is_not_drift(repo: Repo) -> None:
    deployed(repo)
    repo.portal("prod").disable("daily-ops-summary")  # prod ignores /enabled
    done = repo.step("drift", "prod")
    assert done.returncode == 0
    assert repo.outputs()["drift"] == "false"
    doc = repo.json("drift-prod.json")
    assert doc["drifted"] is False
    assert [(i["name"], i["ignored_differences"][0]["path"]) for i in doc["ignored"]] == [
        ("daily-ops-summary", "enabled")
    ]
    assert "Ignored differences" in done.stdout
    assert "daily-ops-summary: differs only in ignored fields: enabled" in done.stdout
    again = repo.step("apply", "prod")
    assert again.returncode == 0
    live = repo.portal("prod").get("daily-ops-summary")
    assert live is not None and live["enabled"] is False  # the pause survives a deploy


def test_drift_error_exits_1(repo: Repo) -> None:
    done = repo.step(
        "drift",
        "dev",
        ENDPOINT="http://127.0.0.1:9/api/projects/x",
        RECONCILER_RETRY_TOTAL="0",
    )
    assert done.returncode == 1
    assert "cannot reach" in done.stderr


def test_apply_follows_the_configured_prune_policy_like_the_plan(repo: Repo) -> None:
    deployed(repo)
    repo.edit("reconciler.yaml", "prune:\n  enabled: true", "prune:\n  enabled: false")
    (repo.root / "manifests/environments/dev/smoke.yaml").unlink()
    planned = repo.step("plan", "dev")
    assert planned.returncode == 0
    assert "not declared in the selected manifests; prune is off" in planned.stdout
    assert "    # dev-smoke-test" in planned.stdout
    applied = repo.step("apply", "dev")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert repo.portal("dev").get("dev-smoke-test") is not None


def test_deletes_held_back_by_the_guard_fail_the_deploy(repo: Repo) -> None:
    deployed(repo)
    for rel in ("manifests/ops/regional.yaml", "manifests/integrations/events.yaml"):
        (repo.root / rel).unlink()
    planned = repo.step("plan", "prod")  # the pull-request check fails like the deploy will
    assert planned.returncode == 1
    assert "0 to delete; 4 held back by the mass-delete guard." in planned.stdout
    done = repo.step("apply", "prod")  # prod allows at most 3 deletes; this needs 4
    assert done.returncode == 1, done.stdout + done.stderr
    assert "4 deletes exceed the limit of 3 (the configured limit)" in done.stdout
    assert "prune.max_deletes: 4 in reconciler.yaml" in done.stdout
    assert "held back by the mass-delete guard" in done.stderr
    assert len(repo.portal("prod").list_routines()) == 10
    audit = repo.json("audit-prod.json")
    assert audit["ok"] is False and len(audit["held_back_deletes"]) == 4


def test_the_comment_says_when_an_environment_has_no_plan(repo: Repo) -> None:
    assert repo.step("plan", "dev").returncode == 0
    done = repo.render("dev", "prod")
    assert done.returncode == 0, done.stderr
    comment = repo.comment()
    assert "| prod | **no plan: the plan job failed**" in comment
    assert "| dev | `" in comment


def test_the_comment_shows_ignored_differences_and_what_a_delete_removes(repo: Repo) -> None:
    deployed(repo)
    repo.portal("prod").disable("daily-ops-summary")
    (repo.root / "manifests/environments/prod/capacity.yaml").write_text(
        (repo.root / "manifests/environments/prod/capacity.yaml")
        .read_text()
        .replace("protect: true", "protect: false")
    )
    assert repo.step("apply", "prod").returncode == 0
    (repo.root / "manifests/environments/prod/capacity.yaml").unlink()
    assert repo.step("plan", "prod").returncode == 0
    assert repo.render("prod").returncode == 0
    comment = repo.comment()
    assert "**Ignored differences** (reported, never changed by apply):" in comment
    assert "- `daily-ops-summary`: `enabled` `false` => `true`" in comment
    assert "- <b>delete</b> `prod-capacity-report`" in comment
    assert '| `triggers.monthly.cron_expression` | `"0 8 1 * *"` | |' in comment


def test_the_apply_job_summary_lists_every_result(repo: Repo) -> None:
    assert repo.step("apply", "dev").returncode == 0
    summary = (repo.root / "step_summary.md").read_text()
    assert "### Apply results" in summary
    assert "| `dev-smoke-test` | create | ok |" in summary
    assert "**Apply complete: 10 created, 0 updated, 0 replaced, 0 deleted, 0 failed" in summary


def test_prod_applies_only_the_approved_plan(repo: Repo) -> None:
    deployed(repo)
    repo.edit("manifests/ops/daily-summaries.yaml", '"0 7 * * 1-5"', '"5 7 * * 1-5"')
    assert repo.step("plan", "prod").returncode == 0
    approved = str(repo.root / "out/plan-prod.json")
    portal = repo.portal("prod")
    moved = portal.get("daily-summary-us-east")  # the project moves after approval
    assert moved is not None
    original = moved["triggers"]["local-morning"]["cron_expression"]
    moved["triggers"]["local-morning"]["cron_expression"] = "0 9 * * 1-5"
    portal.create_or_update("daily-summary-us-east", moved)
    refused = repo.step("apply-approved", "prod", APPROVED_PLAN=approved)
    assert refused.returncode == 1
    assert "differs from the approved plan for daily-summary-us-east" in refused.stderr
    live = repo.portal("prod").get("daily-ops-summary")
    assert live is not None
    assert live["triggers"]["weekday-morning"]["cron_expression"] == "0 7 * * 1-5"
    moved["triggers"]["local-morning"]["cron_expression"] = original
    portal.create_or_update("daily-summary-us-east", moved)
    accepted = repo.step("apply-approved", "prod", APPROVED_PLAN=approved)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "Apply complete: 0 created, 1 updated" in accepted.stdout


def test_an_approved_plan_for_another_environment_is_refused(repo: Repo) -> None:
    assert repo.step("plan", "dev").returncode == 0
    done = repo.step("apply-approved", "prod", APPROVED_PLAN=str(repo.root / "out/plan-dev.json"))
    assert done.returncode == 1 and "the approved plan is for" in done.stderr
    assert repo.portal("prod").list_routines() == []


def test_routines_of_other_stacks_are_not_this_stacks_drift(repo: Repo) -> None:
    deployed(repo)
    other = {
        "triggers": {"t": {"type": "schedule", "cron_expression": "0 3 * * *", "time_zone": "UTC"}},
        "action": {"type": "invoke_agent_responses_api", "agent_name": "x"},
        "description": ownership.join("", ownership.Ownership("other-team", "theirs")),
    }
    repo.portal("dev").create_or_update("theirs", other)
    done = repo.step("drift", "dev")
    assert done.returncode == 0
    assert repo.outputs()["drift"] == "false"
    doc = repo.json("drift-dev.json")
    assert [u["name"] for u in doc["other_stacks"]] == ["theirs"] and doc["unmanaged"] == []


# --- the steps that talk to GitHub, and the environments input ------------------------------


def test_the_environments_input_becomes_the_matrix(tmp_path: Path) -> None:
    output = tmp_path / "output"
    done = run_step(
        "environments",
        tmp_path,
        {"ENVIRONMENTS": " dev, staging ,\nprod "},
        {"GITHUB_OUTPUT": str(output)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    found = dict(line.split("=", 1) for line in output.read_text().splitlines())
    entry = '{{"environment":"{0}","endpoint_secret":"{1}_PROJECT_ENDPOINT"}}'.format
    assert found == {
        "names": "dev staging prod",
        "matrix": f"[{entry('dev', 'DEV')},{entry('staging', 'STAGING')},{entry('prod', 'PROD')}]",
        "first": "dev",
        "first-endpoint-secret": "DEV_PROJECT_ENDPOINT",
        "rest": f"[{entry('staging', 'STAGING')},{entry('prod', 'PROD')}]",
    }
    assert json.loads(found["matrix"])[2] == {
        "environment": "prod",
        "endpoint_secret": "PROD_PROJECT_ENDPOINT",
    }
    output.unlink()
    one = run_step(
        "environments", tmp_path, {"ENVIRONMENTS": "dev"}, {"GITHUB_OUTPUT": str(output)}
    )
    assert one.returncode == 0
    assert "rest=[]" in output.read_text()
    for bad, says in [
        ("dev,us-east", "not an environment name"),
        ("dev,Dev", "listed twice: Dev"),
        (" , ", "no environment given"),
    ]:
        done = run_step(
            "environments", tmp_path, {"ENVIRONMENTS": bad}, {"GITHUB_OUTPUT": str(output)}
        )
        assert done.returncode == 1, bad
        assert done.stdout.startswith("::error title=environments::") and says in done.stdout


def test_the_pull_request_flow_posts_one_sticky_comment(repo: Repo) -> None:
    deployed(repo)
    repo.edit("manifests/ops/daily-summaries.yaml", '"0 7 * * 1-5"', '"45 6 * * 1-5"')
    assert repo.step("plan", "dev").returncode == 0
    assert repo.render("dev", "prod").returncode == 0  # prod's plan job "failed"
    event = repo.root / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 123}}))
    with FakeGitHub() as github:
        runner = repo.runner(GITHUB_API_URL=github.url, GITHUB_EVENT_PATH=str(event))
        for _ in range(2):
            env = {"GITHUB_TOKEN": "ghs_workflowtoken0123456789", "OUT_DIR": "out"}
            done = run_step("post", repo.root, env, runner)
            assert done.returncode == 0, done.stdout + done.stderr
        [posted] = github.comments[123]
    assert posted["body"] == repo.comment()
    assert posted["body"].startswith("<!-- reconciler-plan -->")
    assert "| prod | **no plan: the plan job failed**" in posted["body"]
    assert "~ <b>update</b> `daily-ops-summary`" in posted["body"]


def test_the_drift_job_tracks_its_issue_and_warns_when_the_schedule_is_late(repo: Repo) -> None:
    deployed(repo)
    repo.portal("dev").disable("daily-summary-us-east")
    with FakeGitHub() as github:
        late = datetime.now(UTC) - timedelta(hours=60)
        github.runs["drift.yml"] = [
            {
                "status": "success",
                "event": "schedule",
                "run_started_at": late.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "html_url": "https://github.com/contoso/routines/actions/runs/7",
            }
        ]
        runner = repo.runner(
            GITHUB_API_URL=github.url,
            GITHUB_WORKFLOW_REF=f"{REPOSITORY}/.github/workflows/drift.yml@refs/heads/main",
        )
        token = "ghs_workflowtoken0123456789"
        env = {"GITHUB_TOKEN": token, "INTERVAL": "24", "OUT_DIR": "out"}
        checked = run_step("schedule", repo.root, env, runner)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.startswith("::warning title=Drift check is late::")
        assert repo.step("drift", "dev").returncode == 0
        assert repo.outputs()["drift"] == "true"
        issue_env = {
            "GITHUB_TOKEN": token,
            "ENVIRONMENT": "dev",
            "DRIFTED": "true",
            "UNHEALTHY": "false",
            "LABEL": "drift",
            "OUT_DIR": "out",
        }
        done = run_step("issue", repo.root, issue_env, runner)
        assert done.returncode == 0, done.stdout + done.stderr
        [opened] = github.issues
        assert opened["title"] == "Drift detected in dev"
        assert opened["body"].startswith("> [!WARNING]\n> **The scheduled drift check is late.**")
        assert "**Disabled outside git** (1)" in opened["body"]
        assert opened["body"].endswith(
            "_Last checked by https://github.com/contoso/routines/actions/runs/42_\n"
        )
        summary = (repo.root / "step_summary.md").read_text()
        assert "The scheduled drift check is late." in summary
        assert repo.step("apply", "dev").returncode == 0
        assert repo.step("drift", "dev").returncode == 0
        assert repo.outputs()["drift"] == "false"
        done = run_step("issue", repo.root, {**issue_env, "DRIFTED": "false"}, runner)
        assert done.returncode == 0 and github.issues[0]["state"] == "closed"


# --- the smoke gate and the routines' health ---------------------------------------------------

SMOKED = "manifests/environments/dev/smoke.yaml"  # dev-smoke-test declares reconcile.smoke


def failing(repo: Repo, *agents: str) -> None:
    """The runs of these agents fail with a 400 (not retried: one attempt each)."""
    entries = [{"agent": name, "rate": 1, "status_code": 400} for name in agents]
    admin(repo.emulator.url, "PUT", "agents/failures", {"failures": entries})


def test_the_first_apply_runs_the_smoke_gate_and_a_failed_run_fails_the_deploy(
    repo: Repo,
) -> None:
    passed = repo.step("apply", "dev", SMOKE="true")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "  passed  dev-smoke-test: completed in " in passed.stdout
    smoke = repo.json("audit-dev.json")["smoke"]
    assert smoke["ok"] is True and [r["name"] for r in smoke["runs"]] == ["dev-smoke-test"]
    [run_id] = smoke["runs"][0]["run_ids"]
    summary = (repo.root / "step_summary.md").read_text()
    assert "### Smoke gate" in summary and f"`{run_id}`" in summary
    failing(repo, "ops-summary-agent-dev")  # OPS_AGENT of dev in reconciler.yaml
    repo.edit(SMOKED, "every hour in dev", "every hour in dev (v2)")
    failed = repo.step("apply", "dev", SMOKE="true")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "::error::smoke test of dev-smoke-test failed: the run failed: " in failed.stdout
    record = repo.json("audit-dev.json")
    assert record["ok"] is True and record["smoke"]["ok"] is False  # applied, then refused
    [run] = record["smoke"]["runs"]
    assert (run["action"], run["state"], run["error_status_code"]) == ("update", "failed", 400)
    assert "error: smoke gate failed: 1 of 1 smoke run(s) did not complete" in failed.stderr
    # "Re-run failed jobs": nothing changes any more, but a re-run smokes every declared test.
    rerun = repo.step("apply", "dev", SMOKE="true", RUN_ATTEMPT="2")
    assert rerun.returncode == 1, rerun.stdout + rerun.stderr
    assert "::error::smoke test of dev-smoke-test failed: the run failed: " in rerun.stdout
    first_attempt_again = repo.step("apply", "dev", SMOKE="true")  # no changes: nothing smoked
    assert first_attempt_again.returncode == 0, first_attempt_again.stdout


def test_the_drift_job_opens_an_issue_for_failing_routines_and_closes_it_when_healthy(
    repo: Repo,
) -> None:
    deployed(repo)
    failing(repo, "triage-agent")
    portal = repo.portal("dev")
    for _ in range(3):
        portal.dispatch("triage-new-issues")
    admin(repo.emulator.url, "POST", "clock/advance", {"seconds": 60})  # the runs end
    with FakeGitHub() as github:
        runner = repo.runner(GITHUB_API_URL=github.url)
        assert repo.step("drift", "dev").returncode == 0
        assert repo.outputs()["drift"] == "false"
        health = repo.step("health", "dev", GITHUB_API_URL=github.url)
        assert health.returncode == 0, health.stdout + health.stderr
        assert repo.outputs()["unhealthy"] == "true"
        assert "::error::routine triage-new-issues in dev: failing: 3 consecutive" in health.stdout
        report = (repo.root / "out/status-dev.md").read_text()
        assert report.startswith("<!-- reconciler-status -->")
        issue_env = {
            "GITHUB_TOKEN": "ghs_workflowtoken0123456789",
            "ENVIRONMENT": "dev",
            "DRIFTED": "false",
            "UNHEALTHY": "true",
            "LABEL": "drift",
            "OUT_DIR": "out",
        }
        opened = run_step("issue", repo.root, issue_env, runner)
        assert opened.returncode == 0, opened.stdout + opened.stderr
        [issue] = github.issues
        assert issue["title"] == "Unhealthy routines in dev"
        assert "## Routine health" in issue["body"] and "`triage-new-issues`" in issue["body"]
        assert "failing: 3 consecutive failed deliveries" in issue["body"]
        failing(repo)
        portal.dispatch("triage-new-issues")
        admin(repo.emulator.url, "POST", "clock/advance", {"seconds": 60})
        assert repo.step("health", "dev").returncode == 0
        assert repo.outputs()["unhealthy"] == "false"
        closed = run_step("issue", repo.root, {**issue_env, "UNHEALTHY": "false"}, runner)
        assert closed.returncode == 0 and github.issues[0]["state"] == "closed"
