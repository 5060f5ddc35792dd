"""The smoke gate (``reconcile.smoke`` + ``apply --smoke``): after a successful apply, each
created/updated/replaced/enabled routine that declares a smoke test is dispatched once and
waited for; a failed run fails the deploy (exit 1) and the audit record carries the run ids.
Through the real SDK against the emulator, and on the embedded project."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from azure.ai.projects import AIProjectClient

from reconciler.app.smoke import payload
from reconciler.emulator import Emulator
from reconciler.plan import planfile
from reconciler.plan.model import Action, Change, Plan
from reconciler.plan.smoke import Smoke
from reconciler.service import RoutineStore
from reconciler.service.failures import AgentFailure
from tests.conftest import run_cli
from tests.emulator_fixtures import HTTP, StaticToken, admin

YEARLY = '{type: schedule, cron_expression: "0 7 1 1 *", time_zone: UTC}'


def routine(name: str, agent: str, smoke: str | None, enabled: bool = True) -> str:
    text = f"""\
  - name: {name}
    enabled: {str(enabled).lower()}
    triggers:
      t: {YEARLY}
    action: {{type: invoke_agent_responses_api, agent_name: {agent}, input: hello}}
"""
    return text + (f"    reconcile:\n      smoke: {smoke}\n" if smoke is not None else "")


def manifest(*routines: str) -> str:
    return "routines:\n" + "".join(routines)


GOOD = routine("good", "fine", "{input: 'smoke test', timeout: 1m}")
BAD = routine("bad", "broken", "{}")
PLAIN = routine("plain", "broken", None)


def apply(tmp_path: Path, endpoint: str, *args: str) -> Any:
    return run_cli(
        "apply", "r.yaml", "--auto-approve", "--endpoint", endpoint,
        "--audit-out", "audit.json", *args, cwd=tmp_path,
    )  # fmt: skip


def audit(tmp_path: Path) -> dict[str, Any]:
    return dict(json.loads((tmp_path / "audit.json").read_text()))


def runs_of(emu: Emulator, name: str) -> list[Any]:
    client = AIProjectClient(endpoint=emu.endpoint(), credential=StaticToken())
    return list(client.beta.routines.list_runs(name, **HTTP))


@pytest.fixture
def emulator(tmp_path: Path) -> Any:
    failing = [AgentFailure("broken", rate=1.0, status_code=500)]
    with Emulator(tmp_path / "emu.db", clock_speed=50, failures=failing) as emu:
        yield emu


# --- through the real SDK against the emulator -------------------------------------------------


def test_a_failed_smoke_run_fails_the_deploy_and_the_audit_has_the_run_ids(
    tmp_path: Path, emulator: Emulator
) -> None:
    (tmp_path / "r.yaml").write_text(manifest(GOOD, BAD, PLAIN))
    done = apply(tmp_path, emulator.endpoint(), "--smoke")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Apply complete: 3 created" in done.stdout  # the changes themselves succeeded
    assert "Smoke gate: dispatching 2 routine(s)" in done.stdout
    assert "  passed  good: completed in " in done.stdout
    assert "  FAILED  bad: the run failed after 3 attempts: " in done.stdout
    assert "(500): agent 'broken' answered 500" in done.stdout
    first = done.stderr.splitlines()[0]
    assert first == "error: smoke gate failed: 1 of 2 smoke run(s) did not complete (bad)"
    smoke = audit(tmp_path)["smoke"]
    assert smoke["ran"] is True and smoke["ok"] is False
    runs = {r["name"]: r for r in smoke["runs"]}
    assert set(runs) == {"good", "bad"}  # plain declares no smoke: never dispatched
    assert runs["bad"]["state"] == "failed" and len(runs["bad"]["run_ids"]) == 3
    assert (
        runs["bad"]["error_status_code"] == 500 and runs["bad"]["run_id"] in runs["bad"]["run_ids"]
    )
    assert runs["good"]["state"] == "completed" and runs["good"]["timeout_seconds"] == 60
    listed = {run.id for run in runs_of(emulator, "bad")}
    assert set(runs["bad"]["run_ids"]) == listed
    [good_run] = runs_of(emulator, "good")
    assert good_run.dispatch_id == runs["good"]["dispatch_id"] and good_run.phase == "completed"
    assert runs_of(emulator, "plain") == []


def test_the_smoke_gate_passes_when_every_run_completes(tmp_path: Path, emulator: Emulator) -> None:
    (tmp_path / "r.yaml").write_text(manifest(GOOD, PLAIN))
    done = apply(tmp_path, emulator.endpoint(), "--smoke", "--output", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    record = json.loads(done.stdout)
    assert record["smoke"]["ok"] is True and [r["name"] for r in record["smoke"]["runs"]] == [
        "good"
    ]
    assert "Smoke gate passed: 1 of 1 run(s) completed." in done.stderr
    again = apply(tmp_path, emulator.endpoint(), "--smoke")  # nothing changed: nothing dispatched
    assert again.returncode == 0, again.stdout + again.stderr
    assert "no created, updated, replaced or enabled routine declares a smoke test" in again.stdout
    assert audit(tmp_path)["smoke"] == {"ran": True, "ok": True, "runs": []}
    assert len(runs_of(emulator, "good")) == 1


def test_without_smoke_nothing_is_dispatched(tmp_path: Path, emulator: Emulator) -> None:
    (tmp_path / "r.yaml").write_text(manifest(BAD))
    done = apply(tmp_path, emulator.endpoint())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Smoke gate" not in done.stdout and "smoke" not in audit(tmp_path)
    assert runs_of(emulator, "bad") == []


def test_an_update_is_smoked_a_disabled_routine_is_not(tmp_path: Path, emulator: Emulator) -> None:
    (tmp_path / "r.yaml").write_text(manifest(GOOD, routine("paused", "fine", "{}", enabled=False)))
    assert apply(tmp_path, emulator.endpoint()).returncode == 0
    changed = GOOD.replace("input: hello", "input: changed")
    (tmp_path / "r.yaml").write_text(manifest(changed, routine("paused", "broken", "{}", False)))
    done = apply(tmp_path, emulator.endpoint(), "--smoke")
    assert done.returncode == 0, done.stdout + done.stderr
    [smoked] = audit(tmp_path)["smoke"]["runs"]
    assert smoked["name"] == "good" and smoked["action"] == "update" and smoked["ok"] is True
    assert runs_of(emulator, "paused") == []


def test_a_saved_plan_runs_its_smoke_tests_with_smoke(tmp_path: Path, emulator: Emulator) -> None:
    (tmp_path / "r.yaml").write_text(manifest(GOOD, BAD))
    endpoint = emulator.endpoint()
    saved = run_cli("plan", "r.yaml", "--endpoint", endpoint, "--out", "plan.json", cwd=tmp_path)
    assert saved.returncode == 0, saved.stdout + saved.stderr
    done = run_cli("apply", "plan.json", "--smoke", "--audit-out", "audit.json", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    runs = {r["name"]: r["state"] for r in audit(tmp_path)["smoke"]["runs"]}
    assert runs == {"good": "completed", "bad": "failed"}


def test_a_smoke_run_that_outlasts_its_timeout_fails(tmp_path: Path) -> None:
    slow = [AgentFailure("slow", rate=1.0, status_code=408)]  # each attempt lasts 30 s
    (tmp_path / "r.yaml").write_text(manifest(routine("hang", "slow", "{timeout: 1s}")))
    with Emulator(tmp_path / "emu.db", clock_speed=1, failures=slow) as emu:
        done = apply(tmp_path, emu.endpoint(), "--smoke")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "  FAILED  hang: no result within its timeout of 1s: gave up waiting" in done.stdout
    [run] = audit(tmp_path)["smoke"]["runs"]
    assert run["state"] == "timeout" and run["dispatch_id"]


def test_reconciler_yaml_turns_the_gate_on_per_environment(
    tmp_path: Path, emulator: Emulator
) -> None:
    (tmp_path / "r.yaml").write_text(manifest(BAD))
    (tmp_path / "reconciler.yaml").write_text(
        "manifests: []\n"
        "environments:\n"
        "  dev: {endpoint: '${DEV}', manifests: [r.yaml], smoke: true}\n"
        "  prod: {endpoint: '${DEV}', manifests: [r.yaml]}\n"
    )
    env = {"DEV": emulator.endpoint()}
    prod = run_cli("apply", "--env", "prod", "--auto-approve", cwd=tmp_path, env=env)
    assert prod.returncode == 0 and "Smoke gate" not in prod.stdout
    skipped = run_cli("plan", "--env", "dev", cwd=tmp_path, env=env)
    assert skipped.returncode == 0
    (tmp_path / "r.yaml").write_text(manifest(BAD.replace("input: hello", "input: v2")))
    off = run_cli("apply", "--env", "dev", "--auto-approve", "--no-smoke", cwd=tmp_path, env=env)
    assert off.returncode == 0 and "Smoke gate" not in off.stdout
    (tmp_path / "r.yaml").write_text(manifest(BAD.replace("input: hello", "input: v3")))
    dev = run_cli("apply", "--env", "dev", "--auto-approve", cwd=tmp_path, env=env)
    assert dev.returncode == 1 and "  FAILED  bad: the run failed" in dev.stdout


def test_a_failed_apply_dispatches_nothing(tmp_path: Path, emulator: Emulator) -> None:
    (tmp_path / "r.yaml").write_text(manifest(GOOD))
    step = {"fault": "400", "route": "PUT /routines/{name}", "count": 1}
    admin(emulator.url, "PUT", "faults", {"script": [step]})
    done = apply(tmp_path, emulator.endpoint(), "--smoke")
    assert done.returncode == 1
    assert "Smoke gate" not in done.stdout
    smoke = audit(tmp_path)["smoke"]
    assert smoke["ran"] is False and "did not succeed" in smoke["reason"]


# --- on the embedded project -------------------------------------------------------------------


def test_the_smoke_gate_on_the_embedded_project(tmp_path: Path) -> None:
    path, endpoint = str(tmp_path / "p.db"), f"local:{tmp_path}/p.db"
    with RoutineStore(path) as store:  # a 400 is not retried: the run fails after one attempt
        store.replace_failures([AgentFailure("broken", rate=1.0, status_code=400)])
    (tmp_path / "r.yaml").write_text(manifest(GOOD))
    passed = apply(tmp_path, endpoint, "--smoke")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Smoke gate passed: 1 of 1 run(s) completed." in passed.stdout
    (tmp_path / "r.yaml").write_text(manifest(GOOD, BAD))
    failed = apply(tmp_path, endpoint, "--smoke")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    [run] = audit(tmp_path)["smoke"]["runs"]
    assert run["name"] == "bad" and run["state"] == "failed" and run["error_status_code"] == 400
    assert len(run["run_ids"]) == 1


# --- the manifest, the plan and the saved plan -------------------------------------------------


def test_a_bad_smoke_timeout_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(manifest(routine("x", "a", "{timeout: 2h}")))
    done = run_cli("validate", "r.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert "r.yaml:8:" in done.stdout + done.stderr
    assert "smoke timeout '2h' must be a duration from 1s to 1h" in done.stdout + done.stderr
    (tmp_path / "r.yaml").write_text(manifest(routine("x", "a", "{wait: 5m}")))
    unknown = run_cli("validate", "r.yaml", cwd=tmp_path)
    assert unknown.returncode == 1 and "wait" in unknown.stdout + unknown.stderr


def test_the_plan_shows_the_smoke_test_but_never_its_input(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(manifest(GOOD, PLAIN))
    done = run_cli(
        "plan", "r.yaml", "-o", "json", "--endpoint", f"local:{tmp_path}/p.db", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    changes = {c["name"]: c for c in json.loads(done.stdout)["changes"]}
    assert changes["good"]["smoke"] == {"timeout_seconds": 60, "input_given": True}
    assert "smoke" not in changes["plain"]
    assert "smoke test" not in done.stdout


def test_a_saved_plan_keeps_the_smoke_test() -> None:
    smoke = Smoke(timeout=90, input={"q": "ping"}, has_input=True)
    change = Change(
        "r1", Action.CREATE, "new", body={"action": {"type": "invoke_agent_invocations_api"}}
    )
    change.smoke = smoke
    plan = Plan(stack="s", target="local:x", manifest_digest="d", prune=False, changes=[change])
    [back] = planfile.decode(json.loads(json.dumps(planfile.encode(plan)))).changes
    assert back.smoke == smoke
    assert payload(back) == {"type": "invoke_agent_invocations_api", "input": {"q": "ping"}}
    back.smoke = Smoke(timeout=90)
    assert payload(back) is None  # no input given: the routine's own
