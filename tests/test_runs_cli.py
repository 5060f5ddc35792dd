"""``reconciler dispatch``, ``reconciler runs`` and ``reconciler agents fail``, run in process:
on the embedded project (its runs advance with the wall clock) and through the real SDK against
the emulator (an accelerated or frozen clock); every bad input is one line and exit 1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import EmulatedClock, Emulator
from reconciler.live.local import LocalBackend
from reconciler.service.failures import AgentFailure
from tests.conftest import run_cli
from tests.emulator_fixtures import admin


def routine(agent: str) -> dict[str, Any]:
    return {
        "triggers": {"t": {"type": "schedule", "cron_expression": "0 7 * * *", "time_zone": "UTC"}},
        "action": {"type": "invoke_agent_responses_api", "agent_name": agent},
    }


def one_error(done: Any) -> str:
    """The stderr of a failed command: exit 1, one ``error:`` line, no traceback."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, done.stderr
    return errors[0]


@pytest.fixture
def project(tmp_path: Path) -> str:
    """An embedded project with routine ok (agent good) and broken (agent bad, whose runs fail
    with a terminal 400); its endpoint."""
    path = tmp_path / "local.db"
    with LocalBackend(str(path)) as backend:
        backend.create_or_update("ok", routine("good"))
        backend.create_or_update("broken", routine("bad"))
    done = run_cli("agents", "fail", "bad:1:400", "--endpoint", f"local:{path}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Runs of bad fail" in done.stdout and "answered 400" in done.stdout
    return f"local:{path}"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    """An emulator 50 times faster than real time, whose agent bad answers 500."""
    clock = EmulatedClock(speed=50)
    with Emulator(tmp_path / "emu.db", clock=clock, failures=[AgentFailure("bad")]) as running:
        with LocalBackend(running.db) as backend:
            backend.create_or_update("ok", routine("good"))
            backend.create_or_update("broken", routine("bad"))
        yield running


# --- dispatch --wait: the done-when ------------------------------------------------------------


def test_dispatch_wait_on_the_embedded_project(project: str, tmp_path: Path) -> None:
    healthy = run_cli("dispatch", "ok", "--wait", "--endpoint", project, cwd=tmp_path)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "Dispatched ok: dispatch_id " in healthy.stdout
    assert "ok: queued" in healthy.stdout  # progress lines off a terminal
    assert "Completed: run " in healthy.stdout and "(1 attempt)" in healthy.stdout
    failing = run_cli("dispatch", "broken", "--wait", "--endpoint", project, cwd=tmp_path)
    line = one_error(failing)
    assert "broken failed after 1 attempt" in line
    assert "reconciler.emulator.AgentHttpError (400)" in line
    assert "agent 'bad' answered 400 (injected failure)" in line


def test_dispatch_wait_through_the_sdk_against_the_emulator(emu: Emulator, tmp_path: Path) -> None:
    endpoint = emu.endpoint()
    healthy = run_cli("dispatch", "ok", "--wait", "--endpoint", endpoint, cwd=tmp_path)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "Completed: run " in healthy.stdout
    failing = run_cli("dispatch", "broken", "--wait", "-o", "json", "--endpoint", endpoint)
    assert "broken failed after 3 attempts" in one_error(failing)
    document = json.loads(failing.stdout)
    assert (document["state"], document["ok"], document["format_version"]) == ("failed", False, "1")
    assert [run["error_status_code"] for run in document["attempts"]] == [500, 500, 500]
    assert document["run"]["error_type"] == "reconciler.emulator.AgentHttpError"
    assert {run["dispatch_id"] for run in document["attempts"]} == {document["dispatch_id"]}
    routes = admin(emu.url, "GET", "counters")["routes"]
    assert routes["POST /routines/{name}:dispatch_async"] == 2  # each dispatch sent once


def test_dispatch_wait_times_out_with_a_clear_line(tmp_path: Path) -> None:
    with Emulator(tmp_path / "frozen.db", clock=EmulatedClock(speed=0)) as emu:
        with LocalBackend(emu.db) as backend:
            backend.create_or_update("ok", routine("good"))
        done = run_cli("dispatch", "ok", "--wait", "--timeout", "1s", "--endpoint", emu.endpoint())
    line = one_error(done)
    assert "gave up waiting after 1s (still queued)" in line
    assert "the run may still finish: reconciler runs ok" in line


# --- dispatch: the acknowledgement, input and refusals ----------------------------------------


def test_dispatch_prints_the_dispatch_id(project: str, tmp_path: Path) -> None:
    done = run_cli("dispatch", "ok", "--endpoint", project, "-o", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["state"] == "dispatched" and document["run"] is None
    assert document["dispatch_id"] == document["acknowledgement"]["dispatch_id"]
    assert f"dispatch_id {document['dispatch_id']}" in done.stderr  # the human line


def test_dispatch_input_as_json_or_file(project: str, tmp_path: Path) -> None:
    (tmp_path / "in.json").write_text('{"issue": 42}', encoding="utf-8")
    for given in ('"hello"', "@in.json"):
        done = run_cli("dispatch", "ok", "--input", given, "--endpoint", project, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    bad = run_cli("dispatch", "ok", "--input", "hello", "--endpoint", project, cwd=tmp_path)
    assert "--input is not JSON" in one_error(bad)
    missing = run_cli(
        "dispatch", "ok", "--input", "@nope.json", "--endpoint", project, cwd=tmp_path
    )
    assert "--input file nope.json: cannot read it" in one_error(missing)
    huge = "x" * 40_000
    over = run_cli("dispatch", "ok", "--input", json.dumps(huge), "--endpoint", project)
    assert "payload.input" in one_error(over)


def test_dispatch_refusals(project: str, tmp_path: Path) -> None:
    absent = run_cli("dispatch", "nope", "--endpoint", project, cwd=tmp_path)
    assert "routine 'nope' does not exist" in one_error(absent)
    run_cli("agents", "fail", "--clear", "--endpoint", project, cwd=tmp_path)
    with LocalBackend(project.removeprefix("local:")) as backend:
        backend.disable("ok")
    disabled = run_cli("dispatch", "ok", "--wait", "--endpoint", project, cwd=tmp_path)
    assert "dispatch of ok refused: 409 routine_disabled" in one_error(disabled)
    nowhere = run_cli("dispatch", "ok", "--endpoint", f"local:{tmp_path / 'none.db'}")
    assert "does not exist" in one_error(nowhere)
    assert not (tmp_path / "none.db").exists()  # a mistyped path is not created


# --- runs ----------------------------------------------------------------------------------------


def test_runs_table_filters_and_paging(emu: Emulator, tmp_path: Path) -> None:
    endpoint = emu.endpoint()
    for name in ("ok", "ok", "ok", "broken"):
        assert run_cli("dispatch", name, "--wait", "--endpoint", endpoint).returncode in (0, 1)
    table = run_cli("runs", "ok", "--endpoint", endpoint, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("TRIGGERED (UTC)"))
    assert len(lines[header + 1 :]) == 3
    for line in lines[header + 1 :]:  # date, time, phase, status, source, took, id
        assert line.split()[2:5] == ["completed", "FINISHED", "manual_dispatch"]
    failed = run_cli("runs", "broken", "--phase", "failed", "--endpoint", endpoint)
    assert failed.stdout.count("error: reconciler.emulator.AgentHttpError (500)") == 3
    none = run_cli("runs", "ok", "--phase", "failed", "--endpoint", endpoint)
    assert "No runs of ok match." in none.stdout
    paged = run_cli("runs", "ok", "--limit", "2", "-o", "json", "--endpoint", endpoint)
    document = json.loads(paged.stdout)
    assert (len(document["runs"]), document["more"], document["routine"]) == (2, True, "ok")
    assert document["runs"][0]["triggered_at"] >= document["runs"][1]["triggered_at"]
    short = run_cli("runs", "ok", "--limit", "2", "--endpoint", endpoint)
    assert "More runs match: --limit 20 shows more." in short.stdout


def test_runs_since(project: str, tmp_path: Path) -> None:
    assert run_cli("dispatch", "ok", "--endpoint", project, cwd=tmp_path).returncode == 0
    recent = run_cli("runs", "ok", "--since", "1h", "-o", "json", "--endpoint", project)
    assert len(json.loads(recent.stdout)["runs"]) == 1
    future = run_cli(
        "runs", "ok", "--since", "2999-01-01T00:00:00Z", "-o", "json", "--endpoint", project
    )
    assert json.loads(future.stdout)["runs"] == []
    bad = run_cli("runs", "ok", "--since", "yesterday", "--endpoint", project)
    assert "--since 'yesterday' is neither a duration" in one_error(bad)
    naive = run_cli("runs", "ok", "--since", "2030-01-01T00:00:00", "--endpoint", project)
    assert "with an offset" in one_error(naive)


def test_runs_errors(project: str, tmp_path: Path) -> None:
    absent = run_cli("runs", "nope", "--endpoint", project, cwd=tmp_path)
    assert "not found" in one_error(absent)
    nowhere = run_cli("runs", "ok", "--endpoint", f"local:{tmp_path / 'none.db'}")
    assert "does not exist" in one_error(nowhere)
    zero = run_cli("runs", "ok", "--limit", "0", "--endpoint", project)
    assert "--limit" in one_error(zero)


# --- agents fail ---------------------------------------------------------------------------------


def test_agents_fail_list_and_clear(project: str, tmp_path: Path) -> None:
    listed = run_cli("agents", "list", "--endpoint", project, cwd=tmp_path)
    assert "runs of bad fail: 100% of attempts, answered 400" in listed.stdout
    cleared = run_cli("agents", "fail", "--clear", "--endpoint", project, cwd=tmp_path)
    assert "No agent's runs fail" in cleared.stdout
    assert "runs of bad fail" not in run_cli("agents", "list", "--endpoint", project).stdout
    healthy = run_cli("dispatch", "broken", "--wait", "--endpoint", project, cwd=tmp_path)
    assert healthy.returncode == 0, healthy.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ((), "name the failing agents"),
        (("a", "--clear"), "name the failing agents"),
        (("a:2",), "between 0 and 1"),
        (("a:1:x",), "is not NAME[:RATE[:STATUS]]"),
    ],
)
def test_agents_fail_refuses_bad_input(
    project: str, tmp_path: Path, args: tuple[str, ...], named: str
) -> None:
    done = run_cli("agents", "fail", *args, "--endpoint", project, cwd=tmp_path)
    assert named in one_error(done)


def test_agents_fail_needs_a_local_project(emu: Emulator) -> None:
    done = run_cli("agents", "fail", "a", "--endpoint", emu.endpoint())
    assert "agents fail works on a local project" in one_error(done)


def test_help_has_examples() -> None:
    for command in ("dispatch", "runs"):
        done = run_cli(command, "--help")
        assert done.returncode == 0
        assert "Examples:" in done.stdout and f"reconciler {command} nightly-triage" in done.stdout
    assert "--fail-agent" in run_cli("emulator", "--help").stdout
