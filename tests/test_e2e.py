"""End to end through the real CLI (subprocesses), against both targets a user can pick:

- ``local``: the embedded SQLite project (``--endpoint local:PATH``);
- ``emulator``: the HTTP emulator, reached through the ``azure`` backend and the real SDK.

Out-of-band edits ("someone used the portal") go through a backend object of the same target.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.server import Emulator
from reconciler.live.azure import AzureBackend
from reconciler.live.base import Backend
from reconciler.live.local import LocalBackend
from tests.conftest import REPO, run_cli

FAST_RETRIES = {"RECONCILER_RETRY_TOTAL": "2", "RECONCILER_RETRY_BACKOFF": "0.01"}


@dataclass
class Project:
    """A target project for one test: how the CLI reaches it and a 'portal' to edit it."""

    kind: str
    cwd: Path
    endpoint: str
    db: str
    emulator: Emulator | None = None
    _portal: Backend | None = None

    @property
    def portal(self) -> Backend:
        """A backend of the same kind, opened on first use."""
        if self._portal is None:
            self._portal = (
                LocalBackend(self.db)
                if self.emulator is None
                else AzureBackend(self.emulator.endpoint(), environ=FAST_RETRIES)
            )
        return self._portal


@pytest.fixture(params=["local", "emulator"])
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Project]:
    """A copy of the example manifests and a fresh project of either kind."""
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    db = str(tmp_path / "project.db")
    if request.param == "local":
        yield Project("local", tmp_path, f"local:{db}", db)
        return
    with Emulator(db) as emu:
        opened = Project("emulator", tmp_path, emu.endpoint(), db, emu)
        yield opened
        opened.portal.close()


@pytest.fixture
def local(tmp_path: Path) -> Project:
    """The embedded project only (for tests about its file)."""
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    db = str(tmp_path / "project.db")
    return Project("local", tmp_path, f"local:{db}", db)


def cli(project: Project, *args: str, stdin: str | None = None) -> Any:
    return run_cli(
        *args, "--endpoint", project.endpoint, cwd=project.cwd, stdin=stdin, env=FAST_RETRIES
    )


def applied(project: Project) -> None:
    done = cli(project, "apply", "manifests", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr


def plan_json(project: Project, *args: str) -> dict[str, Any]:
    done = cli(project, "plan", "manifests", "--output", "json", *args)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def pending(doc: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(c["name"], c["action"]) for c in doc["changes"] if c["action"] != ["no-op"]]


def test_apply_then_plan_says_no_changes(project: Project) -> None:
    first = cli(project, "plan", "manifests", "--detailed-exitcode")
    assert first.returncode == 2
    assert first.stdout.startswith(f"Target: {project.endpoint}")
    assert "Plan: 11 to create, 0 to update, 0 to replace, 0 to delete." in first.stdout
    applied(project)
    again = cli(project, "plan", "manifests", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes." in again.stdout


def test_changing_one_cron_is_exactly_one_update_naming_cron_expression(project: Project) -> None:
    applied(project)
    path = project.cwd / "manifests/ops/daily-summaries.yaml"
    path.write_text(path.read_text().replace('"0 7 * * 1-5"', '"15 7 * * 1-5"'))
    doc = plan_json(project)
    assert pending(doc) == [("daily-ops-summary", ["update"])]
    [change] = [c for c in doc["changes"] if c["action"] == ["update"]]
    assert change["diff"] == [
        {
            "path": "triggers.weekday-morning.cron_expression",
            "before": "0 7 * * 1-5",
            "after": "15 7 * * 1-5",
        }
    ]
    text = cli(project, "plan", "manifests").stdout
    assert '~ triggers.weekday-morning.cron_expression: "0 7 * * 1-5" => "15 7 * * 1-5"' in text
    assert "Plan: 0 to create, 1 to update, 0 to replace, 0 to delete." in text


def test_disabled_outside_git_shows_as_enable(project: Project) -> None:
    applied(project)
    project.portal.disable("daily-ops-summary")
    doc = plan_json(project)
    assert pending(doc) == [("daily-ops-summary", ["enable"])]
    applied(project)
    assert project.portal.get("daily-ops-summary")["enabled"] is True


def test_removed_manifest_is_deleted_only_with_prune(project: Project) -> None:
    applied(project)
    (project.cwd / "manifests/integrations/events.yaml").unlink()
    without = plan_json(project)
    assert pending(without) == []
    assert {b["name"] for b in without["blocked_deletes"]} == {
        "triage-new-issues",
        "on-deployment-finished",
    }
    with_prune = plan_json(project, "--prune")
    assert sorted(pending(with_prune)) == [
        ("on-deployment-finished", ["delete"]),
        ("triage-new-issues", ["delete"]),
    ]
    done = cli(project, "apply", "manifests", "--prune", "--auto-approve")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 deleted" in done.stdout
    assert project.portal.get("triage-new-issues") is None


def test_routine_created_outside_is_unmanaged_survives_prune_and_can_be_adopted(
    project: Project,
) -> None:
    applied(project)
    backend = project.portal
    hand_made = {
        "triggers": {"t": {"type": "schedule", "cron_expression": "0 9 * * *", "time_zone": "UTC"}},
        "action": {"type": "invoke_agent_responses_api", "agent_name": "x"},
    }
    backend.create_or_update("hand-made", hand_made)
    done = cli(project, "apply", "manifests", "--prune", "--auto-approve")
    assert done.returncode == 0
    assert "Unmanaged routines (left untouched):" in done.stdout
    assert "? hand-made  (created outside the reconciler)" in done.stdout
    assert backend.get("hand-made") is not None

    manifest = project.cwd / "manifests/hand-made.yaml"
    manifest.write_text(
        "routines:\n  - name: hand-made\n    triggers:\n      t: {type: schedule, "
        'cron_expression: "0 9 * * *", time_zone: UTC}\n    action: {type: '
        "invoke_agent_responses_api, agent_name: x}\n"
    )
    refused = cli(project, "apply", "manifests", "--auto-approve")
    assert refused.returncode == 1
    assert "already exists in the project and was created outside the reconciler" in refused.stderr
    assert "--adopt" in refused.stderr
    adopted = cli(project, "apply", "manifests", "--adopt", "--auto-approve")
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    assert "stack=default" in backend.get("hand-made")["description"]
    assert cli(project, "plan", "manifests", "--detailed-exitcode").returncode == 0


def test_empty_source_with_prune_deletes_nothing(project: Project) -> None:
    applied(project)
    empty = project.cwd / "empty"
    empty.mkdir()
    done = cli(project, "apply", str(empty), "--prune", "--auto-approve", "--max-deletes", "100")
    assert done.returncode == 0
    assert "zero routines" in done.stdout
    assert len(project.portal.list_routines()) == 11


def test_protect_blocks_the_delete(project: Project) -> None:
    applied(project)
    path = project.cwd / "manifests/ops/daily-summaries.yaml"
    text = path.read_text()
    path.write_text(text[: text.index("  - name: weekly-compliance-report")])
    doc = plan_json(project, "--prune")
    assert pending(doc) == []
    assert [(b["name"], "protected" in b["reason"]) for b in doc["blocked_deletes"]] == [
        ("weekly-compliance-report", True)
    ]


def test_saved_plan_applies_exactly_and_a_stale_one_is_refused(project: Project) -> None:
    saved = project.cwd / "plan.json"
    done = cli(project, "plan", "manifests", "--out", str(saved))
    assert done.returncode == 0
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    project.portal.create_or_update(
        "daily-ops-summary",
        {
            "triggers": {
                "t": {"type": "schedule", "cron_expression": "0 9 * * *", "time_zone": "UTC"}
            },
            "action": {"type": "invoke_agent_responses_api", "agent_name": "x"},
        },
    )
    stale = cli(project, "apply", str(saved))
    assert stale.returncode == 1
    assert "stale" in stale.stderr and "daily-ops-summary" in stale.stderr
    assert len(project.portal.list_routines()) == 1  # nothing was changed

    project.portal.delete("daily-ops-summary")
    assert cli(project, "plan", "manifests", "--out", str(saved)).returncode == 0
    ok = cli(project, "apply", str(saved))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "11 created" in ok.stdout


def test_saved_plan_edited_by_hand_is_refused(project: Project) -> None:
    saved = project.cwd / "plan.json"
    assert cli(project, "plan", "manifests", "--out", str(saved)).returncode == 0
    doc = json.loads(saved.read_text())
    doc["plan"]["changes"][0]["body"]["enabled"] = False
    saved.write_text(json.dumps(doc))
    done = cli(project, "apply", str(saved))
    assert done.returncode == 1
    assert "modified after it was written" in done.stderr
    assert project.portal.list_routines() == []


def test_saved_plan_for_another_stack_or_endpoint_is_refused(project: Project) -> None:
    saved = project.cwd / "plan.json"
    assert cli(project, "plan", "manifests", "--out", str(saved)).returncode == 0
    other_stack = cli(project, "apply", str(saved), "--stack", "other")
    assert other_stack.returncode == 1 and "for stack 'default'" in other_stack.stderr
    other_db = run_cli(
        "apply",
        str(saved),
        "--endpoint",
        f"local:{project.cwd}/other.db",
        cwd=project.cwd,
    )
    assert other_db.returncode == 1 and "is for endpoint" in other_db.stderr


def test_saved_plan_with_changed_manifests_is_refused(project: Project) -> None:
    saved = project.cwd / "plan.json"
    assert cli(project, "plan", "manifests", "--out", str(saved)).returncode == 0
    path = project.cwd / "manifests/ops/regional.yaml"
    path.write_text(path.read_text() + "\n")
    done = cli(project, "apply", str(saved))
    assert done.returncode == 1 and "changed since the plan was made" in done.stderr


def test_apply_without_tty_or_auto_approve_refuses(project: Project) -> None:
    done = cli(project, "apply", "manifests", stdin="yes\n")
    assert done.returncode == 1
    assert "--auto-approve" in done.stderr
    assert project.portal.list_routines() == []


def test_invalid_manifests_write_nothing(project: Project) -> None:
    path = project.cwd / "manifests/ops/regional.yaml"
    path.write_text(path.read_text().replace("America/New_York", "America/Nowhere"))
    done = cli(project, "apply", "manifests", "--auto-approve")
    assert done.returncode == 1
    assert "regional.yaml:10:" in done.stderr and "Traceback" not in done.stderr
    assert project.portal.list_routines() == []


def test_manifest_owned_by_another_stack_is_refused(project: Project) -> None:
    applied(project)
    done = cli(project, "plan", "manifests", "--stack", "team-b")
    assert done.returncode == 1
    assert "is owned by stack 'default'" in done.stderr
    assert "--adopt-from default" in done.stderr


def test_unknown_endpoint_scheme(local: Project) -> None:
    done = run_cli("plan", "manifests", "--endpoint", "ftp://x/api/projects/p", cwd=local.cwd)
    assert done.returncode == 1 and "unknown endpoint" in done.stderr


def test_plain_http_to_a_remote_host_is_refused(local: Project) -> None:
    done = run_cli(
        "plan",
        "manifests",
        "--endpoint",
        "http://example.com/api/projects/p",
        cwd=local.cwd,
    )
    assert done.returncode == 1 and "refusing plain http://" in done.stderr


@pytest.mark.parametrize("content", [b"this is not a database at all" * 100, b""])
def test_corrupt_or_foreign_database(local: Project, content: bytes) -> None:
    Path(local.db).write_bytes(content)
    if not content:
        with sqlite3.connect(local.db) as conn:
            conn.execute("create table customers (id integer)")
    done = cli(local, "plan", "manifests")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert local.db in done.stderr and "not a reconciler database" in done.stderr


def test_unreadable_database(local: Project) -> None:
    Path(local.db).mkdir()
    done = cli(local, "plan", "manifests")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert local.db in done.stderr


def test_markdown_and_json_outputs_keep_stdout_clean(project: Project) -> None:
    md = cli(project, "plan", "manifests", "--output", "markdown")
    assert md.stdout.startswith("<!-- reconciler-plan -->")
    assert "Target:" in md.stderr
    doc = plan_json(project)
    assert doc["format_version"] == "1"
    assert doc["summary"]["create"] == 11
    assert "(sensitive)" in json.dumps(doc) and "not-a-real-key" not in json.dumps(doc)


def test_drift_exit_codes(project: Project) -> None:
    assert cli(project, "drift", "manifests").returncode == 2
    applied(project)
    assert cli(project, "drift", "manifests").returncode == 0
    project.portal.disable("daily-summary-us-east")
    done = cli(project, "drift", "manifests")
    assert done.returncode == 2
    assert "Disabled outside git: 1" in done.stdout


def test_plan_is_identical_through_both_backends(local: Project) -> None:
    """Same manifests, same live state (one SQLite file): the same plan JSON, target aside."""
    applied(local)
    path = local.cwd / "manifests/ops/daily-summaries.yaml"
    path.write_text(path.read_text().replace('"0 7 * * 1-5"', '"20 7 * * 1-5"'))
    (local.cwd / "manifests/integrations/events.yaml").unlink()
    local.portal.disable("daily-summary-us-east")
    local.portal.create_or_update(
        "hand-made",
        {
            "triggers": {"t": {"type": "timer", "at": "2h"}},
            "action": {"type": "invoke_agent_invocations_api", "agent_endpoint_id": "e"},
        },
    )
    through_local = plan_json(local, "--prune")
    with Emulator(local.db) as emu:
        done = run_cli(
            "plan",
            "manifests",
            "--prune",
            "--output",
            "json",
            "--endpoint",
            emu.endpoint(),
            cwd=local.cwd,
            env=FAST_RETRIES,
        )
    assert done.returncode == 0, done.stderr
    through_emulator = json.loads(done.stdout)
    assert through_local.pop("target") != through_emulator.pop("target")
    assert through_local == through_emulator
    assert {
        c["name"]: c["action"] for c in through_local["changes"] if c["action"] != ["no-op"]
    } == {
        "daily-ops-summary": ["update"],
        "daily-summary-us-east": ["enable"],
        "on-deployment-finished": ["delete"],
        "triage-new-issues": ["delete"],
    }
    assert [u["name"] for u in through_local["unmanaged"]] == ["hand-made"]
