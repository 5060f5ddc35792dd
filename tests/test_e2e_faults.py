"""Hostile networks, through the real CLI and the emulator: clear errors, then convergence."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.server import Emulator
from tests.conftest import REPO, run_cli
from tests.emulator_fixtures import admin

FAST = {"RECONCILER_RETRY_TOTAL": "2", "RECONCILER_RETRY_BACKOFF": "0.01"}


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    with Emulator(tmp_path / "emu.db") as running:
        yield running


def cli(emu: Emulator, tmp_path: Path, *args: str, **env: str) -> Any:
    return run_cli(*args, "--endpoint", emu.endpoint(), cwd=tmp_path, env={**FAST, **env})


def script(emu: Emulator, *steps: dict[str, Any]) -> None:
    admin(emu.url, "PUT", "faults", {"script": list(steps)})


def test_unreachable_endpoint_is_one_line_and_exit_1(tmp_path: Path) -> None:
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = run_cli(
        "plan",
        "manifests",
        "--endpoint",
        f"http://127.0.0.1:{port}/api/projects/p",
        cwd=tmp_path,
        env={**FAST, "RECONCILER_RETRY_TOTAL": "0"},
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    [line] = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert "cannot reach http://127.0.0.1" in line


def test_dropped_connections_mid_apply_then_the_next_apply_converges(
    emu: Emulator, tmp_path: Path
) -> None:
    script(
        emu,
        {"fault": "drop_after", "count": 2, "method": "PUT"},
        {"fault": "drop_before", "count": 1, "method": "PUT"},
    )
    # Without retries every drop surfaces (with retries, azure-core re-sends idempotent PUTs);
    # apply reads each routine back: the two committed writes are verified, not "failed".
    first = cli(
        emu,
        tmp_path,
        "apply",
        "manifests",
        "--auto-approve",
        "--concurrency",
        "1",
        RECONCILER_RETRY_TOTAL="0",
    )
    assert first.returncode == 1
    assert "Traceback" not in first.stderr
    assert first.stdout.count("verified after a dropped connection or timeout") == 2
    assert first.stdout.count("(verified: not applied)") == 1
    assert "10 created" in first.stdout and "1 failed" in first.stdout
    second = cli(emu, tmp_path, "apply", "manifests", "--auto-approve")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "1 created" in second.stdout  # the drop_before one; the two drop_after ones exist
    final = cli(emu, tmp_path, "plan", "manifests", "--detailed-exitcode")
    assert final.returncode == 0


def test_429_storm_is_retried_then_reported_clearly(emu: Emulator, tmp_path: Path) -> None:
    script(emu, {"fault": "429", "count": 100, "method": "GET", "retry_after": 0})
    done = cli(emu, tmp_path, "plan", "manifests")
    assert done.returncode == 1
    assert "throttled (429) and retries ran out" in done.stderr
    counters = admin(emu.url, "GET", "counters")
    assert counters["routes"]["GET /routines"] == 3


def test_429_then_success_is_invisible(emu: Emulator, tmp_path: Path) -> None:
    script(emu, {"fault": "429", "count": 2, "method": "PUT", "retry_after": 0})
    done = cli(emu, tmp_path, "apply", "manifests", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr


def test_401_and_403_name_the_role(tmp_path: Path) -> None:
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    with Emulator(tmp_path / "emu.db", token="expected") as emu:
        denied = run_cli(
            "plan",
            "manifests",
            "--endpoint",
            emu.endpoint(),
            cwd=tmp_path,
            env={**FAST, "RECONCILER_STATIC_TOKEN": "other"},
        )
        script(emu, {"fault": "403"})
        forbidden = run_cli(
            "plan",
            "manifests",
            "--endpoint",
            emu.endpoint(),
            cwd=tmp_path,
            env={**FAST, "RECONCILER_STATIC_TOKEN": "expected"},
        )
    assert denied.returncode == 1 and "401 Unauthorized" in denied.stderr
    assert forbidden.returncode == 1 and "403 Forbidden" in forbidden.stderr
    assert "Foundry User" in forbidden.stderr and "other" not in denied.stderr.split("\n")[0][-6:]


def test_404_collection_means_a_wrong_endpoint(emu: Emulator, tmp_path: Path) -> None:
    done = run_cli(
        "plan", "manifests", "--endpoint", f"{emu.url}/api/projects/p/typo", cwd=tmp_path, env=FAST
    )
    assert done.returncode == 1
    assert "404 Not Found" in done.stderr and "check the endpoint" in done.stderr


# A rule only the real service knows (an agent without an agent identity), injected.
NO_AGENT_IDENTITY = {
    "fault": "400",
    "method": "PUT",
    "route": "PUT /routines/{name}",
    "param": "action.agent_name",
    "message": "agent 'release-agent' has no agent identity",
}


def _agent_name_line(root: Path, routine: str) -> int:
    """The line of ``routine``'s ``agent_name`` in the example releases manifest."""
    text = (root / "manifests/releases/timers.yaml").read_text().splitlines()
    start = next(i for i, x in enumerate(text, 1) if f"name: {routine}" in x)
    return next(i for i, x in enumerate(text, 1) if i > start and "agent_name:" in x)


def test_a_400_from_the_service_points_at_the_manifest_line(emu: Emulator, tmp_path: Path) -> None:
    script(emu, NO_AGENT_IDENTITY)
    done = cli(
        emu,
        tmp_path,
        "apply",
        "manifests/releases",
        "--auto-approve",
        "--concurrency",
        "1",
        GITHUB_ACTIONS="true",
    )
    assert done.returncode == 1
    [failed] = [x for x in done.stdout.splitlines() if x.strip().startswith("failed")]
    assert "400 invalid_value at action.agent_name" in failed
    assert "agent 'release-agent' has no agent identity" in failed
    agent_line = _agent_name_line(tmp_path, failed.split()[2])
    assert f"[manifests/releases/timers.yaml:{agent_line}:" in failed
    annotations = [x for x in done.stdout.splitlines() if x.startswith("::error ")]
    assert (
        annotations and f"file=manifests/releases/timers.yaml,line={agent_line}," in annotations[0]
    )


def test_a_400_during_a_saved_plan_apply_points_at_the_field_line(
    emu: Emulator, tmp_path: Path
) -> None:
    saved = cli(emu, tmp_path, "plan", "manifests/releases", "--out", "releases.plan")
    assert saved.returncode == 0, saved.stderr
    script(emu, NO_AGENT_IDENTITY)
    done = run_cli("apply", "releases.plan", "--concurrency", "1", cwd=tmp_path, env=FAST)
    assert done.returncode == 1
    [failed] = [x for x in done.stdout.splitlines() if x.strip().startswith("failed")]
    agent_line = _agent_name_line(tmp_path, failed.split()[2])
    assert f"[manifests/releases/timers.yaml:{agent_line}:" in failed, failed
