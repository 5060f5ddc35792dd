"""Never a wrongful write: compare before every write, locks, concurrent applies, retries."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.app.engine import Settings, load_desired, plan
from reconciler.apply import apply_plan
from reconciler.emulator.server import Emulator
from reconciler.live.azure import AzureBackend
from reconciler.live.base import Backend
from reconciler.live.local import PROJECT, LocalBackend
from reconciler.live.locking import LockHolder, me
from reconciler.plan.model import Plan
from reconciler.plan.options import PlanOptions
from tests.conftest import REPO, run_cli
from tests.emulator_fixtures import admin

FAST = {"RECONCILER_RETRY_TOTAL": "2", "RECONCILER_RETRY_BACKOFF": "0.01"}
OWNED = "[managed-by=reconciler v=1 stack=default name={name}]"


def routine_yaml(names: list[str], agent: str = "a") -> str:
    rows = ["routines:"]
    for index, name in enumerate(names):
        rows += [
            f"  - name: {name}",
            "    triggers:",
            "      t:",
            "        type: schedule",
            f'        cron_expression: "{index % 60} {index // 60 % 24} * * *"',
            "        time_zone: UTC",
            "    action:",
            "      type: invoke_agent_responses_api",
            f"      agent_name: {agent}",
        ]
    return "\n".join(rows) + "\n"


def body(name: str, description: str | None = None) -> dict[str, Any]:
    return {
        "description": OWNED.format(name=name) if description is None else description,
        "triggers": {"t": {"type": "schedule", "cron_expression": "5 5 * * *", "time_zone": "UTC"}},
        "action": {"type": "invoke_agent_responses_api", "agent_name": "a"},
    }


def make_plan(folder: Path, backend: Backend, *, prune: bool = True) -> Plan:
    settings = Settings(
        paths=(str(folder),),
        variables={},
        now=int(time.time()),
        options=PlanOptions(stack="default", target=backend.target, prune=prune, max_deletes=50),
    )
    loaded = load_desired(settings)
    assert loaded.ok, loaded.diagnostics
    return plan(settings, loaded, backend)


# --- compare before every write ----------------------------------------------------------------


def test_a_routine_disowned_after_the_plan_is_never_deleted(tmp_path: Path) -> None:
    backend = LocalBackend(str(tmp_path / "p.db"))
    backend.create_or_update("victim", body("victim"))
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "r.yaml").write_text(routine_yaml(["keep"]))
    planned = make_plan(tmp_path / "m", backend)
    assert [c.action.value for c in planned.pending] == ["create", "delete"]
    backend.create_or_update("victim", body("victim", description="hand-made"))  # disowned
    result = apply_plan(planned, backend)
    [delete] = [r for r in result.results if r.name == "victim"]
    assert delete.status == "conflict" and not result.ok
    assert "changed in the project since the plan (its ownership record" in delete.message
    assert delete.message.endswith("nothing written")
    assert backend.get("victim") is not None


def test_a_routine_moved_to_another_stack_after_the_plan_is_not_deleted(tmp_path: Path) -> None:
    backend = LocalBackend(str(tmp_path / "p.db"))
    backend.create_or_update("victim", body("victim"))
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "r.yaml").write_text(routine_yaml(["keep"]))
    planned = make_plan(tmp_path / "m", backend)
    other = "[managed-by=reconciler v=1 stack=other name=victim]"
    backend.create_or_update("victim", body("victim", description=other))
    result = apply_plan(planned, backend)
    assert {r.name: r.status for r in result.results} == {"keep": "ok", "victim": "conflict"}
    assert backend.get("victim") is not None


def test_a_change_already_made_by_someone_else_is_reported_up_to_date(tmp_path: Path) -> None:
    backend = LocalBackend(str(tmp_path / "p.db"))
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "r.yaml").write_text(routine_yaml(["a1", "a2"]))
    first = make_plan(tmp_path / "m", backend)
    second = make_plan(tmp_path / "m", backend)
    assert apply_plan(first, backend).ok
    again = apply_plan(second, backend)
    assert again.ok
    assert {r.message for r in again.results} == {"already up to date"}


def test_two_plans_from_one_state_never_both_succeed_into_a_mixed_state(tmp_path: Path) -> None:
    """Without a lock (the real service), the second apply's writes find what the first wrote
    and stop as conflicts: the project ends as the first apply left it, not a mix."""
    backend = LocalBackend(str(tmp_path / "p.db"))
    names = [f"r{i}" for i in range(6)]
    for name in names:
        backend.create_or_update(name, body(name))
    for folder, agent in (("b", "agent-b"), ("c", "agent-c")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "r.yaml").write_text(routine_yaml(names, agent))
    plan_b = make_plan(tmp_path / "b", backend)
    plan_c = make_plan(tmp_path / "c", backend)
    assert apply_plan(plan_b, backend).ok
    result_c = apply_plan(plan_c, backend)
    assert not result_c.ok and result_c.count("conflict") >= 1
    agents = {r["action"]["agent_name"] for r in backend.list_routines()}
    assert agents == {"agent-b"}


# --- one lock per stack ------------------------------------------------------------------------


def _examples(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    return tmp_path


def test_a_second_apply_of_a_stack_fails_at_once_while_the_first_holds_the_lock(
    tmp_path: Path,
) -> None:
    _examples(tmp_path)
    db = tmp_path / "p.db"
    backend = LocalBackend(str(db))
    holder = me()
    assert backend.acquire_lock("default", holder)
    started = time.monotonic()
    done = run_cli(
        "apply", "manifests", "--auto-approve", "--endpoint", f"local:{db}", cwd=tmp_path
    )
    assert done.returncode == 1
    [line] = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert f"another apply of stack default is running (pid {os.getpid()}, host " in line
    assert time.monotonic() - started < 10
    assert backend.list_routines() == []  # nothing was written
    other = run_cli(
        "apply",
        "manifests",
        "--auto-approve",
        "--stack",
        "other",
        "--endpoint",
        f"local:{db}",
        cwd=tmp_path,
    )
    assert other.returncode == 0, other.stderr  # another stack is not locked


def test_lock_timeout_waits_for_the_lock(tmp_path: Path) -> None:
    _examples(tmp_path)
    db = tmp_path / "p.db"
    backend = LocalBackend(str(db))
    holder = me()
    backend.acquire_lock("default", holder)
    threading.Timer(1.0, backend.release_lock, args=("default", holder)).start()
    done = run_cli(
        "apply",
        "manifests",
        "--auto-approve",
        "--lock-timeout",
        "30s",
        "--endpoint",
        f"local:{db}",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "Apply complete: 11 created" in done.stdout


def test_a_lock_left_by_a_killed_apply_is_taken_over(tmp_path: Path) -> None:
    _examples(tmp_path)
    db = tmp_path / "p.db"
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = LockHolder("dead-token", int(gone.stdout), me().host, time.time())
    LocalBackend(str(db)).acquire_lock("default", dead)
    done = run_cli(
        "apply", "manifests", "--auto-approve", "--endpoint", f"local:{db}", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr


def _apply_process(
    tmp_path: Path, folder: str, endpoint: str, *extra: str
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AZURE_"))}
    env.update(NO_COLOR="1", **FAST)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "apply",
            folder,
            "--auto-approve",
            "--endpoint",
            endpoint,
            *extra,
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("target", ["local", "emulator"])
def test_two_applies_at_once_never_both_succeed_into_a_mixed_state(
    tmp_path: Path, target: str
) -> None:
    names = [f"r{i:02d}" for i in range(12)]
    for folder, agent in (("b", "agent-b"), ("c", "agent-c")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "r.yaml").write_text(routine_yaml(names, agent))
    with Emulator(tmp_path / "emu.db") as emu:
        endpoint = emu.endpoint() if target == "emulator" else f"local:{tmp_path}/p.db"
        if target == "emulator":
            admin(emu.url, "PUT", "faults", {"latency_ms": 30})
        first = _apply_process(tmp_path, "b", endpoint, "--prune")
        second = _apply_process(tmp_path, "c", endpoint)
        outcomes = [p.communicate(timeout=120) for p in (first, second)]
        codes = [first.returncode, second.returncode]
        live = (
            emu.state.store.list(PROJECT, limit=100)[0]
            if target == "emulator"
            else LocalBackend(f"{tmp_path}/p.db").list_routines()
        )
    agents = {r["action"]["agent_name"] for r in live}
    assert len(live) == len(names) and len(agents) == 1, (codes, outcomes)
    if codes == [0, 0]:  # one after the other: the later one's state, never a mix
        return
    assert sorted(codes) == [0, 1], outcomes
    loser = outcomes[codes.index(1)][1]
    assert "another apply of stack default is running" in loser or "conflict" in loser


# --- retries that do what they say ---------------------------------------------------------------


def test_retries_beyond_three_are_honoured_and_counted(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "r.yaml").write_text(routine_yaml(["r1"]))
    with Emulator(tmp_path / "emu.db") as emu:
        steps = [{"fault": "503", "count": 5, "method": "PUT", "retry_after": 0}]
        admin(emu.url, "PUT", "faults", {"script": steps})
        audit = tmp_path / "audit.json"
        done = run_cli(
            "apply",
            "m",
            "--auto-approve",
            "--endpoint",
            emu.endpoint(),
            "--audit-out",
            str(audit),
            cwd=tmp_path,
            env={"RECONCILER_RETRY_TOTAL": "6", "RECONCILER_RETRY_BACKOFF": "0.01"},
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "ok      create   r1 (5 retries, " in done.stdout
        record = json.loads(audit.read_text())
        assert record["results"][0]["retries"] == 5


def test_exhausted_retries_say_so_and_are_verified_not_applied(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "r.yaml").write_text(routine_yaml(["r1"]))
    with Emulator(tmp_path / "emu.db") as emu:
        steps = [{"fault": "503", "count": 10, "method": "PUT", "retry_after": 0}]
        admin(emu.url, "PUT", "faults", {"script": steps})
        done = run_cli(
            "apply",
            "m",
            "--auto-approve",
            "--endpoint",
            emu.endpoint(),
            cwd=tmp_path,
            env={"RECONCILER_RETRY_TOTAL": "4", "RECONCILER_RETRY_BACKOFF": "0.01"},
        )
    assert done.returncode == 1
    [line] = [x for x in done.stdout.splitlines() if "r1" in x and "failed" in x]
    assert "(4 retries, " in line and "503 service_unavailable" in line
    assert "gave up after 4 retries" in line and "(verified: not applied)" in line


def test_azure_backend_retry_policy_uses_the_total_for_every_kind() -> None:
    backend = AzureBackend(
        "http://127.0.0.1:9/api/projects/p", environ={"RECONCILER_RETRY_TOTAL": "9"}
    )
    policy = backend._client._config.retry_policy
    assert (policy.total_retries, policy.connect_retries, policy.read_retries) == (9, 9, 9)
    assert policy.status_retries == 9
    backend.close()


def test_a_routine_disowned_mid_apply_is_never_deleted(tmp_path: Path) -> None:
    """The delete runs last; emulator latency holds the window open while the routine is
    replaced by hand with a description that has no ownership record."""
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "r.yaml").write_text(routine_yaml([f"new{i:02d}" for i in range(16)]))
    with Emulator(tmp_path / "emu.db") as emu:
        emu.state.store.put(PROJECT, "victim", body("victim"))
        admin(emu.url, "PUT", "faults", {"latency_ms": 100})
        process = _apply_process(tmp_path, "m", emu.endpoint(), "--prune", "--concurrency", "2")
        assert process.stdout is not None
        while "ok      create" not in process.stdout.readline():
            pass
        emu.state.store.put(PROJECT, "victim", body("victim", description="taken over by hand"))
        out, err = process.communicate(timeout=120)
        still_there = emu.state.store.get(PROJECT, "victim")
    assert process.returncode == 1, out + err
    assert "conflict delete   victim" in out
    assert "its ownership record was removed" in out and "nothing written" in out
    assert still_there["description"] == "taken over by hand"


def test_a_conflict_names_only_the_fields_that_changed_even_when_sensitive(
    tmp_path: Path,
) -> None:
    backend = LocalBackend(str(tmp_path / "p.db"))
    (tmp_path / "m").mkdir()
    text = routine_yaml(["secretive"]).replace(
        "      agent_name: a\n",
        "      agent_name: a\n      input: {api_key: hunter2, note: old}\n"
        "    reconcile:\n      sensitive: [/action/input/api_key]\n",
    )
    (tmp_path / "m" / "r.yaml").write_text(text)
    assert apply_plan(make_plan(tmp_path / "m", backend), backend).ok
    (tmp_path / "m" / "r.yaml").write_text(text.replace("note: old", "note: new"))
    planned = make_plan(tmp_path / "m", backend)
    backend.disable("secretive")  # someone pauses it while the apply is on its way
    [result] = apply_plan(planned, backend).results
    assert result.status == "conflict"
    assert "(changed: enabled)" in result.message
    assert "hunter2" not in result.message


def test_the_wait_for_a_lock_never_outlasts_the_timeout(tmp_path: Path) -> None:
    _examples(tmp_path)
    db = tmp_path / "p.db"
    LocalBackend(str(db)).acquire_lock("default", me())
    started = time.monotonic()
    done = run_cli(
        "apply", "manifests", "--auto-approve", "--lock-timeout", "5m", "--timeout", "2s",
        "--endpoint", f"local:{db}", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    assert time.monotonic() - started < 15
    assert "Waiting for the lock: another apply of stack default is running" in done.stdout
    [line] = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert line.startswith("error: timed out waiting for the lock (--timeout): another apply")


def test_the_emulator_lock_is_keyed_by_the_decoded_project(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "r.yaml").write_text(routine_yaml(["r1"]))
    with Emulator(tmp_path / "emu.db") as emu:
        emu.state.store.acquire_lock("dev", "default", me())
        done = run_cli(
            "apply", "m", "--auto-approve", "--endpoint", f"{emu.url}/api/projects/d%65v",
            cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 1
        assert "another apply of stack default is running" in done.stderr
        assert emu.state.store.list("dev", limit=10)[0] == []


def test_a_broken_lock_route_fails_closed() -> None:
    from reconciler.live import emulator_lock
    from reconciler.live.base import BackendError
    from tests.hostile_servers import http_response, trickle_server

    page = http_response(b'{"error": {}}', status="500 Internal Server Error")
    with (
        trickle_server(page, 0.0001) as port,
        pytest.raises(BackendError, match="the lock route answered 500"),
    ):
        emulator_lock.acquire(f"http://127.0.0.1:{port}/api/projects/p", "s", me())
    with trickle_server(http_response(b"{}", status="404 Not Found"), 0.0001) as port:
        assert emulator_lock.acquire(f"http://127.0.0.1:{port}/api/projects/p", "s", me()) is False


def test_an_apply_that_loses_its_lock_stops_starting_changes(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "r.yaml").write_text(routine_yaml([f"r{i:02d}" for i in range(20)]))
    with Emulator(tmp_path / "emu.db") as emu:
        admin(emu.url, "PUT", "faults", {"latency_ms": 150})
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "apply", "m", "--auto-approve",
             "--concurrency", "1", "--endpoint", emu.endpoint()],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "NO_COLOR": "1", "RECONCILER_LOCK_HEARTBEAT": "0.3"},
        )  # fmt: skip
        assert process.stdout is not None
        while "ok      create" not in process.stdout.readline():
            pass
        with emu.state.store._transaction("BEGIN IMMEDIATE") as conn:  # taken over
            conn.execute("UPDATE locks SET token = 'someone-else'")
        out, err = process.communicate(timeout=120)
        created = len(emu.state.store.list(PROJECT, limit=100)[0])
    assert process.returncode == 1, out + err
    assert "this apply lost the lock of stack default" in err
    assert "not started: apply was interrupted" in out
    assert created < 20
