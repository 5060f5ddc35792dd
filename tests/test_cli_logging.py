"""Seeing what it does: -v/--debug request logs without secrets, heartbeats, completion."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator.server import Emulator
from reconciler.views.logs import redact
from tests.conftest import REPO, run_cli
from tests.emulator_fixtures import admin

SECRET = "sekrit-token-0123456789"
ENV = {"RECONCILER_STATIC_TOKEN": SECRET, "RECONCILER_RETRY_BACKOFF": "0.01"}


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    with Emulator(tmp_path / "emu.db") as running:
        yield running


def test_verbose_logs_one_line_per_request_and_retry_without_secrets(
    emu: Emulator, tmp_path: Path
) -> None:
    steps = [{"fault": "429", "count": 1, "method": "GET", "retry_after": 0}]
    admin(emu.url, "PUT", "faults", {"script": steps})
    done = run_cli("-v", "plan", "manifests", "--endpoint", emu.endpoint(), cwd=tmp_path, env=ENV)
    assert done.returncode == 0, done.stderr
    routes = "reconciler.http: GET /api/projects/_project/routines "  # the agent check reads
    lines = [x for x in done.stderr.splitlines() if x.startswith(routes)]  # agents meanwhile
    assert "reconciler.http: GET /api/projects/_project/agents/" in done.stderr
    assert lines[0].startswith("reconciler.http: GET /api/projects/_project/routines 429 ")
    assert lines[1].startswith("reconciler.http: GET /api/projects/_project/routines 200 ")
    assert lines[1].endswith("ms retry 1")
    assert SECRET not in done.stderr + done.stdout
    assert "api-version" not in done.stderr  # paths only, never query strings


def test_the_environment_variable_turns_verbose_on(emu: Emulator, tmp_path: Path) -> None:
    done = run_cli(
        "plan", "manifests", "--endpoint", emu.endpoint(), cwd=tmp_path,
        env={**ENV, "RECONCILER_VERBOSE": "1"},
    )  # fmt: skip
    assert done.returncode == 0
    assert "reconciler.http: GET /api/projects/_project/routines 200 " in done.stderr


def test_debug_shows_the_sdk_logs_but_never_the_token(emu: Emulator, tmp_path: Path) -> None:
    done = run_cli(
        "--debug", "apply", "manifests", "--auto-approve", "--endpoint", emu.endpoint(),
        cwd=tmp_path, env=ENV,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "azure.core.pipeline.policies.http_logging_policy" in done.stderr
    assert "Request URL:" in done.stderr
    assert SECRET not in done.stderr + done.stdout


def test_quiet_by_default(emu: Emulator, tmp_path: Path) -> None:
    done = run_cli("plan", "manifests", "--endpoint", emu.endpoint(), cwd=tmp_path, env=ENV)
    assert done.returncode == 0 and done.stderr == ""


def test_redact_masks_bearer_tokens_and_authorization_values() -> None:
    text = "headers {'Authorization': 'Bearer abc.def-ghi', 'x': 1} Bearer zzz api-key=hunter2"
    masked = redact(text)
    for secret in ("abc.def-ghi", "zzz", "hunter2"):
        assert secret not in masked
    assert "'x': 1" in masked


def test_a_slow_apply_off_a_terminal_prints_heartbeats(emu: Emulator, tmp_path: Path) -> None:
    admin(emu.url, "PUT", "faults", {"latency_ms": 250})
    done = run_cli(
        "apply", "manifests", "--auto-approve", "--concurrency", "2", "--endpoint",
        emu.endpoint(), cwd=tmp_path, env={**ENV, "RECONCILER_HEARTBEAT": "0.4"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    beats = [x for x in done.stdout.splitlines() if x.startswith("  … still applying: ")]
    assert beats and " in flight, " in beats[0] and "/11 done" in beats[0]
    assert any("create " in x for x in beats)  # names what is in flight


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str) -> None:
    done = run_cli("completion", shell)
    assert done.returncode == 0
    assert "_RECONCILER_COMPLETE" in done.stdout


def test_completion_completes_commands_and_options(tmp_path: Path) -> None:
    done = run_cli(
        cwd=tmp_path,
        env={"COMP_WORDS": "reconciler apply --lock", "COMP_CWORD": "2",
             "_RECONCILER_COMPLETE": "bash_complete"},
    )  # fmt: skip
    assert "--lock-timeout" in done.stdout
