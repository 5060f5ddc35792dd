"""Hostile manifests: every one ends with exit 1 (or 0 when merely odd), located lines, no
traceback and no "internal error", within 1 GiB of address space and 20 s (a regression fails
instead of hanging).  Timing itself is measured in benchmarks, never asserted here."""

from __future__ import annotations

import os
import re
import resource
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli.main import cli
from reconciler.manifest.budget import RUN_VALUES_BASE
from reconciler.manifest.loader import load
from reconciler.manifest.sources import read_text
from tests.conftest import BASE_ROUTINE

CORPUS = Path(__file__).parent / "corpus" / "hostile"
NOW = 1_800_000_000
ADDRESS_SPACE = 1024**3


def validate(*args: str) -> tuple[int, str]:
    """``reconciler validate --output text ARGS`` in this process (fast)."""
    result = CliRunner().invoke(cli, ["validate", "--output", "text", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert_clean(result.output)
    return result.exit_code, result.output


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_limited(*args: str, cwd: Path) -> tuple[int, str]:
    """``python -m reconciler ARGS`` in a child with 1 GiB of address space and 20 s."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AZURE_"))}
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env={**env, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=20,
        preexec_fn=_limit_memory,
        check=False,
    )
    output = done.stdout + done.stderr
    assert_clean(output)
    return done.returncode, output


def assert_clean(output: str) -> None:
    assert "Traceback" not in output
    assert "internal error" not in output


def bomb(levels: int = 5, width: int = 10) -> str:
    """An alias bomb of ``width ** levels`` values (123,456 values for 5 x 10)."""
    lines = [f"a0: &a0 [{','.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def _no_project_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run where no reconciler.yaml supplies variables or paths."""
    monkeypatch.chdir(tmp_path)


# The checked-in corpus ------------------------------------------------------------------------


def _corpus_rows() -> list[tuple[str, int, str, str]]:
    rows = []
    for line in (CORPUS / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`") and cells[0].endswith(".yaml`"):
            first, also = (re.sub(r"^`|`$", "", cell) for cell in cells[3:5])
            rows.append((cells[0].strip("`"), int(cells[2]), first, also))
    return rows


def test_every_corpus_file_is_listed_once_and_small() -> None:
    listed = [row[0] for row in _corpus_rows()]
    assert sorted(listed) == sorted(p.name for p in CORPUS.glob("*.yaml"))
    assert len(set(listed)) == len(listed)
    assert all(p.stat().st_size <= 64 * 1024 for p in CORPUS.glob("*.yaml"))


@pytest.mark.parametrize(("name", "code", "first", "also"), _corpus_rows())
def test_corpus_file(name: str, code: int, first: str, also: str) -> None:
    path = CORPUS / name
    exit_code, output = validate(str(path))
    assert exit_code == code, output[-2000:]
    line = output.splitlines()[0]
    if code == 0:
        assert line == first
    else:
        assert line.startswith(f"{path}:") and first in line, line[:500]
        assert re.match(rf"{re.escape(str(path))}(:\d+:\d+)?: ", line)
    assert also in output
    assert max(len(text) for text in output.splitlines()) < 1000


# Alias bombs: the budget is per file and per run ----------------------------------------------


def test_alias_bombs_in_many_documents_of_one_file_share_its_budget(tmp_path: Path) -> None:
    path = tmp_path / "bombs.yaml"
    path.write_text("---\n".join(["routines: []\n" + bomb()] * 120))
    code, output = run_limited("validate", "--output", "text", str(path), cwd=tmp_path)
    assert code == 1
    first = output.splitlines()[0]
    assert first.startswith(f"{path}:13:5: a4[5]: this file expands to more than 200000 values")
    assert "1 error(s)" in output


def test_alias_bombs_in_many_files_share_the_run_budget(tmp_path: Path) -> None:
    for index in range(60):
        (tmp_path / f"f{index:02}.yaml").write_text("routines: []\n" + bomb())
    code, output = run_limited("validate", "--output", "text", str(tmp_path), cwd=tmp_path)
    assert code == 1
    refused = [line for line in output.splitlines() if "values in total (alias bombs?)" in line]
    assert len(refused) == 59
    assert refused[0].startswith(f"{tmp_path / 'f01.yaml'}:")
    assert not any("f00.yaml" in line for line in refused)  # the first bomb fits: merely odd


def test_the_run_budget_grows_with_the_text_read(tmp_path: Path) -> None:
    """Ordinary files that use aliases (a merge key per routine) together expand to more than
    the run's base allowance and still load: each file's characters add to the run's budget."""
    defaults = "x: &d\n  input: {" + ", ".join(f"k{i}: v{i}" for i in range(80)) + "}\n"
    routine = BASE_ROUTINE.split("routines:\n", 1)[1].replace(
        "agent_name: a", "<<: *d\n      agent_name: a"
    )
    for index in range(60):
        body = "".join(routine.replace("name: r1", f"name: f{index}-r{j}") for j in range(50))
        (tmp_path / f"f{index}.yaml").write_text(defaults + "routines:\n" + body)
    result = load([str(tmp_path)], variables={}, now=NOW)
    assert len(result.routines) == 3000
    assert RUN_VALUES_BASE < 3000 * 82  # aliases alone expanded to more than the base
    assert {d.message for d in result.diagnostics} == {"unknown field 'x'; allowed here: routines"}


# Many documents, long lines, deep nesting, huge values: generated, too big to check in -----------


def _many(text: str, count: int) -> Callable[[], str]:
    return lambda: text * count


GENERATED: dict[str, tuple[Callable[[], str], int, str]] = {
    "empty-documents": (lambda: BASE_ROUTINE + "---\n" * 40_000, 1, ":1011:1: more than 1000"),
    "bare-documents": (_many("---\n", 40_000), 1, ":1:1: file is empty"),
    "list-documents": (_many("--- {routines: []}\n", 20_000), 1, ":1001:5: more than 1000"),
    "dense-list": (lambda: "routines: [" + "a," * 450_000 + "a]\n", 1, "more than 100000 YAML"),
    "deep-flow": (lambda: "routines: " + "[" * 100_000 + "]" * 100_000, 1, "nesting depth"),
    "long-scalar": (
        lambda: BASE_ROUTINE + "    description: " + "x" * 1_000_000 + "\n",
        1,
        "routines[0].description: 1000000 characters; the limit is 768",
    ),
    "long-input": (
        lambda: BASE_ROUTINE.replace("agent_name: a", "agent_name: a\n      input: " + "x" * 10**6),
        0,
        "Valid: 1 routine(s)",
    ),
    "huge-key": (lambda: "routines: []\n? " + "k" * 1_000_000 + "\n: 1\n", 1, "unknown field"),
    "many-anchors": (
        lambda: "routines:\n" + "".join(f"  - &a{i} {i}\n" for i in range(55_000)),
        1,
        "routines[0]: must be a mapping, not 0",
    ),
    "many-aliases": (
        lambda: "a: &a 1\nroutines: [" + "*a," * 150_000 + "*a]\n",
        1,
        "unknown field 'a'",
    ),
    "sexagesimal": (
        lambda: BASE_ROUTINE.replace(
            "agent_name: a", "agent_name: a\n      input: 1" + ":1" * 400_000
        ),
        1,
        "integer of 800001 characters; at most 1000",
    ),
    "unterminated-variables": (
        lambda: BASE_ROUTINE.replace("agent_name: a", "agent_name: " + "${" * 300_000),
        1,
        "routines[0].action.agent_name: unterminated '${'",
    ),
    "many-tags": (
        lambda: "routines:\n" + "".join(f"  - !x {i}\n" for i in range(80_000)),
        1,
        "stopped checking this file after 200 error(s)",
    ),
    "empty-routines": (_many("  - {}\n", 140_000), 1, "more than 100000 YAML nodes"),
    "over-1-mib": (lambda: "routines: []\n#" + "x" * 2**20, 1, "the limit is 1048576 bytes"),
}


@pytest.mark.parametrize("case", sorted(GENERATED))
def test_generated_hostile_input(case: str, tmp_path: Path) -> None:
    make, expected_code, fragment = GENERATED[case]
    path = tmp_path / f"{case}.yaml"
    text = make()
    path.write_text(text if not text.startswith("  - {}") else "routines:\n" + text)
    code, output = run_limited("validate", "--output", "text", str(path), cwd=tmp_path)
    assert code == expected_code, output[-2000:]
    assert fragment in output, output[:2000]
    assert len(output.splitlines()) <= 205
    assert max(len(line) for line in output.splitlines()) < 1000


# A list or a mapping where a type name belongs ------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("type: schedule", "type: [x]", ":6:9: routines[0].triggers.t.type: must be a type name"),
        ("type: schedule", "type: {a: 1}", ":6:9: routines[0].triggers.t.type: must be a type"),
        ("type: invoke_agent_responses_api", "type: [x]", ":10:7: routines[0].action.type: must"),
        ("type: invoke_agent_responses_api", "type: {a: 1}", ":10:7: routines[0].action.type:"),
    ],
)
def test_a_type_that_is_a_list_or_mapping_is_located_and_others_are_still_reported(
    old: str, new: str, field: str, tmp_path: Path
) -> None:
    text = BASE_ROUTINE.replace(old, new).replace("name: r1", "name: r1\n    descripton: typo")
    text += BASE_ROUTINE.split("routines:\n", 1)[1].replace("r1", "bad name!")
    path = tmp_path / "types.yaml"
    path.write_text(text)
    rendered = [d.render() for d in load([str(path)], variables={}, now=NOW).diagnostics]
    assert len(rendered) == 3, rendered
    assert any(line.startswith(f"{path}{field}") for line in rendered), rendered
    assert any(":3:5: routines[0].descripton: unknown field 'descripton'" in r for r in rendered)
    assert any("routines[1].name: 'bad name!' is not a valid name" in r for r in rendered)
    code, output = validate(str(path))
    assert code == 1 and "3 error(s)" in output


# Files that are not regular files ------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A manifest folder with one valid manifest."""
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "ok.yaml").write_text(BASE_ROUTINE)
    return folder


def _socket(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    return server


def test_a_fifo_in_a_folder_is_skipped_with_a_warning(folder: Path, tmp_path: Path) -> None:
    os.mkfifo(folder / "pipe.yaml")
    code, output = run_limited("validate", "--output", "text", str(folder), cwd=tmp_path)
    assert code == 0
    assert f"{folder / 'pipe.yaml'}: warning: not a regular file (a FIFO); skipped" in output
    assert "Valid: 1 routine(s) in 1 file(s), 1 warning(s)." in output
    planned = run_limited("plan", str(folder), "--endpoint", f"local:{tmp_path}/p.db", cwd=tmp_path)
    assert planned[0] == 0 and "not a regular file (a FIFO); skipped" in planned[1]


def test_a_fifo_given_by_name_is_an_error(folder: Path, tmp_path: Path) -> None:
    os.mkfifo(folder / "pipe.yaml")
    code, output = run_limited(
        "validate", "--output", "text", str(folder / "pipe.yaml"), cwd=tmp_path
    )
    assert code == 1
    assert f"{folder / 'pipe.yaml'}: not a regular file (a FIFO)" in output


def test_reading_a_fifo_never_blocks(tmp_path: Path) -> None:
    """Belt and braces against a file replaced between the folder walk and the read."""
    os.mkfifo(tmp_path / "late.yaml")
    source, problem = read_text(str(tmp_path / "late.yaml"))
    assert source is None and problem is not None
    assert problem.message == "not a regular file (a FIFO)"


def test_a_socket_is_skipped_in_a_folder_and_an_error_by_name(folder: Path) -> None:
    server = _socket(folder / "sock.yaml")
    try:
        code, output = validate(str(folder))
        assert code == 0 and "sock.yaml: warning: not a regular file (a socket); skipped" in output
        code, output = validate(str(folder / "sock.yaml"))
        assert code == 1 and f"{folder / 'sock.yaml'}: not a regular file (a socket)" in output
    finally:
        server.close()


def test_devices_are_never_read(folder: Path, tmp_path: Path) -> None:
    """A link to a device is judged by its target (stat follows it): skipped in a folder, an
    error by name; a link to a regular file keeps working."""
    (folder / "zero.yaml").symlink_to("/dev/zero")
    (tmp_path / "link.yaml").symlink_to(folder / "ok.yaml")
    code, output = run_limited("validate", "--output", "text", str(folder), cwd=tmp_path)
    assert code == 0 and "zero.yaml: warning: not a regular file (a character device)" in output
    for device in ("/dev/null", str(folder / "zero.yaml")):
        code, output = run_limited("validate", "--output", "text", device, cwd=tmp_path)
        assert code == 1 and f"{device}: not a regular file (a character device)" in output
    assert validate(str(tmp_path / "link.yaml"))[0] == 0


def test_a_configuration_file_that_is_a_fifo_is_an_error(folder: Path, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "reconciler.yaml")
    code, output = run_limited("validate", str(folder), cwd=tmp_path)
    assert code == 1
    assert "configuration file reconciler.yaml is not a regular file (a FIFO)" in output
    code, output = run_limited("validate", "--config", "reconciler.yaml", str(folder), cwd=tmp_path)
    assert code == 1 and "is not a regular file (a FIFO)" in output
