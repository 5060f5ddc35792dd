"""The emulator as a slow, failing or hostile service, and the tiny hostile test servers.

Each fault kind is driven with plain ``http.client`` (exact bytes and headers) and, where the
client's reaction matters, with the real SDK. Intervals are short so the module stays fast.
"""

from __future__ import annotations

import http.client
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from azure.ai.projects import AIProjectClient
from azure.core.exceptions import DecodeError, HttpResponseError, ServiceResponseError
from click.testing import CliRunner

from reconciler.cli import emulator as emulator_cli
from reconciler.emulator import Emulator, FaultConfig
from tests.emulator_fixtures import (
    HTTP,
    TOKEN,
    StaticToken,
    admin,
    frozen_emulator,
    raw,
    sdk_routines,
)
from tests.hostile_servers import http_response, silent_server, trickle_server

PROJECT = "/api/projects/_project"
JSON_TYPE = "application/json; charset=utf-8"
ROUTINE = {
    "triggers": {"t": {"type": "schedule", "cron_expression": "0 7 * * *", "time_zone": "UTC"}},
    "action": {"type": "invoke_agent_responses_api", "agent_name": "agent"},
}


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    """A running emulator with a frozen clock."""
    with frozen_emulator(tmp_path / "emu.db") as running:
        yield running


@pytest.fixture
def routines(emu: Emulator) -> Iterator[Any]:
    """``client.beta.routines`` of the real SDK, without retries."""
    with sdk_routines(emu) as found:
        yield found


def set_faults(emu: Emulator, **config: Any) -> dict[str, Any]:
    """Replace the fault configuration; returns what the emulator now reports."""
    return dict(admin(emu.url, "PUT", "faults", config))


def injected(emu: Emulator) -> dict[str, int]:
    """The injected-fault counters."""
    return dict(admin(emu.url, "GET", "counters")["faults"])


def exchange(
    emu: Emulator, method: str, target: str, body: Any = None, *, timeout: float = 5.0
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection: status, headers (lower-case) and the exact body."""
    if not target.startswith("http"):
        target = f"{PROJECT}{target}{'&' if '?' in target else '?'}api-version=v1"
    split = urlsplit(target)
    path = f"{split.path}?{split.query}" if split.query else split.path
    headers = {"Authorization": f"Bearer {TOKEN}"}
    data = None if body is None else json.dumps(body).encode("utf-8")
    if data is not None:
        headers["Content-Type"] = "application/json"
    connection = http.client.HTTPConnection(emu.host, emu.port, timeout=timeout)
    try:
        connection.request(method, path, data, headers)
        response = connection.getresponse()
        found = {key.lower(): value for key, value in response.getheaders()}
        return response.status, found, response.read()
    finally:
        connection.close()


def page(emu: Emulator, target: str) -> dict[str, Any]:
    """A list page as JSON (asserting a 200)."""
    status, _, data = exchange(emu, "GET", target)
    assert status == 200, data
    return dict(json.loads(data))


def put(emu: Emulator, *names: str) -> None:
    """Create routines (raw, so no SDK retries blur the counters)."""
    for name in names:
        assert raw("PUT", f"{emu.endpoint()}/routines/{name}?api-version=v1", ROUTINE).status == 200


def wait_for(predicate: Any, timeout: float = 3.0) -> None:
    """Poll ``predicate()`` until it is true (fails after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


# --- the JSON form ----------------------------------------------------------------------------


def test_new_keys_have_harmless_defaults_and_old_keys_are_unchanged(emu: Emulator) -> None:
    assert admin(emu.url, "GET", "faults") == {
        "latency_ms": 0.0,
        "rate_429": 0.0,
        "rate_500": 0.0,
        "rate_503": 0.0,
        "drop_rate": 0.0,
        "rate_bad_body": 0.0,
        "rate_hang": 0.0,
        "rate_trickle": 0.0,
        "drop_mode": "before",
        "retry_after": 1,
        "methods": [],
        "seed": None,
        "bad_body": "any",
        "trickle_interval": 1.0,
        "list_mode": "normal",
        "script": [],
    }
    config = set_faults(emu, script=[{"fault": "429"}, {"fault": "html", "status": 502}])
    old, new = config["script"]
    assert set(old) == {"fault", "count", "method", "route", "retry_after", "message", "param"}
    assert new["status"] == 502
    assert FaultConfig.from_json(config).to_json() == config


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"bogus": 1}, "unknown fault configuration field(s): bogus"),
        ({"drop_mode": "sometimes"}, "drop_mode must be one of before, after, random"),
        ({"list_mode": "loop"}, "list_mode must be one of normal, repeat_cursor, endless"),
        ({"bad_body": "xml"}, "bad_body must be one of"),
        ({"trickle_interval": 0}, "trickle_interval must be more than 0"),
        ({"rate_hang": 0.6, "rate_trickle": 0.6}, "must not exceed 1"),
        ({"script": [{"fault": "429", "status": 502}]}, "script.status applies only to"),
        ({"script": [{"fault": "html", "status": 204}]}, "script.status must be from 200"),
        ({"script": [{"fault": "slow"}]}, "script.fault must be one of"),
        ({"script": [{"fault": "hang", "bogus": 1}]}, "unknown script step field(s): bogus"),
    ],
)
def test_bad_configurations_are_refused_clearly(bad: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        FaultConfig.from_json(bad)


def test_the_admin_api_refuses_a_bad_configuration(emu: Emulator) -> None:
    response = raw("PUT", f"{emu.url}/_emulator/faults", {"list_mode": "loop"}, auth=False)
    assert response.status == 400
    assert response.error["code"] == "invalid_fault_config"
    assert "list_mode must be one of normal, repeat_cursor, endless" in response.error["message"]
    assert admin(emu.url, "GET", "faults")["list_mode"] == "normal"


def test_cli_flags_reach_the_fault_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[dict[str, Any]] = []

    def fake_emulator(db: str, **kwargs: Any) -> dict[str, Any]:
        built.append(kwargs)
        return kwargs

    monkeypatch.setattr(emulator_cli, "Emulator", fake_emulator)
    monkeypatch.setattr(emulator_cli, "_serve", lambda _server: None)
    flags = "--drop-rate 0.1 --drop-mode random --rate-bad-body 0.2 --bad-body html"
    flags += " --rate-hang 0.05 --rate-trickle 0.1 --trickle-interval 0.5 --list-mode endless"
    done = CliRunner().invoke(emulator_cli.emulator, flags.split())
    assert done.exit_code == 0, done.output
    assert built[0]["faults"] == FaultConfig(
        drop_rate=0.1,
        drop_mode="random",
        rate_bad_body=0.2,
        bad_body="html",
        rate_hang=0.05,
        rate_trickle=0.1,
        trickle_interval=0.5,
        list_mode="endless",
    )
    refused = CliRunner().invoke(emulator_cli.emulator, ["--list-mode", "loop"])
    assert refused.exit_code == 2
    assert "repeat_cursor" in refused.output


# --- drop_mode random -------------------------------------------------------------------------


def _random_drops(db: Path, seed: int) -> tuple[dict[str, int], list[str]]:
    """16 PUTs that are all dropped: the injected counts and the names that committed."""
    config = FaultConfig(drop_rate=1.0, drop_mode="random", seed=seed, methods=("PUT",))
    with Emulator(db, faults=config) as emu:
        for index in range(16):
            with pytest.raises((http.client.HTTPException, OSError)):
                exchange(emu, "PUT", f"/routines/d{index}", ROUTINE)
        listed = page(emu, "/routines?limit=100")["data"]
        return injected(emu), sorted(item["name"] for item in listed)


def test_random_drop_mode_drops_before_and_after_the_commit(tmp_path: Path) -> None:
    counts, committed = _random_drops(tmp_path / "a.db", seed=5)
    assert counts["drop_before"] + counts["drop_after"] == 16
    assert counts["drop_before"] >= 1
    assert counts["drop_after"] >= 1
    assert len(committed) == counts["drop_after"]
    assert _random_drops(tmp_path / "b.db", seed=5) == (counts, committed)


# --- bad bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "method", "target", "status", "content_type", "body"),
    [
        ({"fault": "bad_json"}, "GET", "/routines", 200, JSON_TYPE, b'{"data": ['),
        (
            {"fault": "html", "status": 502},
            "GET",
            "/routines",
            502,
            "text/html",
            b"<html><body>Bad gateway</body></html>",
        ),
        ({"fault": "empty"}, "GET", "/routines/r", 200, JSON_TYPE, b""),
        (
            {"fault": "wrong_shape"},
            "GET",
            "/routines",
            200,
            JSON_TYPE,
            b'{"data": ["a", "b"], "next_link": null}',
        ),
        ({"fault": "wrong_shape"}, "GET", "/routines/r", 200, JSON_TYPE, b'"just a string"'),
        ({"fault": "wrong_shape"}, "POST", "/routines/r:dispatch_async", 200, JSON_TYPE, b"[1, 2]"),
    ],
)
def test_bad_bodies_are_sent_byte_for_byte(
    emu: Emulator,
    step: dict[str, Any],
    method: str,
    target: str,
    status: int,
    content_type: str,
    body: bytes,
) -> None:
    set_faults(emu, script=[step])
    got_status, headers, data = exchange(emu, method, target)
    assert (got_status, headers["content-type"], data) == (status, content_type, body)
    assert headers["content-length"] == str(len(body))
    assert headers["x-ms-request-id"]
    assert injected(emu)[step["fault"]] == 1
    assert exchange(emu, "GET", "/routines")[0] == 200  # the script step is used up


def test_a_bad_body_answer_did_not_process_the_request(emu: Emulator) -> None:
    set_faults(emu, script=[{"fault": "wrong_shape", "method": "PUT"}])
    assert exchange(emu, "PUT", "/routines/r", ROUTINE)[2] == b'"just a string"'
    assert exchange(emu, "GET", "/routines/r")[0] == 404


def test_what_the_sdk_makes_of_bad_bodies(emu: Emulator, routines: Any) -> None:
    put(emu, "r")
    set_faults(emu, script=[{"fault": "bad_json"}])
    with pytest.raises(DecodeError):
        routines.get("r", **HTTP)
    for kind in ("html", "empty"):
        set_faults(emu, script=[{"fault": kind}])
        with pytest.raises(ValueError, match="Expecting value"):  # json.JSONDecodeError
            list(routines.list(**HTTP))
    set_faults(emu, script=[{"fault": "wrong_shape"}, {"fault": "wrong_shape"}])
    assert list(routines.list(**HTTP)) == ["a", "b"]  # the SDK passes a wrong shape through
    assert routines.get("r", **HTTP) == "just a string"


def test_an_html_502_is_retried_by_the_sdk(emu: Emulator, routines: Any) -> None:
    set_faults(emu, script=[{"fault": "html", "status": 502}])
    with pytest.raises(HttpResponseError) as caught:
        list(routines.list(**HTTP))
    assert caught.value.status_code == 502
    set_faults(emu, script=[{"fault": "html", "status": 502}])
    assert list(routines.list(retry_total=1, retry_backoff_factor=0.01, **HTTP)) == []
    assert admin(emu.url, "GET", "counters")["routes"]["GET /routines"] == 3


def test_bad_body_rates_are_seeded(emu: Emulator) -> None:
    set_faults(emu, rate_bad_body=1.0, bad_body="html")
    assert exchange(emu, "GET", "/routines")[1]["content-type"] == "text/html"
    set_faults(emu, rate_bad_body=1.0, seed=3)
    for _ in range(20):
        exchange(emu, "GET", "/routines")
    counts = injected(emu)
    kinds = ("bad_json", "html", "empty", "wrong_shape")
    assert sum(counts[kind] for kind in kinds) == 21
    assert sum(1 for kind in kinds if counts[kind]) >= 3


# --- hang -------------------------------------------------------------------------------------


def test_a_hung_request_times_out_the_client(emu: Emulator, routines: Any) -> None:
    set_faults(emu, script=[{"fault": "hang", "count": 2}])
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        exchange(emu, "GET", "/routines", timeout=1.0)
    assert 0.9 <= time.monotonic() - started < 3
    with pytest.raises(ServiceResponseError):
        routines.get("r", read_timeout=0.5, **HTTP)
    assert injected(emu)["hang"] == 2


def test_a_hang_ends_when_the_client_hangs_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Emulator(tmp_path / "emu.db", verbose=True) as emu:
        set_faults(emu, script=[{"fault": "hang"}])
        with pytest.raises(TimeoutError):
            exchange(emu, "GET", "/routines", timeout=0.2)
        seen: list[str] = []

        def logged() -> bool:
            seen.append(capsys.readouterr().err)
            return "GET /api/projects/_project/routines hung" in "".join(seen)

        wait_for(logged)


def test_stop_returns_quickly_while_a_request_hangs(tmp_path: Path) -> None:
    emu = Emulator(tmp_path / "emu.db", faults=FaultConfig(rate_hang=1.0)).start()
    outcome: list[BaseException] = []

    def client() -> None:
        try:
            exchange(emu, "GET", "/routines", timeout=10)
        except (http.client.HTTPException, OSError) as err:
            outcome.append(err)

    thread = threading.Thread(target=client)
    thread.start()
    try:
        wait_for(lambda: injected(emu)["hang"] == 1)
    finally:
        started = time.monotonic()
        emu.stop()
        stopped = time.monotonic() - started
        thread.join(5)
    assert stopped < 5
    assert not thread.is_alive()
    assert len(outcome) == 1
    assert not isinstance(outcome[0], TimeoutError)  # the emulator closed it, not the timeout


# --- trickle ----------------------------------------------------------------------------------


def _request_bytes(path: str) -> bytes:
    return (
        f"GET {PROJECT}{path}?api-version=v1 HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {TOKEN}\r\n\r\n"
    ).encode("ascii")


def _read_spaced(sock: socket.socket, count: int) -> tuple[bytes, list[float]]:
    """Read ``count`` bytes as they come: the bytes and how long after the call each read ended.

    The sender's spacing is a lower bound on these times; a busy test machine can only make a
    read end later (and then return more than one byte), never earlier.
    """
    data, times, started = b"", [], time.monotonic()
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        assert chunk, "the connection closed early"
        data += chunk
        times.append(time.monotonic() - started)
    return data, times


def _read_to_the_end(sock: socket.socket) -> bytes:
    """Everything until the peer closes (a reset counts as the end)."""
    data = b""
    try:
        while chunk := sock.recv(1024):
            data += chunk
    except ConnectionError:
        pass
    return data


def test_a_trickled_answer_arrives_one_byte_per_interval_and_stops_with_the_emulator(
    tmp_path: Path,
) -> None:
    config = FaultConfig(rate_trickle=1.0, trickle_interval=0.05)
    emu = Emulator(tmp_path / "emu.db", faults=config).start()
    try:
        with socket.create_connection((emu.host, emu.port), timeout=2) as sock:
            sock.sendall(_request_bytes("/routines"))
            data, times = _read_spaced(sock, 6)
            assert data == b"HTTP/1"  # the status line and headers trickle too
            assert times[-1] >= 5 * 0.05 * 0.95  # 6 bytes: 5 intervals at least
            assert len(times) >= 3, times  # they came in separate reads
            started = time.monotonic()
            emu.stop()
            assert time.monotonic() - started < 5
            assert len(_read_to_the_end(sock)) < 5  # the emulator stopped trickling and closed
    finally:
        emu.stop()


def test_a_trickled_answer_is_correct_and_outlasts_a_per_read_timeout(
    emu: Emulator, routines: Any
) -> None:
    put(emu, "r")
    set_faults(emu, script=[{"fault": "trickle"}], trickle_interval=0.001)
    started = time.monotonic()
    assert routines.get("r", read_timeout=0.2, **HTTP).name == "r"
    assert time.monotonic() - started > 0.3
    assert injected(emu)["trickle"] == 1


# --- list modes -------------------------------------------------------------------------------


def test_repeat_cursor_links_page_two_to_itself(emu: Emulator, routines: Any) -> None:
    put(emu, "r0", "r1", "r2")
    set_faults(emu, list_mode="repeat_cursor")
    first = page(emu, "/routines?limit=2")
    second = page(emu, first["next_link"])
    assert second["next_link"] == first["next_link"]
    assert second["has_more"] is True
    assert [item["name"] for item in second["data"]] == ["r2"]
    pages = itertools.islice(routines.list(limit=2, **HTTP).by_page(), 6)
    names = [[item.name for item in one] for one in pages]
    assert names == [["r0", "r1"], *[["r2"]] * 5]  # a naive pager never ends
    assert injected(emu)["repeat_cursor"] == 8


def test_repeat_cursor_on_a_single_page_and_on_runs(emu: Emulator) -> None:
    put(emu, "r0")
    for _ in range(2):
        assert (
            raw("POST", f"{emu.endpoint()}/routines/r0:dispatch_async?api-version=v1").status == 200
        )
    set_faults(emu, list_mode="repeat_cursor")
    only = page(emu, "/routines")
    assert "after=" not in only["next_link"]
    assert page(emu, only["next_link"])["next_link"] == only["next_link"]
    first = page(emu, "/routines/r0/runs?limit=1")
    assert page(emu, first["next_link"])["next_link"] == first["next_link"]


def test_endless_pages_are_new_routines_forever(emu: Emulator, routines: Any) -> None:
    set_faults(emu, list_mode="endless")
    target, names, links = "/routines?limit=4", [], []
    for _ in range(5):
        found = page(emu, target)
        names += [item["name"] for item in found["data"]]
        target = found["next_link"]
        links.append(target)
    assert len(set(names)) == 20
    assert len(set(links)) == 5
    items = list(itertools.islice(routines.list(limit=5, **HTTP), 25))
    assert len({item.name for item in items}) == 25
    assert {item.triggers["daily"].type for item in items} == {"schedule"}
    assert injected(emu)["endless"] == 10
    set_faults(emu)
    assert page(emu, "/routines")["data"] == []  # nothing was stored


def test_endless_runs_and_the_limit_rule(emu: Emulator, routines: Any) -> None:
    set_faults(emu, list_mode="endless")
    runs = list(itertools.islice(routines.list_runs("anyone", limit=3, **HTTP), 15))
    assert len({run.id for run in runs}) == 15
    status, _, data = exchange(emu, "GET", "/routines?limit=101")
    assert status == 400
    assert json.loads(data)["error"]["param"] == "limit"


# --- the tiny hostile servers -----------------------------------------------------------------


def test_silent_server_times_out_clients_and_leaks_nothing() -> None:
    before = set(threading.enumerate())
    with silent_server() as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=0.3)
        try:
            connection.request("GET", "/")
            with pytest.raises(TimeoutError):
                connection.getresponse()
        finally:
            connection.close()
        endpoint = f"http://127.0.0.1:{port}/api/projects/p"
        sdk = AIProjectClient(endpoint=endpoint, credential=StaticToken(), retry_total=0)
        with sdk, pytest.raises(ServiceResponseError):
            sdk.beta.routines.get("r", read_timeout=0.3, **HTTP)
    assert set(threading.enumerate()) <= before


def test_trickle_server_spaces_bytes_and_exits_mid_answer() -> None:
    before = set(threading.enumerate())
    answer = http_response(b'{"ok": true}')
    with (
        trickle_server(answer, 0.05) as port,
        socket.create_connection(("127.0.0.1", port)) as sock,
    ):
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data, times = _read_spaced(sock, 4)
        assert data == b"HTTP"
        assert times[-1] >= 3 * 0.05 * 0.95
        assert len(times) >= 2, times
    assert set(threading.enumerate()) <= before
    with trickle_server(answer, 0.001) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=0.2)
        try:
            connection.request("PUT", "/", b'{"x": 1}', {"Content-Type": "application/json"})
            response = connection.getresponse()
            assert (response.status, response.read()) == (200, b'{"ok": true}')
        finally:
            connection.close()
    assert set(threading.enumerate()) <= before
