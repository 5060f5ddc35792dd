"""JSON nested deeper than ``JSON_DEPTH_MAX`` is refused with a message naming the limit: a 400
from the emulator (events, routine PUTs), a 400 from the embedded project, one line and exit 1
from the CLI; never a RecursionError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.contract.limits import JSON_DEPTH_MAX
from reconciler.contract.nesting import text_too_deep, value_too_deep
from reconciler.emulator import Emulator
from reconciler.service import RoutineStore, ServiceError
from tests.conftest import run_cli
from tests.emulator_fixtures import TOKEN, raw

LIMIT = f"deeper than {JSON_DEPTH_MAX} levels (the limit)"
EVENT = {"type": "custom", "provider": "p", "event_name": "e"}


def nested(levels: int) -> str:
    """``levels`` arrays, one inside the other."""
    return "[" * levels + "]" * levels


def routine(input_text: str) -> str:
    """A routine PUT body (two levels: the body and its action) with ``input_text`` as input."""
    body = {
        "triggers": {"t": {"type": "schedule", "cron_expression": "0 7 * * *", "time_zone": "UTC"}},
        "action": {"type": "invoke_agent_responses_api", "agent_name": "a", "input": "X"},
    }
    return json.dumps(body).replace('"X"', input_text)


def test_the_text_is_measured_outside_strings() -> None:
    assert not text_too_deep(nested(JSON_DEPTH_MAX))
    assert text_too_deep(nested(JSON_DEPTH_MAX + 1))
    assert not text_too_deep(json.dumps(["[{" * 500, {"a": '\\"[[[['}]))
    assert text_too_deep('{"a": "x\\"", "b": ' + nested(JSON_DEPTH_MAX) + "}")
    assert not text_too_deep("[]" * 100_000)
    assert value_too_deep(json.loads(nested(JSON_DEPTH_MAX + 1)))
    assert not value_too_deep(json.loads(nested(JSON_DEPTH_MAX)))
    assert not value_too_deep("text")


def post(url: str, method: str, text: str) -> Any:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    return raw(method, url, headers=headers, data=text.encode())


def test_the_emulator_refuses_deep_bodies_with_a_400(tmp_path: Path) -> None:
    deep = json.dumps(EVENT)[:-1] + ', "payload": {"a": ' + nested(2000) + "}}"
    with Emulator(tmp_path / "emu.db") as emu:
        event = post(f"{emu.url}/_emulator/events", "POST", deep)
        put = post(f"{emu.endpoint()}/routines/r?api-version=v1", "PUT", routine(nested(2000)))
        edge = post(f"{emu.endpoint()}/routines/r?api-version=v1", "PUT", routine(nested(62)))
        over = post(f"{emu.endpoint()}/routines/r?api-version=v1", "PUT", routine(nested(63)))
    for refused in (event, put, over):
        assert refused.status == 400, refused.body
        assert refused.error["code"] == "invalid_json"
        assert refused.error["message"] == f"the request body nests arrays and objects {LIMIT}"
    assert edge.status == 200, edge.body


def test_the_embedded_project_refuses_deep_data(tmp_path: Path) -> None:
    store = RoutineStore(str(tmp_path / "p.db"))
    deep = json.loads(nested(JSON_DEPTH_MAX))
    with pytest.raises(ServiceError) as event:
        store.fire_event("_project", {**EVENT, "payload": {"a": deep}})
    with pytest.raises(ServiceError) as put:
        store.put("_project", "r", json.loads(routine(nested(JSON_DEPTH_MAX))))
    store.put("_project", "ok", json.loads(routine('"hello"')))
    payload = {"type": "invoke_agent_responses_api", "input": deep}
    with pytest.raises(ServiceError) as dispatch:
        store.dispatch("_project", "ok", payload)
    refused = (event.value, put.value, dispatch.value)
    assert [e.status for e in refused] == [400, 400, 400]
    assert all(LIMIT in e.message for e in refused), refused


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("emulator", "--fire-event", "@deep.json", "--db", "e.db"),
         f"error: Invalid value for --fire-event: file deep.json nests arrays and objects {LIMIT}"),
        (("dispatch", "r", "--input", "@deep.json", "--endpoint", "local:e.db"),
         f"error: --input file deep.json nests arrays and objects {LIMIT}"),
    ],
)  # fmt: skip
def test_the_cli_refuses_deep_json_in_one_line(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    (tmp_path / "deep.json").write_text(json.dumps(EVENT)[:-1] + ', "payload": ' + nested(2000))
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == expected
    assert "RecursionError" not in done.stderr and "Traceback" not in done.stderr
