"""Mistakes a user makes, and what the CLI does about them (found by trying it as a new user)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.emulator.server import Emulator
from reconciler.live import endpoint as endpoints
from reconciler.live.local import LocalBackend
from tests.conftest import BASE_ROUTINE, REPO, apply_ok, run_cli
from tests.emulator_fixtures import admin


def copy_examples(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    return tmp_path


def test_a_saved_plan_carries_its_target_and_works_from_any_folder(tmp_path: Path) -> None:
    copy_examples(tmp_path)
    endpoint = f"local:{tmp_path}/p.db"
    done = run_cli(
        "plan",
        "manifests",
        "--endpoint",
        endpoint,
        "--stack",
        "team",
        "--out",
        "plan.json",
        cwd=tmp_path,
    )
    assert done.returncode == 0
    assert "apply it with: reconciler apply plan.json" in done.stdout
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    applied = run_cli("apply", str(tmp_path / "plan.json"), cwd=elsewhere)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert applied.stdout.startswith(f"Target: {endpoint}  (from the saved plan)  stack: team")
    assert len(LocalBackend(f"{tmp_path}/p.db").list_routines()) == 11
    assert not (elsewhere / ".reconciler").exists()


def test_flags_that_contradict_or_redecide_a_saved_plan_are_refused(tmp_path: Path) -> None:
    copy_examples(tmp_path)
    endpoint = f"local:{tmp_path}/p.db"
    assert (
        run_cli(
            "plan", "manifests", "--endpoint", endpoint, "--out", "plan.json", cwd=tmp_path
        ).returncode
        == 0
    )
    for flags, words in (
        (["--no-prune"], "--prune/--no-prune cannot be used with a saved plan"),
        (["--max-deletes", "0", "--adopt"], "--max-deletes, --adopt cannot be used"),
        (["--var", "X=1"], "--var cannot be used with a saved plan"),
        (["--stack", "other"], "the plan is for stack 'default', not 'other'"),
        (["--endpoint", f"local:{tmp_path}/q.db"], "the plan is for endpoint"),
    ):
        done = run_cli("apply", "plan.json", *flags, cwd=tmp_path)
        assert done.returncode == 1 and words in done.stderr, (flags, done.stderr)
    assert not Path(f"{tmp_path}/p.db").exists()


def test_a_plan_file_that_is_not_text_is_refused_cleanly(tmp_path: Path) -> None:
    (tmp_path / "bad.plan").write_bytes(b"\xff\xfe\x00garbage")
    done = run_cli("apply", str(tmp_path / "bad.plan"), cwd=tmp_path)
    assert done.returncode == 1
    assert "is not a saved plan (not UTF-8 text)" in done.stderr
    assert "internal error" not in done.stderr


def test_empty_endpoint_or_stack_never_falls_back_to_the_local_project(tmp_path: Path) -> None:
    copy_examples(tmp_path)
    for args, env, words in (
        (["--endpoint", ""], {}, "--endpoint is empty: refusing to fall back"),
        ([], {"AZURE_AI_PROJECT_ENDPOINT": " "}, "$AZURE_AI_PROJECT_ENDPOINT is empty"),
        (["--stack", ""], {}, "invalid stack name ''"),
    ):
        done = run_cli("plan", "manifests", *args, cwd=tmp_path, env=env)
        assert done.returncode == 1 and words in done.stderr, (args, done.stderr)
    assert not (tmp_path / ".reconciler").exists()


def test_reading_commands_never_create_a_project_file(tmp_path: Path) -> None:
    copy_examples(tmp_path)
    missing = tmp_path / "typo" / "dir" / "p.db"
    for command in (["plan", "manifests"], ["drift", "manifests"], ["export"]):
        done = run_cli(*command, "--endpoint", f"local:{missing}", cwd=tmp_path)
        assert done.returncode in (0, 2), done.stderr
    assert not (tmp_path / "typo").exists()
    assert not (tmp_path / ".reconciler").exists()


def test_a_missing_credential_is_one_line_without_sdk_logs(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(BASE_ROUTINE)
    env = {
        "AZURE_CONFIG_DIR": str(tmp_path / "no-az"),
        "IDENTITY_ENDPOINT": "",
        "MSI_ENDPOINT": "",
        "RECONCILER_RETRY_TOTAL": "0",
    }
    done = run_cli(
        "plan",
        "r.yaml",
        "--endpoint",
        "https://acct.services.ai.azure.com/api/projects/proj",
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0].startswith("error: could not get a token for https://acct."), lines
    assert all(line.startswith(("error:", "hint:")) for line in lines), lines
    assert ".;" not in done.stderr


def test_drift_reports_a_declared_routine_that_exists_unmanaged(tmp_path: Path) -> None:
    (tmp_path / "hand.yaml").write_text(BASE_ROUTINE.replace("r1", "hand-made"))
    endpoint = f"local:{tmp_path}/p.db"
    backend = LocalBackend(f"{tmp_path}/p.db")
    backend.create_or_update(
        "hand-made",
        {
            "triggers": {
                "t": {"type": "schedule", "cron_expression": "0 7 * * *", "time_zone": "UTC"}
            },
            "action": {"type": "invoke_agent_responses_api", "agent_name": "a"},
        },
    )
    done = run_cli("drift", "hand.yaml", "--endpoint", endpoint, "--output", "json", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    doc = json.loads(done.stdout)
    assert [c["name"] for c in doc["conflicts"]] == ["hand-made"]
    assert "--adopt" in doc["conflicts"][0]["reason"]
    plan = run_cli("plan", "hand.yaml", "--endpoint", endpoint, cwd=tmp_path)
    assert plan.returncode == 1
    assert "hand.yaml:2:5: routines[0].name: routine 'hand-made' already exists" in plan.stderr


def test_a_fired_timer_warns_in_plans_but_is_never_written_again(tmp_path: Path) -> None:
    soon = int(time.time()) + 3
    text = BASE_ROUTINE.replace(
        '        type: schedule\n        cron_expression: "0 7 * * *"\n        time_zone: UTC',
        f"        type: timer\n        at: {soon}",
    )
    (tmp_path / "t.yaml").write_text(text)
    endpoint = f"local:{tmp_path}/p.db"
    apply_ok("t.yaml", endpoint, tmp_path)
    time.sleep(max(0.0, soon + 1 - time.time()))
    assert run_cli("validate", "t.yaml", cwd=tmp_path).returncode == 1  # offline: an error
    drift = run_cli("drift", "t.yaml", "--endpoint", endpoint, cwd=tmp_path)
    assert drift.returncode == 0, drift.stdout + drift.stderr
    assert "warning: " in drift.stderr and "once it has fired, remove the routine" in drift.stderr
    (tmp_path / "t.yaml").write_text(text.replace("agent_name: a", "agent_name: b"))
    plan = run_cli("plan", "t.yaml", "--endpoint", endpoint, cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr  # an update keeps the timer it already has
    (tmp_path / "n.yaml").write_text(text.replace("r1", "new-one"))
    fresh = run_cli("plan", "n.yaml", "--endpoint", endpoint, cwd=tmp_path)
    assert fresh.returncode == 1
    assert "is in the past, and the service refuses to set it" in fresh.stderr


def test_blocked_deletes_are_grouped_and_the_closing_line_is_honest(tmp_path: Path) -> None:
    copy_examples(tmp_path)
    endpoint = f"local:{tmp_path}/p.db"
    apply_ok("manifests", endpoint, tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    done = run_cli("plan", str(empty), "--prune", "--endpoint", endpoint, cwd=tmp_path)
    assert done.returncode == 0
    assert "no manifest files (*.yaml, *.yml) in this folder" in done.stderr
    assert done.stdout.count("an empty source never prunes") == 1
    assert done.stdout.count("    # ") == 11
    assert "No changes will be made; 11 delete(s) blocked by safety rules" in done.stdout


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_apply_interrupted_reports_what_was_done_and_exits_130(
    tmp_path: Path, signum: signal.Signals
) -> None:
    copy_examples(tmp_path)
    with Emulator(tmp_path / "emu.db") as emu:
        admin(emu.url, "PUT", "faults", {"latency_ms": 400})
        audit = tmp_path / "audit.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
        env["NO_COLOR"] = "1"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reconciler",
                "apply",
                "manifests",
                "--auto-approve",
                "--concurrency",
                "2",
                "--endpoint",
                emu.endpoint(),
                "--audit-out",
                str(audit),
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        while "ok      create" not in process.stdout.readline():
            pass
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
        created = sorted(
            r["name"] for r in emu.state.store.list("_project", limit=100, after=None)[0]
        )
    assert process.returncode == 130, err
    assert "Apply interrupted:" in out and "apply was interrupted" in err
    record = json.loads(audit.read_text())
    assert record["ok"] is False
    statuses = [r["status"] for r in record["results"]]
    assert len(record["results"]) == len({r["name"] for r in record["results"]})
    done = sorted(r["name"] for r in record["results"] if r["status"] == "ok")
    assert done == created  # every change in flight was waited for, each reported once
    assert "skipped" in statuses


# --- endpoints that would leak a password or name another project than the one written ----------

SHAPE = "use https://<account>.services.ai.azure.com/api/projects/<project>"


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        (
            "https://u:hunter2@acct.services.ai.azure.com/api/projects/p",
            "endpoint 'https://***@acct.services.ai.azure.com/api/projects/p' (--endpoint) "
            "contains user-info (user:password@): credentials never go in the endpoint; the "
            "reconciler signs in with Azure credentials",
        ),
        (
            "http://u:hunter2@127.0.0.1:1234/api/projects/p",
            "endpoint 'http://***@127.0.0.1:1234/api/projects/p' (--endpoint) contains "
            "user-info (user:password@): credentials never go in the endpoint; the reconciler "
            "signs in with Azure credentials",
        ),
        (
            "https://acct.services.ai.azure.com/api/projects/p?x=1",
            "endpoint 'https://acct.services.ai.azure.com/api/projects/p?x=1' (--endpoint) has "
            f"a query string or fragment ('?' or '#'): {SHAPE}",
        ),
        (
            "https://acct.services.ai.azure.com/api/projects/p#frag",
            "endpoint 'https://acct.services.ai.azure.com/api/projects/p#frag' (--endpoint) has "
            f"a query string or fragment ('?' or '#'): {SHAPE}",
        ),
        (
            "http://127.0.0.1:1234/api/projects/zz/../yy",
            "endpoint 'http://127.0.0.1:1234/api/projects/zz/../yy' (--endpoint) has a '.' or "
            "'..' path segment: write the project path it stands for",
        ),
        (
            "http://127.0.0.1:1234/api/projects/./yy",
            "endpoint 'http://127.0.0.1:1234/api/projects/./yy' (--endpoint) has a '.' or '..' "
            "path segment: write the project path it stands for",
        ),
        (
            "http://127.0.0.1:1234/api/projects/zz/%2E%2e/yy",
            "endpoint 'http://127.0.0.1:1234/api/projects/zz/%2E%2e/yy' (--endpoint) has a '.' "
            "or '..' path segment: write the project path it stands for",
        ),
        (
            "https://acct.services.ai.azure.com/api/projects/",
            "endpoint 'https://acct.services.ai.azure.com/api/projects/' (--endpoint) is not a "
            "project endpoint: it must contain /api/projects/<project>",
        ),
        (
            "http://127.0.0.1:99999/api/projects/p",
            "endpoint 'http://127.0.0.1:99999/api/projects/p' (--endpoint) is not a valid URL: "
            "Port out of range 0-65535",
        ),
    ],
)
def test_a_misleading_endpoint_is_refused_before_any_request(
    tmp_path: Path, endpoint: str, message: str
) -> None:
    copy_examples(tmp_path)
    done = run_cli("plan", "manifests", "--endpoint", endpoint, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == f"error: {message}\n"
    assert done.stdout == ""  # refused before the Target line
    assert "hunter2" not in done.stdout + done.stderr


def test_a_password_in_the_environment_endpoint_is_never_printed(tmp_path: Path) -> None:
    copy_examples(tmp_path)
    secret = "https://ci:hunter2@acct.services.ai.azure.com/api/projects/p"
    for command in (["plan", "manifests"], ["drift", "manifests"], ["export"]):
        done = run_cli(*command, cwd=tmp_path, env={"AZURE_AI_PROJECT_ENDPOINT": secret})
        assert done.returncode == 1, done.stderr
        assert done.stderr == (
            "error: endpoint 'https://***@acct.services.ai.azure.com/api/projects/p' "
            "($AZURE_AI_PROJECT_ENDPOINT) contains user-info (user:password@): credentials "
            "never go in the endpoint; the reconciler signs in with Azure credentials\n"
        )
        assert "hunter2" not in done.stdout + done.stderr and "Target:" not in done.stdout


def test_the_accepted_endpoint_forms_still_parse() -> None:
    for text, value in (
        ("https://acct.services.ai.azure.com/api/projects/p", None),
        ("https://acct.services.ai.azure.com/api/projects/p/", None),
        ("HTTPS://ACCT.services.ai.azure.com/api/projects/p", None),
        ("http://127.0.0.1:8765/api/projects/_project", None),
        ("HTTP://LOCALHOST:8765/api/projects/p", None),
        ("http://[::1]:8765/api/projects/p", None),
        ("local:.reconciler/local.db", ".reconciler/local.db"),
    ):
        parsed = endpoints.parse(text, "test")
        assert parsed.value == (value or text.rstrip("/")), text
    assert endpoints.parse("HTTP://LOCALHOST:8765/api/projects/p", "test").loopback


def test_redact_hides_user_info_only() -> None:
    assert endpoints.redact("https://u:p@ss@h/api/projects/p") == "https://***@h/api/projects/p"
    assert endpoints.redact("u:pw@h") == "***@h"
    plain = "https://h/api/projects/p"
    assert endpoints.redact(plain) == plain


# --- a local project on read-only media ---------------------------------------------------------

# Bind-mount $1 read-only at $2 in a private mount namespace (nothing outlives the command), check
# that it really cannot be written (root ignores file modes, not a read-only mount), then run.
_READ_ONLY_VIEW = (
    'mount --bind "$1" "$2" && mount -o remount,ro,bind "$2" || exit 97\n'
    'touch "$2/.probe" 2>/dev/null && exit 97\n'
    'shift 2\nexec "$@"\n'
)


@pytest.fixture
def read_only_view(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the CLI with ``tmp_path/rw`` visible read-only at ``tmp_path/ro``."""
    (tmp_path / "rw").mkdir()
    (tmp_path / "ro").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AZURE_"))}
    env["NO_COLOR"] = "1"

    wrapper = ["unshare", "--map-root-user", "--mount", "sh", "-c", _READ_ONLY_VIEW, "sh"]
    folders = [str(tmp_path / "rw"), str(tmp_path / "ro")]

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*wrapper, *folders, *command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    if shutil.which("unshare") is None or run("true").returncode != 0:
        pytest.skip("no read-only bind mount here (needs unshare and user namespaces)")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run(sys.executable, "-m", "reconciler", *args)

    return cli


def test_reading_commands_work_on_a_read_only_project(
    tmp_path: Path, read_only_view: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    copy_examples(tmp_path)
    applied = run_cli(
        "apply",
        "manifests",
        "--auto-approve",
        "--endpoint",
        f"local:{tmp_path}/rw/p.db",
        cwd=tmp_path,
    )
    assert applied.returncode == 0, applied.stderr
    assert sorted(p.name for p in (tmp_path / "rw").iterdir()) == ["p.db"]  # WAL checkpointed
    view = f"{tmp_path}/ro/p.db"
    plan = read_only_view("plan", "manifests", "--endpoint", f"local:{view}")
    assert plan.returncode == 0, plan.stderr
    assert "No changes. The project matches the manifests." in plan.stdout
    drift = read_only_view("drift", "manifests", "--endpoint", f"local:{view}")
    assert drift.returncode == 0, drift.stderr
    export = read_only_view("export", "--endpoint", f"local:{view}")
    assert export.returncode == 0, export.stderr
    assert export.stdout.count("- name: ") == 11
    apply = read_only_view("apply", "manifests", "--auto-approve", "--endpoint", f"local:{view}")
    assert apply.returncode == 1
    assert apply.stderr == (
        f"error: local project {view} is read-only (unable to open database file); "
        "nothing was written\n"
    )
    assert sorted(p.name for p in (tmp_path / "rw").iterdir()) == ["p.db"]


def test_unmerged_wal_changes_on_read_only_media_are_a_clear_error(
    tmp_path: Path, read_only_view: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    copy_examples(tmp_path)
    db = tmp_path / "rw" / "p.db"
    LocalBackend(str(db)).close()
    # a writer that stopped before SQLite merged its -wal file into the database
    crashed = (
        "import os, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('PRAGMA wal_autocheckpoint = 0')\n"
        "conn.execute(\"INSERT INTO meta (key, value) VALUES ('x', 'y')\")\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", crashed, str(db)], check=True)
    Path(f"{db}-shm").unlink()
    assert Path(f"{db}-wal").stat().st_size > 0
    view = f"{tmp_path}/ro/p.db"
    done = read_only_view("plan", "manifests", "--endpoint", f"local:{view}")
    assert done.returncode == 1
    assert done.stderr == (
        f"error: local project {view} cannot be read here: its {view}-wal file holds changes, "
        "and reading them needs a -shm file that cannot be created in this read-only folder "
        "(open it once where its folder is writable, and SQLite moves the changes into the "
        "file)\n"
    )
