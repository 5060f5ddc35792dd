"""Adoption, end to end, as a user outside this checkout would do it (slow: builds, installs).

1. Build the wheel and sdist, ``twine check --strict`` them, install the wheel into a fresh
   virtual environment in a temporary folder (dependencies from PyPI), and drive that
   environment's ``reconciler`` in a new git repository: ``init``, ``validate``, ``plan`` and
   ``apply`` against an emulator started from the same environment, ``export``, ``schema``;
   the generated workflows go through actionlint.
2. ``pre-commit try-repo`` runs this repository's ``reconciler-validate`` hook in a generated
   repository (it passes) and in one that declares a routine name in two files (it fails).

The two tests share nothing, so pytest-xdist can run them side by side.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler import __version__
from reconciler.scaffold import schema_url
from tests.conftest import REPO
from tests.test_init import WORKFLOWS, actionlint, init_ok, invoke

GIT = ("git", "-c", "user.name=reconciler tests", "-c", "user.email=tests@example.invalid")
GIT_COMMIT = (*GIT, "-c", "commit.gpgsign=false", "commit", "--quiet", "--no-verify")
HOOK_SOURCES = (".pre-commit-hooks.yaml", "reconciler", "pyproject.toml", "README.md", "schemas")
PRE_COMMIT = (sys.executable, "-m", "pre_commit")
LISTENING = re.compile(r"Emulator listening on (http://\S+) \(project endpoint: (\S+)\)")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without GitHub Actions, Azure or virtualenv settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "AZURE_", "RECONCILER_")) and k != "VIRTUAL_ENV"
    }
    return {**env, "NO_COLOR": "1", **extra}


def run(*args: str | Path, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ok(*args: str | Path, cwd: Path, code: int = 0, timeout: float = 120) -> str:
    """Run a command that must exit with ``code``; its stdout."""
    done = run(*args, cwd=cwd, timeout=timeout)
    assert done.returncode == code, f"{args}: {done.stdout}{done.stderr}"
    return done.stdout


def commit_all(repo: Path, message: str) -> None:
    ok("git", "add", "-A", cwd=repo)
    ok(*GIT_COMMIT, "-m", message, cwd=repo)


def built(out: Path) -> tuple[Path, Path]:
    """The wheel and the sdist, built from the checkout and checked by twine."""
    ok(sys.executable, "-m", "build", "--outdir", out, REPO, cwd=out.parent, timeout=300)
    [wheel] = out.glob("*.whl")
    [sdist] = out.glob("*.tar.gz")
    assert wheel.name == f"foundry_routines_reconciler-{__version__}-py3-none-any.whl"
    checked = ok(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist, cwd=out)
    assert checked.count("PASSED") == 2, checked
    return wheel, sdist


def installed(wheel: Path, where: Path) -> Path:
    """A fresh virtual environment with the wheel installed; its ``reconciler``."""
    assert not where.resolve().is_relative_to(REPO)
    venv.EnvBuilder(with_pip=True).create(where)
    pip = (where / "bin/python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check")
    ok(*pip, wheel, cwd=where, timeout=600)  # resolves and downloads from PyPI
    return where / "bin/reconciler"


@pytest.fixture
def emulator_of(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """Emulators started by a test, stopped after it."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def start_emulator(reconciler: Path, db: Path, started: list[subprocess.Popen[str]]) -> str:
    """``reconciler emulator --port 0``; the project endpoint its first line names."""
    process = subprocess.Popen(
        [str(reconciler), "emulator", "--port", "0", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_env(),
    )
    started.append(process)
    output = process.stdout
    assert output is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(output.readline()), daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert lines, "the emulator printed nothing within 30 s"
    found = LISTENING.match(lines[0])
    assert found, lines[0]
    return found.group(1) + "/api/projects/adopted"


def test_the_wheel_installs_and_adopts_a_repository(
    tmp_path: Path, emulator_of: list[subprocess.Popen[str]]
) -> None:
    wheel, _ = built(tmp_path / "dist")
    reconciler = installed(wheel, tmp_path / "venv")
    assert ok(reconciler, "--version", cwd=tmp_path).strip() == f"reconciler, version {__version__}"
    repo = tmp_path / "routines"
    repo.mkdir()
    ok("git", "init", "--quiet", cwd=repo)
    wrote = ok(reconciler, "init", "--stack", "adopted", cwd=repo)
    assert "wrote manifests/schedules.yaml" in wrote and "reconciler plan --env local" in wrote
    assert "Valid: 4 routine(s) in 3 file(s)" in ok(reconciler, "validate", cwd=repo)
    endpoint = start_emulator(reconciler, tmp_path / "emulator.db", emulator_of)
    target = ("--endpoint", endpoint)
    first = ok(reconciler, "plan", *target, "--detailed-exitcode", cwd=repo, code=2)
    assert "Plan: 4 to create, 0 to update, 0 to replace, 0 to delete." in first
    assert "Apply complete: 4 created" in ok(
        reconciler, "apply", *target, "--auto-approve", cwd=repo
    )
    again = ok(reconciler, "plan", *target, "--detailed-exitcode", cwd=repo)
    assert "No changes. The project matches the manifests." in again
    exported = ok(reconciler, "export", *target, "--out", "exported", cwd=repo)
    assert "Exported 4 routine(s) to exported." in exported
    ok(reconciler, "plan", "exported", *target, "--detailed-exitcode", cwd=repo)
    for which in ("manifest", "config"):
        printed = json.loads(ok(reconciler, "schema", which, cwd=repo))
        assert printed == json.loads(invoke("schema", which).output), which
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert json.loads(ok(reconciler, "schema", cwd=repo))["$id"] == schema_url("manifest")
    linted = actionlint([repo / f".github/workflows/{name}.yml" for name in WORKFLOWS])
    assert linted.returncode == 0, linted.stdout + linted.stderr


def hook_repository(tmp_path: Path) -> Path:
    """This repository when the hook and the package are committed as they are on disk (what
    try-repo sees: HEAD plus changes to tracked files); else a clone with them committed."""
    status = ok("git", "status", "--porcelain", "--", *HOOK_SOURCES, cwd=REPO)
    if not status.strip():
        return REPO
    clone = tmp_path / "hook-repo"
    ok("git", "clone", "--quiet", REPO, clone, cwd=tmp_path)
    for name in HOOK_SOURCES:
        source, copy = REPO / name, clone / name
        if copy.is_dir():
            shutil.rmtree(copy)
        elif copy.exists():
            copy.unlink()
        if source.is_dir():
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, copy)
    commit_all(clone, "The working tree's hook and package")
    return clone


def generated_repository(root: Path, duplicate: bool) -> Path:
    """A committed scaffold; with ``duplicate``, a second file declares an existing routine."""
    init_ok(str(root), "--stack", "hooked")
    if duplicate:
        text = (root / "manifests/schedules.yaml").read_text()
        (root / "manifests/copy.yaml").write_text(text.replace("Summarises", "Also summarises"))
    ok("git", "init", "--quiet", cwd=root)
    commit_all(root, "Scaffold")
    return root


def try_repo(hooks: Path, repo: Path, home: Path) -> subprocess.Popen[str]:
    """``pre-commit try-repo HOOKS reconciler-validate --all-files`` in ``repo``, started."""
    return subprocess.Popen(
        [*PRE_COMMIT, "try-repo", str(hooks), "reconciler-validate", "--all-files"],
        cwd=repo,
        env=clean_env(PRE_COMMIT_HOME=str(home), PRE_COMMIT_COLOR="never"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_the_pre_commit_hook_validates_once_and_catches_duplicates(tmp_path: Path) -> None:
    hooks = hook_repository(tmp_path)
    valid = generated_repository(tmp_path / "valid", duplicate=False)
    twice = generated_repository(tmp_path / "twice", duplicate=True)
    runs = [try_repo(hooks, repo, tmp_path / f"home-{repo.name}") for repo in (valid, twice)]
    (passed, _), (failed, _) = (process.communicate(timeout=600) for process in runs)
    assert runs[0].returncode == 0, passed
    assert re.search(r"^reconciler validate\.+Passed$", passed, re.MULTILINE), passed
    assert runs[1].returncode == 1, failed
    assert failed.count("- hook id: reconciler-validate") == 1, failed
    assert "duplicate routine name 'daily-summary': also defined at" in failed, failed
