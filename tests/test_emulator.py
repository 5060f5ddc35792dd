"""The emulator, driven by the real azure-ai-projects SDK (and raw HTTP for malformed input).

Every test runs its own emulator in-process on a free port over a temp SQLite file. The emulated
clock is frozen (speed 0) at ``FROZEN_START`` unless a test says otherwise, so schedule firings
happen only when a test advances the clock.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.ai.projects import AIProjectClient
from azure.ai.projects.models import (
    InvokeAgentInvocationsApiRoutineAction,
    InvokeAgentResponsesApiDispatchPayload,
    InvokeAgentResponsesApiRoutineAction,
    RoutineAuthorization,
    ScheduleRoutineTrigger,
    TimerRoutineTrigger,
)
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from reconciler.emulator import EmulatedClock, Emulator, FaultConfig
from tests.emulator_fixtures import FROZEN_START, HTTP, TOKEN, StaticToken, admin, raw

REPO = Path(__file__).resolve().parent.parent
AGENT_ACTION = {"type": "invoke_agent_responses_api", "agent_name": "triage"}
DAILY = {"daily": {"type": "schedule", "cron_expression": "0 7 * * *", "time_zone": "UTC"}}


def body(**overrides: Any) -> dict[str, Any]:
    """A valid plain-dict PUT body."""
    return {"triggers": DAILY, "action": AGENT_ACTION, **overrides}


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    """A running emulator with a frozen clock."""
    with Emulator(tmp_path / "emu.db", clock=EmulatedClock(FROZEN_START, speed=0)) as running:
        yield running


@pytest.fixture
def client(emu: Emulator) -> Iterator[AIProjectClient]:
    """The real SDK client against the emulator (quick retries keep fault tests fast)."""
    with AIProjectClient(
        endpoint=emu.endpoint(),
        credential=StaticToken(),
        retry_total=3,
        retry_backoff_factor=0.01,
    ) as project:
        yield project


@pytest.fixture
def routines(client: AIProjectClient) -> Any:
    """``client.beta.routines``."""
    return client.beta.routines


def url(emu: Emulator, path: str = "", query: str = "api-version=v1") -> str:
    """An absolute URL under the project endpoint."""
    return f"{emu.endpoint()}{path}?{query}" if query else f"{emu.endpoint()}{path}"


def set_faults(emu: Emulator, **config: Any) -> None:
    """Replace the fault configuration through the admin API."""
    admin(emu.url, "PUT", "faults", config)


def counters(emu: Emulator) -> dict[str, Any]:
    """The admin counters."""
    return dict(admin(emu.url, "GET", "counters"))


# --- the SDK's happy paths ------------------------------------------------------------------


def test_create_with_typed_models_and_get(routines: Any, emu: Emulator) -> None:
    created = routines.create_or_update(
        "nightly",
        description="nightly triage",
        triggers={"t": ScheduleRoutineTrigger(cron_expression="0 2 * * *", time_zone="UTC")},
        action=InvokeAgentResponsesApiRoutineAction(
            agent_name="triage", input={"q": 1}, conversation="c1"
        ),
        authorization=RoutineAuthorization(identity="creator"),
        **HTTP,
    )
    assert created.name == "nightly"
    assert created.enabled is True
    assert created.created_at == dt.datetime.fromtimestamp(int(FROZEN_START), dt.UTC)
    got = routines.get("nightly", **HTTP)
    assert got.as_dict() == created.as_dict()
    assert got.triggers["t"].cron_expression == "0 2 * * *"
    assert got.action.conversation == "c1"
    assert got.action.input == {"q": 1}
    assert "authorization" not in got.as_dict()
    assert emu.state.store.authorization_of("_project", "nightly") == "creator"


def test_create_with_invocations_action_and_timer_model(routines: Any) -> None:
    at = dt.datetime(2030, 6, 1, 9, 0, tzinfo=dt.UTC)
    created = routines.create_or_update(
        "once",
        triggers={"t": TimerRoutineTrigger(at=at)},
        action=InvokeAgentInvocationsApiRoutineAction(agent_endpoint_id="ep-1", session_id="s"),
        **HTTP,
    )
    assert created.triggers["t"].at == at
    assert created.action.type == "invoke_agent_invocations_api"
    assert created.action.session_id == "s"


def test_create_with_plain_dict_body(routines: Any) -> None:
    created = routines.create_or_update("plain", body(description="d", enabled=False), **HTTP)
    assert created.description == "d"
    assert created.enabled is False
    assert created.action.agent_name == "triage"


def test_get_missing_raises_resource_not_found(routines: Any) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        routines.get("absent", **HTTP)
    assert caught.value.status_code == 404
    assert caught.value.error is not None
    assert caught.value.error.code == "not_found"


def test_update_is_full_replace_and_keeps_authorization(routines: Any, emu: Emulator) -> None:
    routines.create_or_update(
        "r",
        body(
            description="first",
            action={**AGENT_ACTION, "conversation": "c"},
            authorization={"identity": "creator"},
        ),
        **HTTP,
    )
    updated = routines.create_or_update("r", body(authorization={"identity": "agent"}), **HTTP)
    assert updated.description == ""
    assert updated.enabled is True
    assert "conversation" not in updated.action.as_dict()
    assert emu.state.store.authorization_of("_project", "r") == "creator"


def test_list_pages_follow_next_link(routines: Any, emu: Emulator) -> None:
    names = [f"r{index}" for index in range(7)]
    for name in names:
        routines.create_or_update(name, body(), **HTTP)
    admin(emu.url, "POST", "counters/reset")
    assert [r.name for r in routines.list(limit=2, **HTTP)] == names
    assert counters(emu)["routes"]["GET /routines"] == 4
    assert [r.name for r in routines.list(limit=3, order="desc", **HTTP)] == names[::-1]
    assert [r.name for r in routines.list(**HTTP)] == names


def test_next_link_is_absolute_and_complete(routines: Any, emu: Emulator) -> None:
    for index in range(3):
        routines.create_or_update(f"r{index}", body(), **HTTP)
    page = raw("GET", url(emu, "/routines", "api-version=v1&limit=2"))
    assert page.status == 200
    assert page.body["object"] == "list"
    assert page.body["has_more"] is True
    link = page.body["next_link"]
    assert link.startswith(f"{emu.endpoint()}/routines?")
    for part in ("api-version=v1", "limit=2", "order=asc", "after="):
        assert part in link
    last = raw("GET", link)
    assert [r["name"] for r in last.body["data"]] == ["r2"]
    assert last.body["next_link"] is None
    assert last.body["has_more"] is False


def test_disable_and_enable(routines: Any) -> None:
    routines.create_or_update("r", body(), **HTTP)
    assert routines.disable("r", **HTTP).enabled is False
    assert routines.get("r", **HTTP).enabled is False
    assert routines.enable("r", **HTTP).enabled is True
    with pytest.raises(ResourceNotFoundError):
        routines.enable("absent", **HTTP)


def test_dispatch_then_list_runs(routines: Any) -> None:
    routines.create_or_update("r", body(), **HTTP)
    result = routines.dispatch(
        "r", payload=InvokeAgentResponsesApiDispatchPayload(input="hello"), **HTTP
    )
    assert result.dispatch_id and result.action_correlation_id and result.task_id
    runs = list(routines.list_runs("r", **HTTP))
    assert len(runs) == 1
    assert runs[0].attempt_source == "manual_dispatch"
    assert runs[0].dispatch_id == result.dispatch_id
    assert runs[0].action_type == "invoke_agent_responses_api"


def test_dispatch_disabled_routine_is_a_conflict(routines: Any) -> None:
    routines.create_or_update("r", body(enabled=False), **HTTP)
    with pytest.raises(ResourceExistsError) as caught:
        routines.dispatch("r", **HTTP)
    assert caught.value.status_code == 409


def test_list_runs_pages_newest_first_and_filter(routines: Any, emu: Emulator) -> None:
    routines.create_or_update("r", body(), **HTTP)
    ids = [routines.dispatch("r", **HTTP).dispatch_id for _ in range(5)]
    assert [run.dispatch_id for run in routines.list_runs("r", limit=2, **HTTP)] == ids[::-1]
    oldest = routines.list_runs("r", limit=2, order="asc", **HTTP)
    assert [run.dispatch_id for run in oldest] == ids
    queued = routines.list_runs("r", filter="attributes.status = 'SCHEDULED'", **HTTP)
    assert len(list(queued)) == 5  # the clock is frozen: every run is still queued
    admin(emu.url, "POST", "clock/advance", {"seconds": 3})  # queued 1 s, dispatching 2 s
    matching = routines.list_runs("r", filter="attributes.status = 'FINISHED'", **HTTP)
    assert len(list(matching)) == 5
    assert list(routines.list_runs("r", filter="attributes.status = 'FAILED'", **HTTP)) == []
    bad = raw("GET", url(emu, "/routines/r/runs", "api-version=v1&filter=metrics.x%20%3E%201"))
    assert bad.status == 400
    assert bad.error["param"] == "filter"


def test_delete_then_get_404_and_runs_are_kept(routines: Any, emu: Emulator) -> None:
    routines.create_or_update("r", body(), **HTTP)
    routines.dispatch("r", **HTTP)
    deleted = raw("DELETE", url(emu, "/routines/r"))
    assert deleted.status == 204
    assert deleted.body is None
    assert "x-ms-request-id" in deleted.headers
    with pytest.raises(ResourceNotFoundError):
        routines.get("r", **HTTP)
    with pytest.raises(ResourceNotFoundError):
        routines.delete("r", **HTTP)
    assert [run.attempt_source for run in routines.list_runs("r", **HTTP)] == ["manual_dispatch"]


def test_sdk_delete_accepts_204(routines: Any) -> None:
    routines.create_or_update("r", body(), **HTTP)
    assert routines.delete("r", **HTTP) is None
    assert list(routines.list(**HTTP)) == []


@pytest.mark.parametrize("at", ["2030-01-01T01:00:00Z", "2030-01-01T02:00:00+01:00", "30m"])
def test_timer_at_text_comes_back_as_integer(routines: Any, emu: Emulator, at: str) -> None:
    timer = {"t": {"type": "timer", "at": at}}
    created = routines.create_or_update("t", body(triggers=timer), **HTTP)
    expected = 1893459600 if at.startswith("2030") else int(FROZEN_START) + 1800
    assert created.triggers["t"].at == dt.datetime.fromtimestamp(expected, dt.UTC)
    wire = raw("GET", url(emu, "/routines/t"))
    assert wire.body["triggers"]["t"]["at"] == expected
    assert type(wire.body["triggers"]["t"]["at"]) is int


def test_names_are_url_decoded(routines: Any, emu: Emulator) -> None:
    routines.create_or_update("a.b_c-1", body(), **HTTP)
    encoded = raw("GET", url(emu, "/routines/a%2Eb%5Fc-1"))
    assert encoded.status == 200
    assert encoded.body["name"] == "a.b_c-1"


def test_projects_are_isolated(emu: Emulator) -> None:
    other = f"{emu.url}/api/projects/other/routines/r?api-version=v1"
    assert raw("PUT", other, body()).status == 200
    assert raw("GET", url(emu, "/routines/r")).status == 404


# --- bad input over raw HTTP ------------------------------------------------------------------


def test_malformed_json(emu: Emulator) -> None:
    response = raw(
        "PUT",
        url(emu, "/routines/r"),
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status == 400
    assert response.error["code"] == "invalid_json"
    assert response.headers["content-type"].startswith("application/json")


def test_non_object_body(emu: Emulator) -> None:
    response = raw("PUT", url(emu, "/routines/r"), [1, 2])
    assert response.status == 400
    assert response.error["code"] == "invalid_json"


def test_wrong_content_type(emu: Emulator) -> None:
    response = raw(
        "PUT", url(emu, "/routines/r"), data=b"{}", headers={"Content-Type": "text/plain"}
    )
    assert response.status == 415
    assert response.error["code"] == "unsupported_media_type"
    charset = raw(
        "PUT",
        url(emu, "/routines/r"),
        data=b'{"triggers": {}}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert charset.status == 400  # past the media type: the body itself is checked


def test_oversize_body_is_413(emu: Emulator) -> None:
    big = b'{"description": "' + b"x" * (1024 * 1024) + b'"}'
    response = raw(
        "PUT", url(emu, "/routines/r"), data=big, headers={"Content-Type": "application/json"}
    )
    assert response.status == 413
    assert response.error["code"] == "request_too_large"


def test_unknown_route_and_wrong_method(emu: Emulator) -> None:
    unknown = raw("GET", f"{emu.url}/api/projects/_project/agents?api-version=v1")
    assert unknown.status == 404
    assert unknown.error["code"] == "not_found"
    assert unknown.error["type"] == "invalid_request_error"
    assert "x-ms-request-id" in unknown.headers
    wrong = raw("POST", url(emu, "/routines/r"), {})
    assert wrong.status == 405
    assert wrong.headers["allow"] == "DELETE, GET, PUT"
    assert raw("PATCH", url(emu, "/routines"), {}).status == 405
    assert raw("POST", url(emu, "/routines/r:explode"), {}).status == 404


def test_api_version_is_required(emu: Emulator) -> None:
    missing = raw("GET", url(emu, "/routines", query=""))
    assert missing.status == 400
    assert missing.error["code"] == "missing_api_version"
    assert missing.error["param"] == "api-version"
    other = raw("GET", url(emu, "/routines", "api-version=2025-05-01"))
    assert other.status == 400
    assert other.error["code"] == "unsupported_api_version"


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 200),
        ("Routines=V1Preview", 200),
        ("Agents=V1Preview, Routines=V2Preview", 200),
        ("Agents=V9", 200),
        ("Routines=V3Preview", 400),
        ("Agents=V1Preview,Routines", 400),
    ],
)
def test_foundry_features_header(emu: Emulator, header: str | None, status: int) -> None:
    headers = {} if header is None else {"Foundry-Features": header}
    response = raw("GET", url(emu, "/routines"), headers=headers, features=header is not None)
    assert response.status == status
    if status == 400:
        assert response.error["param"] == "Foundry-Features"
        assert response.error["code"] == "invalid_foundry_features"


def test_bearer_token_is_required(emu: Emulator) -> None:
    missing = raw("GET", url(emu, "/routines"), auth=False)
    assert missing.status == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.error["type"] == "authentication_error"
    empty = raw("GET", url(emu, "/routines"), auth=False, headers={"Authorization": "Bearer "})
    assert empty.status == 401
    basic = raw("GET", url(emu, "/routines"), auth=False, headers={"Authorization": "Basic eA=="})
    assert basic.status == 401


def test_required_token(tmp_path: Path) -> None:
    with Emulator(tmp_path / "emu.db", token="s3cret") as emu:
        bad = AIProjectClient(endpoint=emu.endpoint(), credential=StaticToken("wrong"))
        with bad, pytest.raises(ClientAuthenticationError):
            bad.beta.routines.get("r", **HTTP)
        good = AIProjectClient(endpoint=emu.endpoint(), credential=StaticToken("s3cret"))
        with good, pytest.raises(ResourceNotFoundError):
            good.beta.routines.get("r", **HTTP)
        assert raw("GET", url(emu, "/routines")).error["code"] == "invalid_token"


def test_sdk_without_enforce_https_false_is_refused_client_side(client: AIProjectClient) -> None:
    with pytest.raises(ServiceRequestError, match="non-TLS"):
        client.beta.routines.get("r")


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        (
            body(
                triggers={
                    **DAILY,
                    "second": {"type": "timer", "at": 1893459600},
                }
            ),
            "triggers",
        ),
        (
            body(
                triggers={
                    "fast": {
                        "type": "schedule",
                        "cron_expression": "*/2 * * * *",
                        "time_zone": "UTC",
                    },
                }
            ),
            "triggers.fast.cron_expression",
        ),
        (body(description="x" * 1025), "description"),
        (body(name="other"), "name"),
    ],
    ids=["two-triggers", "sub-5-minute-cron", "oversize-description", "name-mismatch"],
)
def test_invalid_routines_are_400_with_param(
    emu: Emulator, payload: dict[str, Any], param: str
) -> None:
    response = raw("PUT", url(emu, "/routines/r"), payload)
    assert response.status == 400
    assert response.error["param"] == param
    assert response.error["code"] == "invalid_value"
    assert response.error["message"]


def test_legacy_dispatch_route_is_404(routines: Any, emu: Emulator) -> None:
    routines.create_or_update("r", body(), **HTTP)
    response = raw("POST", url(emu, "/routines/r:dispatch"), {})
    assert response.status == 404
    assert ":dispatch_async" in response.error["message"]


def test_dispatch_body_is_checked(routines: Any, emu: Emulator) -> None:
    routines.create_or_update("r", body(), **HTTP)
    extra = raw("POST", url(emu, "/routines/r:dispatch_async"), {"payload": None, "x": 1})
    assert extra.status == 400
    assert extra.error["param"] == "x"
    wrong = raw(
        "POST",
        url(emu, "/routines/r:dispatch_async"),
        {"payload": {"type": "invoke_agent_invocations_api", "input": 1}},
    )
    assert wrong.status == 400
    assert wrong.error["param"] == "payload.type"
    empty = raw("POST", url(emu, "/routines/r:dispatch_async"), data=b"")
    assert empty.status == 200
    assert set(empty.body) == {"dispatch_id", "action_correlation_id", "task_id"}


def test_sdk_surfaces_400_as_http_response_error(routines: Any) -> None:
    with pytest.raises(HttpResponseError) as caught:
        routines.create_or_update(
            "r",
            triggers={"t": ScheduleRoutineTrigger(cron_expression="* * * * *", time_zone="UTC")},
            action=InvokeAgentResponsesApiRoutineAction(agent_name="a"),
            **HTTP,
        )
    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "invalid_value"
    assert caught.value.model.error.param == "triggers.t.cron_expression"
    assert caught.value.error.message


def test_limit_out_of_range_is_400(emu: Emulator) -> None:
    for query in ("limit=0", "limit=101", "limit=abc", "order=sideways"):
        response = raw("GET", url(emu, "/routines", f"api-version=v1&{query}"))
        assert response.status == 400, query
        assert response.error["param"] in ("limit", "order")


# --- counters and faults --------------------------------------------------------------------


def test_counters_count_per_route(routines: Any, emu: Emulator) -> None:
    routines.create_or_update("r", body(), **HTTP)
    routines.create_or_update("r", body(), **HTTP)
    routines.get("r", **HTTP)
    routines.disable("r", **HTTP)
    with pytest.raises(ResourceNotFoundError):
        routines.get("nope", **HTTP)
    raw("GET", f"{emu.url}/api/projects/_project/nothing")
    seen = counters(emu)
    assert seen["routes"] == {
        "PUT /routines/{name}": 2,
        "GET /routines/{name}": 2,
        "POST /routines/{name}:disable": 1,
        "unmatched": 1,
    }
    assert seen["statuses"] == {"200": 4, "404": 2}
    assert seen["total"] == 6
    reset = admin(emu.url, "POST", "counters/reset")
    assert reset["routes"] == {}
    assert reset["total"] == 0


def test_scripted_429_is_retried_with_retry_after(routines: Any, emu: Emulator) -> None:
    set_faults(emu, script=[{"fault": "429", "count": 1, "method": "PUT", "retry_after": 1}])
    created = routines.create_or_update("r", body(), **HTTP)
    assert created.name == "r"
    seen = counters(emu)
    assert seen["routes"]["PUT /routines/{name}"] == 2
    assert seen["faults"]["429"] == 1
    assert seen["statuses"] == {"200": 1, "429": 1}
    assert admin(emu.url, "GET", "faults")["script"] == []


def test_injected_429_and_503_carry_retry_after(emu: Emulator) -> None:
    set_faults(
        emu,
        retry_after=7,
        script=[
            {"fault": "429"},
            {"fault": "503", "retry_after": 2},
            {"fault": "500"},
        ],
    )
    throttled = raw("GET", url(emu, "/routines"))
    assert (throttled.status, throttled.headers["retry-after"]) == (429, "7")
    assert throttled.error["code"] == "too_many_requests"
    unavailable = raw("GET", url(emu, "/routines"))
    assert (unavailable.status, unavailable.headers["retry-after"]) == (503, "2")
    failed = raw("GET", url(emu, "/routines"))
    assert failed.status == 500
    assert "retry-after" not in failed.headers
    assert raw("GET", url(emu, "/routines")).status == 200


def test_503_storm_longer_than_retry_budget_fails(routines: Any, emu: Emulator) -> None:
    set_faults(emu, script=[{"fault": "503", "count": 10, "retry_after": 0}])
    with pytest.raises(HttpResponseError) as caught:
        routines.get("r", retry_total=2, **HTTP)
    assert caught.value.status_code == 503
    assert counters(emu)["routes"]["GET /routines/{name}"] == 3
    remaining = admin(emu.url, "GET", "faults")["script"]
    assert remaining == [
        {
            "fault": "503",
            "count": 7,
            "method": None,
            "route": None,
            "retry_after": 0,
            "message": None,
            "param": None,
        }
    ]


def test_script_matches_route(routines: Any, emu: Emulator) -> None:
    set_faults(emu, script=[{"fault": "500", "route": "GET /routines"}])
    routines.create_or_update("r", body(), **HTTP)
    routines.get("r", **HTTP)
    assert admin(emu.url, "GET", "faults")["script"] != []
    assert raw("GET", url(emu, "/routines")).status == 500


def test_drop_before_raises_and_writes_nothing(routines: Any, emu: Emulator) -> None:
    set_faults(emu, script=[{"fault": "drop_before", "method": "PUT"}])
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        routines.create_or_update("r", body(), retry_total=0, **HTTP)
    assert counters(emu)["faults"]["drop_before"] == 1
    with pytest.raises(ResourceNotFoundError):
        routines.get("r", **HTTP)


def test_drop_after_leaves_the_write_committed(routines: Any, emu: Emulator) -> None:
    set_faults(emu, script=[{"fault": "drop_after", "method": "PUT"}])
    with pytest.raises((ServiceRequestError, ServiceResponseError)):
        routines.create_or_update("r", body(description="kept"), retry_total=0, **HTTP)
    assert routines.get("r", **HTTP).description == "kept"


def test_drop_after_is_retried_by_the_sdk(routines: Any, emu: Emulator) -> None:
    set_faults(emu, script=[{"fault": "drop_after", "method": "PUT"}])
    assert routines.create_or_update("r", body(), **HTTP).name == "r"
    assert counters(emu)["routes"]["PUT /routines/{name}"] == 2


def test_rates_with_method_filter(routines: Any, emu: Emulator) -> None:
    set_faults(emu, rate_500=1.0, methods=["PUT"], seed=1)
    assert list(routines.list(**HTTP)) == []
    with pytest.raises(HttpResponseError) as caught:
        routines.create_or_update("r", body(), retry_total=0, **HTTP)
    assert caught.value.status_code == 500


def test_seeded_rates_are_reproducible(tmp_path: Path) -> None:
    def outcomes(seed: int) -> list[int]:
        config = FaultConfig(rate_429=0.3, rate_503=0.3, seed=seed)
        with Emulator(tmp_path / f"emu{seed}.db", faults=config) as emu:
            return [raw("GET", url(emu, "/routines")).status for _ in range(20)]

    first = outcomes(7)
    assert first == outcomes(7)
    assert {200, 429, 503} <= set(first)


def test_latency_injection_delays_requests(routines: Any, emu: Emulator) -> None:
    set_faults(emu, latency_ms=300)
    started = time.perf_counter()
    routines.list(**HTTP).by_page().next()
    assert time.perf_counter() - started >= 0.3


def test_fault_config_is_validated(emu: Emulator) -> None:
    for bad in (
        {"rate_429": 2},
        {"rate_429": 0.6, "rate_503": 0.6},
        {"script": [{"fault": "418"}]},
        {"bogus": 1},
        {"methods": ["FETCH"]},
        {"drop_mode": "during"},
    ):
        response = raw("PUT", f"{emu.url}/_emulator/faults", bad, auth=False)
        assert response.status == 400, bad
        assert response.error["code"] == "invalid_fault_config"
    config = admin(emu.url, "PUT", "faults", {"latency_ms": 5, "methods": ["put"]})
    assert config["methods"] == ["PUT"]
    assert config["latency_ms"] == 5
    assert admin(emu.url, "GET", "faults") == config


# --- admin API and clock ------------------------------------------------------------------


def test_admin_routes(emu: Emulator) -> None:
    health = admin(emu.url, "GET", "health")
    assert health["status"] == "ok"
    assert health["now"] == FROZEN_START
    assert admin(emu.url, "GET", "clock") == {"now": FROZEN_START, "speed": 0.0, "offset": 0.0}
    assert raw("GET", f"{emu.url}/_emulator/nothing", auth=False).status == 404
    assert raw("DELETE", f"{emu.url}/_emulator/faults", auth=False).status == 405
    bad = raw("POST", f"{emu.url}/_emulator/clock/advance", {"seconds": -1}, auth=False)
    assert bad.status == 400


def test_clock_advance_fires_schedule(routines: Any, emu: Emulator) -> None:
    every5 = {"e": {"type": "schedule", "cron_expression": "*/5 * * * *", "time_zone": "UTC"}}
    routines.create_or_update("every5", body(triggers=every5), **HTTP)
    advanced = admin(emu.url, "POST", "clock/advance", {"seconds": 3600})
    assert advanced == {"now": FROZEN_START + 3600, "fired": 12}
    runs = list(routines.list_runs("every5", order="asc", **HTTP))
    assert len(runs) == 12
    assert {run.attempt_source for run in runs} == {"schedule_delivery"}
    assert {run.trigger_name for run in runs} == {"e"}
    fire_times = [run.scheduled_fire_at for run in runs]
    assert fire_times[0] == dt.datetime(2030, 1, 1, 0, 5, tzinfo=dt.UTC)
    assert all(moment.minute % 5 == 0 and moment.second == 0 for moment in fire_times)
    wire = raw("GET", url(emu, "/routines/every5/runs", "api-version=v1&limit=1"))
    assert type(wire.body["data"][0]["scheduled_fire_at"]) is int


def test_disabled_routine_does_not_fire(routines: Any, emu: Emulator) -> None:
    every5 = {"e": {"type": "schedule", "cron_expression": "*/5 * * * *", "time_zone": "UTC"}}
    routines.create_or_update("off", body(triggers=every5, enabled=False), **HTTP)
    assert admin(emu.url, "POST", "clock/advance", {"seconds": 3600})["fired"] == 0
    assert list(routines.list_runs("off", **HTTP)) == []


def test_timer_fires_exactly_once(routines: Any, emu: Emulator) -> None:
    routines.create_or_update("t", body(triggers={"t": {"type": "timer", "at": "30m"}}), **HTTP)
    assert admin(emu.url, "POST", "clock/advance", {"seconds": 1799})["fired"] == 0
    assert admin(emu.url, "POST", "clock/advance", {"seconds": 1})["fired"] == 1
    assert admin(emu.url, "POST", "clock/advance", {"seconds": 86400})["fired"] == 0
    runs = list(routines.list_runs("t", **HTTP))
    assert [run.attempt_source for run in runs] == ["timer_delivery"]
    assert runs[0].scheduled_fire_at == dt.datetime.fromtimestamp(int(FROZEN_START) + 1800, dt.UTC)
    assert routines.get("t", **HTTP).enabled is False  # timer_after_fire: disable (the default)


def test_clock_speed_and_background_ticks(routines: Any, emu: Emulator) -> None:
    every5 = {"e": {"type": "schedule", "cron_expression": "*/5 * * * *", "time_zone": "UTC"}}
    routines.create_or_update("every5", body(triggers=every5), **HTTP)
    clock = admin(emu.url, "PUT", "clock", {"speed": 3600})
    assert clock["speed"] == 3600
    deadline = time.monotonic() + 20
    while not list(routines.list_runs("every5", **HTTP)):
        assert time.monotonic() < deadline, "the background ticker fired nothing"
        time.sleep(0.1)
    assert admin(emu.url, "GET", "clock")["now"] > FROZEN_START
    assert raw("PUT", f"{emu.url}/_emulator/clock", {"speed": -1}, auth=False).status == 400


def test_emulated_clock_unit() -> None:
    real = [0.0]
    clock = EmulatedClock(1000.0, speed=60, monotonic=lambda: real[0])
    assert clock.now() == 1000.0
    real[0] = 10.0
    assert clock.now() == 1000.0 + 600
    clock.set_speed(1)  # from here on one emulated second per real second
    assert clock.now() == 1600.0
    real[0] = 20.0
    assert clock.advance(5) == 1600 + 10 + 5
    assert clock.offset == 5
    clock.set_speed(0)
    real[0] = 1000.0
    assert clock.now() == 1615
    assert clock.speed == 0
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="speed"):
        clock.set_speed(-2)


def test_stop_is_clean_and_restartable(tmp_path: Path) -> None:
    emu = Emulator(tmp_path / "emu.db").start()
    assert raw("PUT", url(emu, "/routines/r"), body()).status == 200
    emu.stop()
    emu.stop()
    with Emulator(tmp_path / "emu.db") as again:
        assert raw("GET", url(again, "/routines/r")).status == 200


def test_verbose_logs_one_line_per_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Emulator(tmp_path / "quiet.db") as quiet:
        raw("GET", url(quiet, "/routines"))
    assert capsys.readouterr().err == ""
    with Emulator(tmp_path / "loud.db", verbose=True) as loud:
        raw("GET", url(loud, "/routines"))
        raw("GET", url(loud, "/routines/missing"))
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("GET /api/projects/_project/routines 200 ")
    assert lines[0].endswith("ms")
    assert lines[1].startswith("GET /api/projects/_project/routines/missing 404 ")
    assert TOKEN not in "\n".join(lines)


def test_every_answer_has_a_request_id_and_echoes_the_client_id(emu: Emulator) -> None:
    answers = [
        raw("GET", url(emu, "/routines"), headers={"x-ms-client-request-id": "abc"}),
        raw("GET", url(emu, "/routines"), auth=False),
        raw("GET", f"{emu.url}/elsewhere"),
        raw("GET", f"{emu.url}/_emulator/health", auth=False),
    ]
    ids = [answer.headers["x-ms-request-id"] for answer in answers]
    assert len(set(ids)) == 4
    assert answers[0].headers["x-ms-client-request-id"] == "abc"


def test_concurrent_sdk_writes(routines: Any, emu: Emulator) -> None:
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            for index in range(10):
                routines.create_or_update(f"w{worker}-{index}", body(), **HTTP)
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(list(routines.list(limit=100, **HTTP))) == 80
    assert counters(emu)["routes"]["PUT /routines/{name}"] == 80


# --- the CLI as a real process -----------------------------------------------------------------


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    return lines.get(timeout=timeout)


def test_cli_serves_until_sigterm(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "GITHUB_"))}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from reconciler.cli.emulator import emulator; emulator()",
            "--port",
            "0",
            "--db",
            str(tmp_path / "cli.db"),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _first_line(process, timeout=60).strip()
        prefix = "Emulator listening on http://127.0.0.1:"
        assert line.startswith(prefix), line
        base = line.removeprefix("Emulator listening on ").split(" ")[0]
        endpoint = f"{base}/api/projects/_project"
        assert line == f"Emulator listening on {base} (project endpoint: {endpoint})"
        with AIProjectClient(endpoint=endpoint, credential=StaticToken()) as project:
            created = project.beta.routines.create_or_update("cli", body(), **HTTP)
            assert created.name == "cli"
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert stdout == ""
    assert TOKEN not in stderr
