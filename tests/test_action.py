"""The composite action (action.yml): its metadata, checked here because actionlint does not
read action metadata, and its steps (.github/scripts/action.sh) run for real against the
emulator and the fake GitHub API."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler import DISTRIBUTION
from reconciler.emulator.server import Emulator
from reconciler.live.azure import AzureBackend
from tests.conftest import REPO
from tests.test_ci_github import ACTIONS_TOKEN, REPOSITORY, FakeGitHub

ACTION = REPO / "action.yml"
SCRIPT = REPO / ".github/scripts/action.sh"
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
FAST = {"RECONCILER_RETRY_TOTAL": "2", "RECONCILER_RETRY_BACKOFF": "0.01"}


def action() -> dict[str, Any]:
    return dict(yaml.safe_load(ACTION.read_text()))


def test_the_inputs_and_their_defaults() -> None:
    inputs = action()["inputs"]
    assert {name: spec["default"] for name, spec in inputs.items()} == {
        "command": "plan",
        "environment": "",
        "args": "",
        "version": "",
        "working-directory": ".",
        "python-version": "3.11",
        "comment": "false",
        "github-token": "${{ github.token }}",
    }
    assert all(spec.get("description") and spec["required"] is False for spec in inputs.values())


def test_the_outputs_come_from_the_run_step() -> None:
    outputs = action()["outputs"]
    assert {name: spec["value"] for name, spec in outputs.items()} == {
        name: f"${{{{ steps.run.outputs.{name} }}}}"
        for name in ("exit-code", "has-changes", "drift", "unhealthy", "plan-json")
    }
    steps = action()["runs"]["steps"]
    assert [s.get("id") for s in steps] == ["python", "install", "run", None]


def test_every_expression_names_a_declared_input_or_step() -> None:
    doc = action()
    text = ACTION.read_text()
    declared = set(doc["inputs"])
    used = set(re.findall(r"inputs\.([\w-]+)", text))
    assert used == declared, used ^ declared
    ids = {s["id"] for s in doc["runs"]["steps"] if "id" in s}
    assert set(re.findall(r"steps\.([\w-]+)\.", text)) <= ids


def test_no_expression_inside_a_script_and_every_script_is_bash() -> None:
    """Script injection: a ${{ }} in run: is pasted into the script before bash reads it."""
    steps = action()["runs"]["steps"]
    assert action()["runs"]["using"] == "composite"
    for step in steps:
        if "run" in step:
            assert "${{" not in step["run"], step["name"]
            assert step["shell"] == "bash"
            assert step["run"].startswith('bash "$GITHUB_ACTION_PATH/.github/scripts/action.sh" ')
            for name, value in step["env"].items():
                assert EXPRESSION.fullmatch(value.strip()), (step["name"], name)
        else:
            assert PINNED.match(step["uses"]), step["uses"]
    [setup] = [s for s in steps if "uses" in s]
    assert setup["uses"].startswith("actions/setup-python@")
    assert setup["with"]["update-environment"] is False  # leave the caller's PATH alone


def test_the_token_goes_only_to_the_comment_step() -> None:
    steps = action()["runs"]["steps"]
    holders = [s["name"] for s in steps if "inputs.github-token" in json.dumps(s)]
    assert holders == ["Sticky pull-request comment"]
    [post] = [s for s in steps if s["name"] == "Sticky pull-request comment"]
    assert "inputs.comment == 'true'" in post["if"] and "!cancelled()" in post["if"]


def test_the_script_is_strict_and_shellcheck_clean() -> None:
    assert os.access(SCRIPT, os.X_OK)
    assert "set -euo pipefail" in SCRIPT.read_text()
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    done = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout


# --- the steps, for real -------------------------------------------------------------------


def script(step: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = ("GITHUB_", "AZURE_", "ACTION_", "DEV_", "PROD_")
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(SCRIPT), step],
        cwd=cwd,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(clean)},
            **FAST,
            "NO_COLOR": "1",
            "GITHUB_ACTION_PATH": str(REPO),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


STUB = """#!/usr/bin/env bash
echo "$0 $*" >> "$STUB_LOG"
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && cp "$0" "$3/bin/reconciler"
fi
"""


@pytest.mark.parametrize(
    ("version", "requirement"),
    [
        ("", str(REPO)),
        ("1.2.0", f"{DISTRIBUTION}==1.2.0"),
        ("2.0.0rc1", f"{DISTRIBUTION}==2.0.0rc1"),
    ],
)
def test_install_uses_the_action_checkout_or_the_given_pypi_version(
    tmp_path: Path, version: str, requirement: str
) -> None:
    python, log, output = tmp_path / "python", tmp_path / "log", tmp_path / "output"
    python.write_text(STUB)
    python.chmod(0o755)
    env = {
        "ACTION_PYTHON": str(python),
        "ACTION_VERSION": version,
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(output),
        "STUB_LOG": str(log),
    }
    done = script("install", tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    venv = tmp_path / "reconciler-action/venv"
    assert log.read_text().splitlines() == [
        f"{python} -m venv {venv}",
        f"{venv}/bin/python -m pip install --disable-pip-version-check --quiet {requirement}",
        f"{venv}/bin/reconciler --version",
    ]
    assert output.read_text() == f"bin={venv}/bin\n"


def test_install_refuses_what_is_not_a_version(tmp_path: Path) -> None:
    env = {"ACTION_PYTHON": "/bin/false", "ACTION_VERSION": "1.0 --index-url=http://evil\n::x"}
    done = script("install", tmp_path, env)
    assert done.returncode == 1
    assert done.stdout == (
        "::error title=reconciler action::version '1.0 --index-url=http://evil%0A::x' is not a "
        "version number (for example 1.2.0), nor ''\n"
    )


@dataclass
class Checkout:
    """A repository that uses the action, wired to the emulator."""

    root: Path
    emulator: Emulator

    def env(self, command: str, environment: str = "dev", **extra: str) -> dict[str, str]:
        return {
            "ACTION_BIN": str(Path(sys.executable).parent),
            "ACTION_COMMAND": command,
            "ACTION_ENVIRONMENT": environment,
            "ACTION_ARGS": "",
            "RUNNER_TEMP": str(self.root / "_temp"),
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(self.root / "output"),
            "GITHUB_STEP_SUMMARY": str(self.root / "summary.md"),
            "GITHUB_REPOSITORY": REPOSITORY,
            "GITHUB_RUN_ID": "42",
            "DEV_PROJECT_ENDPOINT": self.emulator.endpoint("dev"),
            "PROD_PROJECT_ENDPOINT": self.emulator.endpoint("prod"),
            **extra,
        }

    def run(self, command: str, environment: str = "dev", **extra: str) -> Any:
        (self.root / "output").unlink(missing_ok=True)
        return script("run", self.root, self.env(command, environment, **extra))

    def outputs(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in (self.root / "output").read_text().splitlines())

    def out(self, rel: str) -> Path:
        return self.root / "_temp/reconciler-action" / rel


@pytest.fixture
def checkout(tmp_path: Path) -> Iterator[Checkout]:
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    shutil.copy(REPO / "reconciler.yaml", tmp_path / "reconciler.yaml")
    with Emulator(tmp_path / "emulator.db") as emu:
        yield Checkout(tmp_path, emu)


def test_plan_writes_the_json_and_the_outputs(checkout: Checkout) -> None:
    done = checkout.run("plan")
    assert done.returncode == 0, done.stdout + done.stderr
    plan = checkout.out("plan/dev.json")
    assert checkout.outputs() == {
        "exit-code": "0",
        "has-changes": "true",
        "plan-json": str(plan),
    }
    assert json.loads(plan.read_text())["target"]["environment"] == "dev"
    assert "<!-- reconciler-plan -->" in (checkout.root / "summary.md").read_text()
    assert checkout.run("apply").returncode == 0
    assert checkout.outputs() == {"exit-code": "0"}
    assert json.loads(checkout.out("apply/dev.json").read_text())["ok"] is True
    assert checkout.run("plan").returncode == 0
    assert checkout.outputs()["has-changes"] == "false"


def test_a_failed_command_fails_the_step_with_its_exit_code(checkout: Checkout) -> None:
    (checkout.root / "manifests/ops/regional.yaml").write_text("routines: [{name: 1}]\n")
    done = checkout.run("validate")
    assert done.returncode == 1
    assert checkout.outputs() == {"exit-code": "1"}
    assert any(line.startswith("::error file=") for line in done.stdout.splitlines())
    done = checkout.run("plan")
    assert done.returncode == 1 and checkout.outputs() == {"exit-code": "1"}
    assert not checkout.out("plan/dev.json").exists()
    done = checkout.run("deploy")
    assert done.returncode == 1
    assert done.stdout == (
        "::error title=reconciler action::command 'deploy' is not one of validate, plan, "
        "apply, drift, status\n"
    )


def test_args_are_split_like_a_shell_and_detailed_exitcode_two_is_success(
    checkout: Checkout,
) -> None:
    args = "--detailed-exitcode --var 'OPS_AGENT=agent with spaces' $HOME"
    done = checkout.run("plan", ACTION_ARGS=args.replace(" $HOME", ""))
    assert done.returncode == 0, done.stdout + done.stderr
    assert checkout.outputs()["exit-code"] == "2"
    assert checkout.outputs()["has-changes"] == "true"
    plan = json.loads(checkout.out("plan/dev.json").read_text())
    [daily] = [c for c in plan["changes"] if c["name"] == "daily-ops-summary"]
    assert daily["after"]["action"]["agent_name"] == "agent with spaces"
    done = checkout.run("plan", ACTION_ARGS=args)  # $HOME is a path argument, not expanded
    assert done.returncode == 1 and "$HOME" in done.stdout + done.stderr


def test_drift_reports_through_the_drift_output(checkout: Checkout) -> None:
    assert checkout.run("apply").returncode == 0
    assert checkout.run("drift").returncode == 0
    assert checkout.outputs() == {"exit-code": "0", "drift": "false"}
    AzureBackend(checkout.emulator.endpoint("dev"), environ=FAST).disable("daily-summary-us-east")
    done = checkout.run("drift")
    assert done.returncode == 0, done.stdout + done.stderr
    assert checkout.outputs() == {"exit-code": "2", "drift": "true"}
    assert checkout.out("drift/dev.md").read_text().startswith("<!-- reconciler-drift:dev -->")


def test_status_reports_through_the_unhealthy_output(checkout: Checkout) -> None:
    assert checkout.run("apply").returncode == 0
    done = checkout.run("status")
    assert done.returncode == 0, done.stdout + done.stderr
    assert checkout.outputs() == {"exit-code": "0", "unhealthy": "false"}
    AzureBackend(checkout.emulator.endpoint("dev"), environ=FAST).delete("daily-summary-us-east")
    done = checkout.run("status")
    assert done.returncode == 0, done.stdout + done.stderr
    assert checkout.outputs() == {"exit-code": "2", "unhealthy": "true"}
    report = checkout.out("status/dev.md").read_text()
    assert report.startswith("<!-- reconciler-status -->") and "missing" in report
    apply = checkout.run("apply", ACTION_ARGS="--smoke")
    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert "Smoke gate: no created, updated, replaced or enabled routine" in apply.stdout


def test_the_comment_is_sticky_per_command_and_environment(checkout: Checkout) -> None:
    event = checkout.root / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 321}}))
    assert checkout.run("plan").returncode == 0
    with FakeGitHub() as github:
        extra = {
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_API_URL": github.url,
            "GITHUB_TOKEN": ACTIONS_TOKEN,
        }
        for _ in range(2):
            done = script("comment", checkout.root, checkout.env("plan", **extra))
            assert done.returncode == 0, done.stdout + done.stderr
        checkout.out("plan/dev.json").unlink()  # the plan failed: the comment says so
        assert script("comment", checkout.root, checkout.env("plan", **extra)).returncode == 0
        assert script("comment", checkout.root, checkout.env("drift", **extra)).returncode == 0
        bodies = [c["body"] for c in github.comments[321]]
        before = len(github.requests)
        pushed = script("comment", checkout.root, checkout.env("plan", GITHUB_EVENT_NAME="push"))
        apply = script("comment", checkout.root, checkout.env("apply", **extra))
        assert len(github.requests) == before  # neither asked GitHub anything
    assert len(bodies) == 2
    assert bodies[0].startswith("<!-- reconciler-plan:dev -->\n<!-- reconciler-plan -->")
    assert "| dev | **no plan: the plan job failed**" in bodies[0]
    assert bodies[1].startswith("<!-- reconciler-drift:dev -->\n## Reconciler drift report")
    assert "**dev: the drift check failed**, see https://github.com/contoso/routines" in bodies[1]
    assert pushed.returncode == 0 and pushed.stdout.startswith("::notice title=reconciler action")
    assert apply.returncode == 0 and "works with the plan and drift commands" in apply.stdout
