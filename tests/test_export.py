"""``reconciler export``: manifests from live routines that plan back to no changes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from reconciler.export import export, to_manifest
from reconciler.live.local import LocalBackend
from tests.conftest import REPO, apply_ok, run_cli

HAND_MADE = {
    "description": "made in the portal; costs ${PRICE}",
    "triggers": {"t": {"type": "schedule", "cron_expression": "0 9 * * *", "time_zone": "UTC"}},
    "action": {"type": "invoke_agent_responses_api", "agent_name": "x", "input": {"k": None}},
}


def test_export_of_a_managed_project_plans_as_no_changes(tmp_path: Path) -> None:
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    endpoint = f"local:{tmp_path}/p.db"
    apply_ok("manifests", endpoint, tmp_path)
    done = run_cli("export", "--out", "exported", "--endpoint", endpoint, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Exported 11 routine(s)" in done.stdout
    files = sorted(p.name for p in (tmp_path / "exported").iterdir())
    assert "post-deploy-warmup.yaml" in files and len(files) == 11
    assert run_cli("validate", "exported", cwd=tmp_path).returncode == 0
    again = run_cli("plan", "exported", "--detailed-exitcode", "--endpoint", endpoint, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes." in again.stdout


def test_bootstrap_from_hand_made_routines_adopts_without_field_changes(tmp_path: Path) -> None:
    backend = LocalBackend(str(tmp_path / "p.db"))
    backend.create_or_update("portal-made", HAND_MADE)
    endpoint = f"local:{tmp_path}/p.db"
    assert run_cli("export", "--out", "repo", "--endpoint", endpoint, cwd=tmp_path).returncode == 0
    text = (tmp_path / "repo/portal-made.yaml").read_text()
    assert "$${PRICE}" in text
    planned = run_cli(
        "plan", "repo", "--adopt", "--output", "json", "--endpoint", endpoint, cwd=tmp_path
    )
    doc = json.loads(planned.stdout)
    [change] = doc["changes"]
    assert change["action"] == ["update"] and change["reason"].startswith("adopt")
    assert [d["path"] for d in change["diff"]] == ["ownership"]
    assert (
        run_cli(
            "apply", "repo", "--adopt", "--auto-approve", "--endpoint", endpoint, cwd=tmp_path
        ).returncode
        == 0
    )
    assert backend.get("portal-made")["description"].startswith("made in the portal; costs ${")
    assert (
        run_cli(
            "plan", "repo", "--detailed-exitcode", "--endpoint", endpoint, cwd=tmp_path
        ).returncode
        == 0
    )


def test_fired_timers_are_skipped_with_the_reason() -> None:
    fired = {
        "name": "done",
        "enabled": True,
        "triggers": {"t": {"type": "timer", "at": 100}},
        "action": {"type": "invoke_agent_responses_api", "agent_name": "a"},
    }
    result = export([fired], now=200)
    assert result.routines == []
    assert result.skipped[0][0] == "done" and "already fired" in result.skipped[0][1]


def test_absolute_timers_become_iso_text_and_defaults_are_left_out() -> None:
    live = {
        "name": "t",
        "description": "",
        "enabled": True,
        "triggers": {"t": {"type": "timer", "at": 1_900_000_000}},
        "action": {"type": "invoke_agent_responses_api", "agent_name": "a", "conversation": None},
    }
    assert to_manifest(live) == {
        "name": "t",
        "triggers": {"t": {"type": "timer", "at": "2030-03-17T17:46:40Z"}},
        "action": {"type": "invoke_agent_responses_api", "agent_name": "a"},
    }


def test_existing_files_are_not_overwritten_without_force(tmp_path: Path) -> None:
    LocalBackend(str(tmp_path / "p.db")).create_or_update("portal-made", HAND_MADE)
    args = ("export", "--out", "repo", "--endpoint", f"local:{tmp_path}/p.db")
    assert run_cli(*args, cwd=tmp_path).returncode == 0
    clash = run_cli(*args, cwd=tmp_path)
    assert clash.returncode == 1 and "already exists" in clash.stderr
    assert run_cli(*args, "--force", cwd=tmp_path).returncode == 0


def test_export_to_stdout_is_one_manifest(tmp_path: Path) -> None:
    LocalBackend(str(tmp_path / "p.db")).create_or_update("portal-made", HAND_MADE)
    done = run_cli("export", "--endpoint", f"local:{tmp_path}/p.db", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("# Exported by 'reconciler export'")
    assert "- name: portal-made" in done.stdout
    assert "Target:" in done.stderr


def test_free_form_values_are_flagged_and_files_are_private(tmp_path: Path) -> None:
    backend = LocalBackend(str(tmp_path / "p.db"))
    backend.create_or_update("portal-made", HAND_MADE)
    plain = {**HAND_MADE, "action": {"type": "invoke_agent_responses_api", "agent_name": "x"}}
    backend.create_or_update("no-input", plain)
    hook = {
        "triggers": {
            "c": {
                "type": "custom",
                "provider": "ci",
                "event_name": "done",
                "parameters": {"t": "a"},
            }
        },
        "action": {"type": "invoke_agent_responses_api", "agent_name": "x"},
    }
    backend.create_or_update("hooked", hook)
    done = run_cli("export", "--out", "repo", "--endpoint", f"local:{tmp_path}/p.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    review = [line for line in done.stdout.splitlines() if line.startswith("review ")]
    assert review == [
        "review hooked: triggers.c.parameters copied as stored (may hold secrets; mark them with "
        "reconcile.sensitive and use ${VAR})",
        "review portal-made: action.input copied as stored (may hold secrets; mark them with "
        "reconcile.sensitive and use ${VAR})",
    ]
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "repo").iterdir()}
    assert modes == {"hooked.yaml": 0o600, "no-input.yaml": 0o600, "portal-made.yaml": 0o600}
    to_stdout = run_cli("export", "--endpoint", f"local:{tmp_path}/p.db", cwd=tmp_path)
    assert "review portal-made" in to_stdout.stderr
    assert "review" not in to_stdout.stdout
