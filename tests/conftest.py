"""Shared fixtures: temp manifests and running the real CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

BASE_ROUTINE = """\
routines:
  - name: r1
    triggers:
      t:
        type: schedule
        cron_expression: "0 7 * * *"
        time_zone: UTC
    action:
      type: invoke_agent_responses_api
      agent_name: a
"""


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 120,
    process: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the CLI and capture its output: in this process (``reconciler.cli.main.run``, the
    console script's own code path, with stdin, stdout, stderr, the environment and the folder
    isolated), or with ``process=True`` as ``python -m reconciler`` in a child process (for
    what only a process shows: exit codes of the interpreter, signals, imports, rlimits)."""
    if process or os.environ.get("RECONCILER_TESTS_IN_SUBPROCESS"):
        return _subprocess(args, cwd, env, stdin, timeout)
    return _in_process(args, cwd, env, stdin)


def _environment(env: dict[str, str] | None) -> dict[str, str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AZURE_"))}
    full_env["NO_COLOR"] = "1"
    full_env.update(env or {})
    return full_env


def _subprocess(
    args: tuple[str, ...], cwd: Path | None, env: dict[str, str] | None, stdin: str | None,
    timeout: float,
) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd or REPO,
        env=_environment(env),
        capture_output=True,
        text=True,
        input=stdin,
        timeout=timeout,
        check=False,
    )


def _in_process(
    args: tuple[str, ...], cwd: Path | None, env: dict[str, str] | None, stdin: str | None
) -> subprocess.CompletedProcess[str]:
    from click.testing import CliRunner

    from reconciler.cli.main import run

    wanted = _environment(env)
    overrides: dict[str, str | None] = {k: None for k in os.environ if k not in wanted}
    overrides.update(wanted)
    previous = os.getcwd()
    os.chdir(cwd or REPO)
    try:
        with CliRunner().isolation(input=stdin, env=overrides) as (out, err, _):
            try:
                code = run(list(args))
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else 1
            sys.stdout.flush()
            sys.stderr.flush()
            stdout, stderr = out.getvalue(), err.getvalue()
    finally:
        os.chdir(previous)
    return subprocess.CompletedProcess(
        ["reconciler", *args],
        code,
        stdout.decode("utf-8", "replace"),
        stderr.decode("utf-8", "replace"),
    )


def apply_ok(paths: str, endpoint: str, cwd: Path) -> None:
    """``reconciler apply PATHS --auto-approve`` against ``endpoint``, which must succeed."""
    done = run_cli("apply", paths, "--auto-approve", "--endpoint", endpoint, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a dedented text file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write
