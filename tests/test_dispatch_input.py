"""``dispatch --input`` refuses what is not a regular JSON file or not JSON, locally, in one
line and exit 1: a FIFO (which would block the open forever), a folder, ``NaN``/``Infinity``
and numbers beyond a float (``1e999``, which Python reads as ``inf``); nothing is dispatched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.live.local import LocalBackend
from tests.conftest import run_cli

ROUTINE = {
    "triggers": {"t": {"type": "schedule", "cron_expression": "0 7 1 1 *", "time_zone": "UTC"}},
    "action": {"type": "invoke_agent_responses_api", "agent_name": "good"},
}


@pytest.fixture
def project(tmp_path: Path) -> str:
    path = tmp_path / "local.db"
    with LocalBackend(str(path)) as backend:
        backend.create_or_update("ok", ROUTINE)
    return f"local:{path}"


def refused(project: str, tmp_path: Path, given: str) -> str:
    done = run_cli("dispatch", "ok", "--input", given, "--endpoint", project, cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    [line] = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    with LocalBackend(project.removeprefix("local:")) as backend:
        assert backend.list_runs("ok") == []  # nothing was dispatched
    return line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_blocking(project: str, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "f")
    line = refused(project, tmp_path, "@f")
    assert line == "error: --input file f: cannot read it (not a regular file (a FIFO))"
    assert "(a folder)" in refused(project, tmp_path, f"@{tmp_path}")


@pytest.mark.parametrize("given", ['{"a": NaN}', "[Infinity]", "-Infinity", "1e999", "[-1e400]"])
def test_non_finite_numbers_are_not_json(project: str, tmp_path: Path, given: str) -> None:
    assert refused(project, tmp_path, given).startswith("error: --input is not JSON: ")


def test_non_finite_numbers_in_a_file_are_not_json(project: str, tmp_path: Path) -> None:
    (tmp_path / "in.json").write_text('{"n": 1e999}', encoding="utf-8")
    line = refused(project, tmp_path, "@in.json")
    assert line.startswith("error: --input file in.json is not JSON: a number is too large")
