"""A hung, slow or broken service: every command ends with one clear line, in time."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.server import Emulator
from tests.conftest import REPO, run_cli
from tests.emulator_fixtures import admin
from tests.hostile_servers import http_response, silent_server, trickle_server

FAST = {"RECONCILER_RETRY_TOTAL": "1", "RECONCILER_RETRY_BACKOFF": "0.01"}


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    return tmp_path


@pytest.fixture
def emu(examples: Path) -> Iterator[Emulator]:
    with Emulator(examples / "emu.db") as running:
        yield running


def error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def timed_cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[Any, float]:
    started = time.monotonic()
    done = run_cli(*args, cwd=cwd, env={**FAST, **(env or {})}, timeout=60)
    return done, time.monotonic() - started


@pytest.mark.parametrize("command", ["plan", "drift"])
def test_a_server_that_never_answers_ends_within_the_timeout(examples: Path, command: str) -> None:
    with silent_server() as port:
        endpoint = f"http://127.0.0.1:{port}/api/projects/p"
        done, seconds = timed_cli(
            examples, command, "manifests", "--endpoint", endpoint, "--timeout", "2s"
        )
    assert done.returncode == 1
    [line] = error_lines(done.stderr)
    assert f"timed out after 2s reading the project at {endpoint} (--timeout)" in line
    assert seconds < 15


def test_a_byte_per_interval_server_ends_within_the_timeout(examples: Path) -> None:
    page = b'{"data": [], "next_link": null}'
    with trickle_server(http_response(page), 0.5) as port:
        endpoint = f"http://127.0.0.1:{port}/api/projects/p"
        done, seconds = timed_cli(
            examples, "plan", "manifests", "--endpoint", endpoint, "--timeout", "3s"
        )
    assert done.returncode == 1
    [line] = error_lines(done.stderr)
    assert "timed out after 3s reading the project" in line
    assert seconds < 15


def test_a_read_that_never_answers_times_out_at_the_read_timeout(examples: Path) -> None:
    """The read timeout reaches the transport (azure-core ignores the client's own once a
    transport is given, and waited 300 s): with RECONCILER_READ_TIMEOUT=1 and no retries, a
    server that accepts and never answers ends the plan in seconds, blaming the connection."""
    with silent_server() as port:
        endpoint = f"http://127.0.0.1:{port}/api/projects/p"
        env = {"RECONCILER_READ_TIMEOUT": "1", "RECONCILER_RETRY_TOTAL": "0"}
        done, seconds = timed_cli(
            examples, "plan", "manifests", "--endpoint", endpoint, "--timeout", "40s", env=env
        )
    assert done.returncode == 1
    [line] = error_lines(done.stderr)
    assert f"the connection to {endpoint} dropped or timed out during list routines" in line
    assert seconds < 15


def test_a_bad_read_timeout_is_one_line(examples: Path) -> None:
    done, _ = timed_cli(
        examples, "plan", "manifests", "--endpoint", "http://127.0.0.1:9/api/projects/p",
        env={"RECONCILER_READ_TIMEOUT": "soon"},
    )  # fmt: skip
    assert done.returncode == 1
    [line] = error_lines(done.stderr)
    assert "RECONCILER_READ_TIMEOUT must be a number of seconds in (0, 600]" in line


def test_a_write_that_hangs_ends_apply_at_the_timeout_and_reports_it(
    emu: Emulator, examples: Path
) -> None:
    admin(emu.url, "PUT", "faults", {"script": [{"fault": "hang", "method": "PUT", "count": 50}]})
    done, seconds = timed_cli(
        examples, "apply", "manifests", "--auto-approve", "--endpoint", emu.endpoint(),
        "--timeout", "3s", "--concurrency", "2",
    )  # fmt: skip
    assert done.returncode == 1
    [line] = error_lines(done.stderr)
    assert "apply stopped: the --timeout of 3s passed; nothing new was started" in line
    assert done.stdout.count("still in flight when the --timeout passed") == 2
    assert "not started: the --timeout passed" in done.stdout
    assert "Apply timed out:" in done.stdout
    assert seconds < 20


@pytest.mark.parametrize("mode", ["repeat_cursor", "endless"])
def test_a_paging_loop_ends_with_one_line(emu: Emulator, examples: Path, mode: str) -> None:
    admin(emu.url, "PUT", "faults", {"list_mode": mode})
    done, seconds = timed_cli(
        examples, "plan", "manifests", "--endpoint", emu.endpoint(), "--timeout", "5s"
    )
    assert done.returncode == 1
    [line] = error_lines(done.stderr)
    if mode == "repeat_cursor":
        assert line.endswith("(a paging loop)")  # a repeated cursor, or a page with nothing new
        assert f"for list routines at {emu.endpoint()}" not in line  # named once, as "from"
        assert f"bad response from {emu.endpoint()} for list routines" in line
    else:  # new routines forever: the time limit or the routine cap, whichever comes first
        assert "timed out after 5s reading the project" in line or line.endswith(
            "more than 200000 routines: stopping (a paging loop?)"
        )
    assert seconds < 20


@pytest.mark.parametrize(
    ("fault", "shown"),
    [
        ("bad_json", "200 (application/json) with body '{\"data\": ['"),
        ("html", "200 (text/html) with body '<html><body>Bad gateway</body></html>'"),
        ("empty", "200 (application/json) with an empty body"),
        ("wrong_shape", "expected a routine object, got str 'a'"),
    ],
)
def test_a_bad_list_body_is_one_line_naming_status_endpoint_and_excerpt(
    emu: Emulator, examples: Path, fault: str, shown: str
) -> None:
    admin(emu.url, "PUT", "faults", {"script": [{"fault": fault, "route": "GET /routines"}]})
    done, _ = timed_cli(examples, "plan", "manifests", "--endpoint", emu.endpoint())
    assert done.returncode == 1
    [line] = error_lines(done.stderr)
    assert line.startswith(f"error: bad response from {emu.endpoint()} for list routines: ")
    assert shown in line
    for name in ("JSONDecodeError", "AttributeError", "DecodeError", "TypeError"):
        assert name not in line


def test_a_bad_write_body_is_verified_and_reported_once(emu: Emulator, examples: Path) -> None:
    steps = [{"fault": "html", "status": 200, "method": "PUT", "count": 1}]
    admin(emu.url, "PUT", "faults", {"script": steps})
    done, _ = timed_cli(
        examples, "apply", "manifests", "--auto-approve", "--endpoint", emu.endpoint(),
        "--concurrency", "1",
    )  # fmt: skip
    assert done.returncode == 1
    [failed] = [line for line in done.stdout.splitlines() if line.startswith("  failed")]
    assert "bad response from" in failed and "200 (text/html)" in failed
    assert "(verified: not applied)" in failed
    assert "10 created" in done.stdout


def test_a_get_that_answers_a_string_is_a_clear_error(emu: Emulator, examples: Path) -> None:
    steps = [{"fault": "wrong_shape", "route": "GET /routines/{name}", "count": 1}]
    admin(emu.url, "PUT", "faults", {"script": steps})
    done, _ = timed_cli(
        examples, "apply", "manifests", "--auto-approve", "--endpoint", emu.endpoint(),
        "--concurrency", "1",
    )  # fmt: skip
    assert done.returncode == 1
    [failed] = [line for line in done.stdout.splitlines() if line.startswith("  failed")]
    assert "could not read it before writing: bad response from" in failed
    assert "expected a routine object, got str 'just a string'" in failed
    assert "; nothing written [manifests/" in failed


def test_walk_pages_stops_on_a_repeated_cursor_even_when_pages_differ() -> None:
    from reconciler.live.azure import walk_pages
    from reconciler.live.azure_errors import BadResponse

    def collect(pages: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        walk_pages(pages, found.extend)
        return found

    pages = [[{"name": "a"}], [{"name": "b"}], [{"name": "c"}]]
    with pytest.raises(BadResponse, match="repeated a next_link cursor"):
        collect(zip(pages, ["x", "y", "x"], strict=True))
    done = collect(zip(pages, ["x", "y", None], strict=True))
    assert [r["name"] for r in done] == ["a", "b", "c"]
    with pytest.raises(BadResponse, match="added no new routines"):
        collect(zip([[{"name": "a"}], [{"name": "a"}]], ["x", "y"], strict=True))
    given: list[list[str]] = []
    walk_pages(
        zip(
            [[{"name": "a"}, {"name": "b"}], [{"name": "b"}, {"name": "c"}]],
            ["x", None],
            strict=True,
        ),
        lambda p: given.append([r["name"] for r in p]),
    )
    assert given == [["a", "b"], ["c"]]  # each page's new routines only
