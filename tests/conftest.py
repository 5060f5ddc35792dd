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
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m reconciler`` for real and capture its output."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AZURE_"))}
    full_env["NO_COLOR"] = "1"
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd or REPO,
        env=full_env,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=timeout,
        check=False,
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
