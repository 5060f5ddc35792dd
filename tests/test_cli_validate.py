"""``reconciler validate`` as a user runs it: exit codes, one line per error, no traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BASE_ROUTINE, REPO, run_cli

BAD_FILES: dict[str, bytes] = {
    "broken.yaml": b"routines: [\n",
    "tabs.yaml": b"routines:\n\t- name: x\n",
    "empty.yaml": b"",
    "comments-only.yaml": b"# nothing here\n---\n",
    "no-routines.yaml": b"routine: []\n",
    "non-list.yaml": b"routines: 5\n",
    "latin1.yaml": "routines:\n  - name: caf\u00e9\n".encode("latin-1"),
    "binary.yaml": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "unsafe.yaml": b"routines:\n  - !!python/object/apply:os.system [echo pwned]\n",
    "dup-keys.yaml": BASE_ROUTINE.replace("  - name: r1", "  - name: r1\n    name: r2").encode(),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_exits_1_with_a_located_line_and_no_traceback(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(BAD_FILES[name])
    done = run_cli("validate", str(path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith(f"{path}:"), first
    line = first.split(":")[1]
    assert line.isdigit() and int(line) >= 1


def test_unsafe_tag_never_runs_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "unsafe.yaml"
    path.write_text(f"routines:\n  - !!python/object/apply:os.system ['touch {marker}']\n")
    assert run_cli("validate", str(path)).returncode == 1
    assert not marker.exists()


def test_valid_examples_exit_0() -> None:
    done = run_cli("validate", "manifests/")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Valid: ")


def test_json_output_lists_every_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        BASE_ROUTINE.replace('"0 7 * * *"', '"*/4 * * * *"').replace(
            "time_zone: UTC", "time_zone: Nowhere"
        )
    )
    done = run_cli("validate", str(path), "--output", "json")
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert doc["valid"] is False and doc["errors"] == 2
    assert [(d["line"], d["field"]) for d in doc["diagnostics"]] == [
        (6, "routines[0].triggers.t.cron_expression"),
        (7, "routines[0].triggers.t.time_zone"),
    ]


def test_github_output_prints_annotations(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BASE_ROUTINE.replace("agent_name: a", "agent_nam: a"))
    done = run_cli("validate", str(path), env={"GITHUB_ACTIONS": "true"})
    assert done.returncode == 1
    annotations = [line for line in done.stdout.splitlines() if line.startswith("::error ")]
    assert annotations == [
        f"::error file={path},line=8,col=5,title=routines[0].action::one of agent_name or "
        "agent_endpoint_id is required",
        f"::error file={path},line=10,col=7,title=routines[0].action.agent_nam::unknown field "
        "'agent_nam' (did you mean 'agent_name'?); allowed here: agent_endpoint_id, agent_name, "
        "conversation, conversation_id, input, type",
    ]


def test_empty_folder_is_valid_with_a_counted_warning(tmp_path: Path) -> None:
    done = run_cli("validate", str(tmp_path))
    assert done.returncode == 0
    assert done.stdout.splitlines() == [
        f"{tmp_path}: warning: no manifest files (*.yaml, *.yml) in this folder",
        "Valid: 0 routine(s) in 0 file(s), 1 warning(s).",
    ]
    as_json = json.loads(run_cli("validate", str(tmp_path), "--output", "json").stdout)
    assert (as_json["valid"], as_json["warnings"]) == (True, 1)


def test_a_broken_configuration_file_is_reported_like_manifests(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("stack: a\nmanifest: [m]\nprune: {max_delete: 3}\n")
    github = run_cli("validate", "--output", "github", cwd=tmp_path)
    assert github.returncode == 1
    assert [x.split("::")[1].split(",")[:2] for x in github.stdout.splitlines()] == [
        ["error file=reconciler.yaml", "line=2"],
        ["error file=reconciler.yaml", "line=3"],
    ]
    as_json = json.loads(run_cli("validate", "--output", "json", cwd=tmp_path).stdout)
    assert [d["line"] for d in as_json["diagnostics"]] == [2, 3]
    plan = run_cli("plan", cwd=tmp_path)
    assert plan.returncode == 1
    assert plan.stderr.splitlines()[0].startswith("reconciler.yaml:2:1: manifest: unknown field")


def test_missing_path_exits_1(tmp_path: Path) -> None:
    done = run_cli("validate", str(tmp_path / "nope"))
    assert done.returncode == 1
    assert "no such file or directory" in done.stdout


def test_undefined_variable_can_be_given_with_var(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(BASE_ROUTINE.replace("agent_name: a", "agent_name: ${AGENT}"))
    assert run_cli("validate", str(path)).returncode == 1
    assert run_cli("validate", str(path), "--var", "AGENT=x").returncode == 0


def test_usage_error_exits_1_not_2() -> None:
    done = run_cli("validate", "--output", "yaml")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ")
    assert "--help" in done.stderr


def test_without_paths_the_configured_manifests_are_validated() -> None:
    done = run_cli("validate")  # the default environment, local: every example manifest
    assert done.returncode == 0, done.stdout
    assert done.stdout.startswith("Valid: 11 routine(s)")
    shared = run_cli("validate", "--env", "dev")
    assert shared.stdout.startswith("Valid: 10 routine(s)"), shared.stdout
    dev = run_cli("validate", "--env", "dev")
    assert dev.returncode == 0 and dev.stdout.startswith("Valid: 10 routine(s)")


RULE = "letters, digits and _, not starting with a digit (as in ${NAME})"


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("1A=b", f"--var '1A=b': '1A' is not a variable name: use {RULE}"),
        ("A-B=1", f"--var 'A-B=1': 'A-B' is not a variable name: use {RULE}"),
        ("A B=1", f"--var 'A B=1': 'A B' is not a variable name: use {RULE}"),
        ("FOO", "--var 'FOO': expected NAME=VALUE"),
        ("=x", "--var '=x': expected NAME=VALUE"),
    ],
)
def test_var_names_follow_the_interpolation_rule(tmp_path: Path, pair: str, message: str) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(BASE_ROUTINE)
    for command in (["validate", str(path)], ["plan", str(path)]):
        done = run_cli(*command, "--var", pair, cwd=tmp_path)
        assert done.returncode == 1, command
        assert done.stderr == f"error: {message}\n", command
    assert not (tmp_path / ".reconciler").exists()


def test_var_accepts_every_name_interpolation_can_use(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(BASE_ROUTINE.replace("agent_name: a", "agent_name: ${_a1}-${B_2}"))
    done = run_cli("validate", str(path), "--var", "_a1=x", "--var", "B_2=y=z")
    assert done.returncode == 0, done.stderr


def test_the_console_script_exit_codes_in_a_real_process(tmp_path: Path) -> None:
    """The in-process runs of the other tests share the console script's code path; this one
    checks what only a process shows: the interpreter's exit status, and a clean stderr."""
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    ok = run_cli("validate", "manifests", cwd=tmp_path, process=True)
    assert ok.returncode == 0 and ok.stderr == ""
    changes = run_cli(
        "plan", "manifests", "--detailed-exitcode", "--endpoint", f"local:{tmp_path}/p.db",
        cwd=tmp_path, process=True,
    )  # fmt: skip
    assert changes.returncode == 2, changes.stderr
    usage = run_cli("plan", "--no-such-flag", cwd=tmp_path, process=True)
    assert usage.returncode == 1 and usage.stderr.startswith("error: No such option")
    assert "Traceback" not in usage.stderr


def test_validate_imports_neither_the_sdk_nor_deepdiff_nor_the_emulator() -> None:
    code = (
        "import sys\n"
        "from reconciler.cli.main import run\n"
        "run(['validate', 'manifests'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('azure', 'deepdiff') "
        "or m.startswith(('reconciler.emulator', 'reconciler.service', 'reconciler.live.azure')))\n"
        "print('HEAVY', heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert "HEAVY []" in done.stdout, done.stdout + done.stderr
