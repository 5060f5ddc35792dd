"""Emulator fidelity, through the real azure-ai-projects SDK: run ``status`` is the MLflow
status, ``list_runs`` filters are MLflow's attribute subset, read-only fields a client echoes in a
PUT are ignored whatever their type, and a dispatch input over 32,768 characters is a 400."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from azure.ai.projects.models import InvokeAgentResponsesApiDispatchPayload
from azure.core.exceptions import HttpResponseError

from reconciler.emulator import Emulator
from tests.emulator_fixtures import (
    FROZEN_START,
    HTTP,
    admin,
    frozen_emulator,
    raw,
    sdk_routines,
)

ACTION = {"type": "invoke_agent_responses_api", "agent_name": "triage"}
DAILY = {"daily": {"type": "schedule", "cron_expression": "0 7 * * *", "time_zone": "UTC"}}
START_MS = int(FROZEN_START) * 1000


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    """A running emulator whose clock moves only when a test advances it."""
    with frozen_emulator(tmp_path / "emu.db") as running:
        yield running


@pytest.fixture
def routines(emu: Emulator) -> Iterator[Any]:
    """``client.beta.routines`` of the real SDK against the emulator."""
    with sdk_routines(emu) as found:
        yield found


def dispatch_at(routines: Any, emu: Emulator, seconds: list[float]) -> list[str]:
    """One dispatch of routine ``r`` after each clock advance, then 10 s more, so that every
    run completed (each starts 1 s after its dispatch and ends 2 s later); the run ids,
    oldest first."""
    routines.create_or_update("r", {"triggers": DAILY, "action": ACTION}, **HTTP)
    dispatched = []
    for step in seconds:
        admin(emu.url, "POST", "clock/advance", {"seconds": step})
        dispatched.append(routines.dispatch("r", **HTTP).dispatch_id)
    admin(emu.url, "POST", "clock/advance", {"seconds": 10})
    runs = {run.dispatch_id: run.id for run in routines.list_runs("r", **HTTP)}
    return [runs[dispatch_id] for dispatch_id in dispatched]


def filtered(routines: Any, expression: str) -> list[str]:
    """The ids of ``r``'s runs a filter keeps, oldest first."""
    return [run.id for run in routines.list_runs("r", filter=expression, order="asc", **HTTP)]


# --- status ---------------------------------------------------------------------------------


def test_a_run_has_the_mlflow_status_beside_its_phase(routines: Any, emu: Emulator) -> None:
    dispatch_at(routines, emu, [0])
    (run,) = routines.list_runs("r", **HTTP)
    assert (run.status, run.phase) == ("FINISHED", "completed")
    assert str(run.status).lower() == "finished"  # what the SDK samples wait for


# --- the MLflow filter subset ---------------------------------------------------------------


def test_time_comparisons_are_in_milliseconds(routines: Any, emu: Emulator) -> None:
    # dispatched at +10, +20, +30 s: started 1 s later, ended 2 s after that
    first, second, third = dispatch_at(routines, emu, [10, 10, 10])
    assert filtered(routines, f"attributes.start_time > {START_MS + 15_000}") == [second, third]
    assert filtered(routines, f"attributes.start_time < {START_MS + 15_000}") == [first]
    assert filtered(routines, f"attributes.start_time >= {START_MS + 21_000}") == [second, third]
    assert filtered(routines, f"attributes.end_time <= {START_MS + 23_000}") == [first, second]
    assert filtered(routines, f"attributes.start_time = {START_MS + 31_000}") == [third]
    assert filtered(routines, f"attributes.start_time != {START_MS + 31_000}") == [first, second]
    # seconds are not milliseconds: every run started after this many milliseconds
    assert filtered(routines, f"attributes.start_time > {int(FROZEN_START) + 15}") == [
        first,
        second,
        third,
    ]


def test_strings_and_and(routines: Any, emu: Emulator) -> None:
    first, second = dispatch_at(routines, emu, [10, 10])
    assert filtered(routines, "attributes.status = 'FINISHED'") == [first, second]
    assert filtered(routines, 'status = "FINISHED"') == [first, second]
    assert filtered(routines, "attributes.status != 'FINISHED'") == []
    assert filtered(routines, "attributes.status = 'FAILED'") == []
    assert filtered(routines, f"attributes.run_id = '{second}'") == [second]
    both = f"attributes.status = 'FINISHED' and attributes.start_time < {START_MS + 15_000}"
    assert filtered(routines, both) == [first]
    assert filtered(routines, both.replace(" and ", " AND ")) == [first]


def test_a_filter_applies_before_paging(routines: Any, emu: Emulator) -> None:
    oldest, *_ = dispatch_at(routines, emu, [10, 10, 10, 10])
    expression = f"attributes.start_time < {START_MS + 15_000}"
    query = f"api-version=v1&limit=1&filter={quote(expression)}"
    page = raw("GET", f"{emu.endpoint()}/routines/r/runs?{query}")
    assert page.status == 200
    assert [run["id"] for run in page.body["data"]] == [oldest]  # newest first, yet not empty
    assert page.body["next_link"] is None
    assert [run.id for run in routines.list_runs("r", filter=expression, limit=1, **HTTP)] == [
        oldest
    ]


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("metrics.accuracy > 0.9", "a routine run has no metrics"),
        ("tags.team = 'x'", "a routine run has no tags"),
        ("attributes.status = 'FINISHED' OR attributes.status = 'FAILED'", "OR is not supported"),
        ("attributes.status LIKE 'FIN%'", "comparator LIKE is not supported"),
        ("attributes.run_name = 'x'", "attribute 'run_name' is not supported"),
        ("attempt_source = 'manual_dispatch'", "attribute 'attempt_source' is not supported"),
        ("attributes.status > 'A'", "compare it with = or !="),
        ("attributes.start_time > '5'", "compare it with a number"),
        ("attributes.status = FINISHED", "quote the value"),
        ("(attributes.status = 'FINISHED')", "unexpected character '('"),
        ("attributes.status = 'FINISHED' AND", "a comparison is missing"),
    ],
)
def test_a_filter_outside_the_subset_is_a_clear_400(
    routines: Any, emu: Emulator, expression: str, named: str
) -> None:
    dispatch_at(routines, emu, [0])
    with pytest.raises(HttpResponseError) as caught:
        list(routines.list_runs("r", filter=expression, **HTTP))
    assert caught.value.status_code == 400
    assert named in str(caught.value.message)
    answer = raw(
        "GET", f"{emu.endpoint()}/routines/r/runs?api-version=v1&filter={quote(expression)}"
    )
    assert (answer.status, answer.error["param"]) == (400, "filter")
    assert answer.error["message"].startswith(f"filter {expression!r}: ")


# --- read-only fields in a PUT --------------------------------------------------------------


@pytest.mark.parametrize(
    "echoed",
    ["2030-01-01T00:02:30Z", None, True, 1.5, {"seconds": 1}, [1], 10**30],
    ids=["rfc3339", "null", "bool", "float", "object", "list", "huge"],
)
def test_read_only_fields_of_any_type_are_ignored(
    routines: Any, emu: Emulator, echoed: object
) -> None:
    created = routines.create_or_update("r", {"triggers": DAILY, "action": ACTION}, **HTTP)
    admin(emu.url, "POST", "clock/advance", {"seconds": 60})
    fetched = raw("GET", f"{emu.endpoint()}/routines/r?api-version=v1").body
    sent = {**fetched, "description": "edited", "created_at": echoed, "updated_at": echoed}
    updated = routines.create_or_update("r", sent, **HTTP)  # azd's GET-then-PUT
    assert updated.description == "edited"
    assert updated.created_at == created.created_at
    assert updated.updated_at.timestamp() == FROZEN_START + 60


def test_other_fields_are_still_checked(emu: Emulator) -> None:
    bad = {"triggers": DAILY, "action": ACTION, "created_at": "now", "enabled": "yes"}
    refused = raw("PUT", f"{emu.endpoint()}/routines/r?api-version=v1", bad)
    assert (refused.status, refused.error["param"]) == (400, "enabled")


# --- the dispatch input limit ---------------------------------------------------------------


def test_a_dispatch_input_over_32768_characters_is_a_400(routines: Any) -> None:
    routines.create_or_update("r", {"triggers": DAILY, "action": ACTION}, **HTTP)
    at_limit = InvokeAgentResponsesApiDispatchPayload(input="x" * 32_768)
    assert routines.dispatch("r", payload=at_limit, **HTTP).dispatch_id
    over = InvokeAgentResponsesApiDispatchPayload(input="é" * 32_769)
    with pytest.raises(HttpResponseError) as caught:
        routines.dispatch("r", payload=over, **HTTP)
    assert caught.value.status_code == 400
    assert "payload input is 32,769 characters" in str(caught.value.message)
    assert len(list(routines.list_runs("r", **HTTP))) == 1  # the refused dispatch left no run


def test_a_structured_input_counts_its_json_text(routines: Any, emu: Emulator) -> None:
    routines.create_or_update("r", {"triggers": DAILY, "action": ACTION}, **HTTP)
    url = f"{emu.endpoint()}/routines/r:dispatch_async?api-version=v1"
    fits = {"payload": {"type": ACTION["type"], "input": {"text": "x" * 32_000}}}
    assert raw("POST", url, fits).status == 200
    over = {"payload": {"type": ACTION["type"], "input": ["x" * 16_400, "y" * 16_400]}}
    refused = raw("POST", url, over)
    assert (refused.status, refused.error["param"]) == (400, "payload.input")
