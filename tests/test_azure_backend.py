"""The ``azure`` backend through the real SDK against the emulator: operations and failures."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.server import Emulator
from reconciler.live.azure import AzureBackend
from reconciler.live.base import BackendError
from tests.emulator_fixtures import admin

FAST = {"RECONCILER_RETRY_TOTAL": "2", "RECONCILER_RETRY_BACKOFF": "0.01"}
SCHEDULE = {
    "triggers": {"t": {"type": "schedule", "cron_expression": "*/5 * * * *", "time_zone": "UTC"}},
    "action": {"type": "invoke_agent_responses_api", "agent_name": "agent"},
}


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with Emulator(tmp_path / "emu.db") as running:
        yield running


@pytest.fixture
def backend(emu: Emulator) -> Iterator[AzureBackend]:
    opened = AzureBackend(emu.endpoint(), environ=FAST)
    yield opened
    opened.close()


def faults(emu: Emulator, *script: dict[str, Any], **config: Any) -> None:
    admin(emu.url, "PUT", "faults", {"script": list(script), **config})


def counters(emu: Emulator) -> dict[str, Any]:
    return dict(admin(emu.url, "GET", "counters"))


def test_every_operation_round_trips(backend: AzureBackend) -> None:
    created = backend.create_or_update("r1", {**SCHEDULE, "description": "d"})
    assert created["name"] == "r1" and isinstance(created["created_at"], int)
    assert backend.get("r1") == created
    assert backend.get("missing") is None
    assert backend.disable("r1")["enabled"] is False
    assert backend.enable("r1")["enabled"] is True
    ack = backend.dispatch("r1", {"type": "invoke_agent_responses_api", "input": "hi"})
    assert set(ack) == {"dispatch_id", "action_correlation_id", "task_id"}
    [run] = backend.list_runs("r1")
    assert run["attempt_source"] == "manual_dispatch" and run["dispatch_id"] == ack["dispatch_id"]
    backend.delete("r1")
    assert backend.get("r1") is None
    with pytest.raises(BackendError) as err:
        backend.delete("r1")
    assert err.value.kind == "not_found"


def test_list_reads_every_page_of_the_largest_size(emu: Emulator, backend: AzureBackend) -> None:
    for index in range(205):
        backend.create_or_update(f"r{index:03d}", SCHEDULE)
    admin(emu.url, "POST", "counters/reset")
    names = [r["name"] for r in backend.list_routines()]
    assert names == [f"r{index:03d}" for index in range(205)]
    assert counters(emu)["routes"]["GET /routines"] == 3  # ceil(205 / 100)


def test_400_keeps_the_service_message_and_field(backend: AzureBackend) -> None:
    bad = {
        **SCHEDULE,
        "triggers": {"t": {**SCHEDULE["triggers"]["t"], "cron_expression": "*/2 * * * *"}},
    }
    with pytest.raises(BackendError) as err:
        backend.create_or_update("r1", bad)
    assert (err.value.kind, err.value.status, err.value.param) == (
        "invalid",
        400,
        "triggers.t.cron_expression",
    )
    assert "at least 5 minutes" in err.value.message


def test_429_is_retried_honouring_retry_after(emu: Emulator, backend: AzureBackend) -> None:
    faults(emu, {"fault": "429", "count": 2, "method": "PUT", "retry_after": 0})
    backend.create_or_update("r1", SCHEDULE)
    assert counters(emu)["routes"]["PUT /routines/{name}"] == 3


def test_429_storm_ends_in_one_clear_error(emu: Emulator, backend: AzureBackend) -> None:
    faults(emu, {"fault": "429", "count": 50, "retry_after": 0})
    with pytest.raises(BackendError) as err:
        backend.list_routines()
    assert err.value.kind == "throttled"
    assert "retries ran out" in err.value.message
    assert "--concurrency" not in err.value.message  # reads have no concurrency to lower
    assert counters(emu)["routes"]["GET /routines"] == 3  # one try + two retries


def test_enable_is_retried_but_dispatch_never_is(emu: Emulator, backend: AzureBackend) -> None:
    backend.create_or_update("r1", SCHEDULE)
    faults(emu, {"fault": "503", "count": 1, "method": "POST", "retry_after": 0})
    assert backend.enable("r1")["enabled"] is True
    faults(emu, {"fault": "503", "count": 1, "method": "POST", "retry_after": 0})
    with pytest.raises(BackendError) as err:
        backend.dispatch("r1")
    assert err.value.status == 503
    routes = counters(emu)["routes"]
    assert routes["POST /routines/{name}:enable"] == 2
    assert routes["POST /routines/{name}:dispatch_async"] == 1
    assert backend.list_runs("r1") == []


def test_401_names_the_identity_and_the_role(tmp_path: Path) -> None:
    with Emulator(tmp_path / "e.db", token="the-right-token") as emu:
        backend = AzureBackend(emu.endpoint(), environ={**FAST, "RECONCILER_STATIC_TOKEN": "wrong"})
        with pytest.raises(BackendError) as err:
            backend.list_routines()
    assert err.value.kind == "auth"
    assert "401" in err.value.message and "static emulator token" in err.value.message
    assert "Foundry User" in err.value.message
    assert "wrong" not in err.value.message


def test_403_names_the_role(emu: Emulator, backend: AzureBackend) -> None:
    faults(emu, {"fault": "403", "count": 1})
    with pytest.raises(BackendError) as err:
        backend.list_routines()
    assert err.value.kind == "forbidden" and "Foundry User" in err.value.message


def test_404_on_the_collection_points_at_the_endpoint(emu: Emulator) -> None:
    wrong = AzureBackend(f"{emu.url}/api/projects/p/not-a-project-path", environ=FAST)
    with pytest.raises(BackendError) as err:
        wrong.list_routines()
    assert err.value.kind == "config"
    assert "404" in err.value.message and "region" in err.value.message


def test_unreachable_endpoint() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = AzureBackend(
        f"http://127.0.0.1:{port}/api/projects/p", environ={**FAST, "RECONCILER_RETRY_TOTAL": "0"}
    )
    with pytest.raises(BackendError) as err:
        backend.list_routines()
    assert err.value.kind == "unreachable" and "cannot reach" in err.value.message


def test_dropped_connection_is_reported_as_unknown_outcome(
    emu: Emulator, backend: AzureBackend
) -> None:
    faults(emu, {"fault": "drop_after", "count": 5, "method": "PUT"})
    with pytest.raises(BackendError) as err:
        backend.create_or_update("r1", SCHEDULE)
    assert err.value.kind == "unreachable" and "dropped or timed out" in err.value.message
    assert err.value.maybe_applied  # apply reads the routine back before reporting
    assert backend.get("r1") is not None  # the write had committed


def test_static_token_is_refused_for_a_remote_endpoint() -> None:
    with pytest.raises(BackendError, match="only for a loopback"):
        AzureBackend(
            "https://contoso.services.ai.azure.com/api/projects/p",
            environ={"RECONCILER_AUTH": "static"},
        )


def test_unknown_auth_mode_is_a_config_error() -> None:
    with pytest.raises(BackendError, match="not a credential mode"):
        AzureBackend("http://127.0.0.1:1/api/projects/p", environ={"RECONCILER_AUTH": "magic"})


def test_listed_and_read_routines_are_the_same_wire_dicts(
    emu: Emulator, backend: AzureBackend, tmp_path: Path
) -> None:
    """The list reads raw pages; get and the writes read SDK models: both must give the same
    dicts, or compare-before-write would see a change that is not there."""
    from reconciler.plan.fingerprint import fingerprint
    from tests.conftest import REPO, run_cli

    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    done = run_cli(
        "apply", "manifests", "--auto-approve", "--endpoint", emu.endpoint(), cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout
    listed = {r["name"]: r for r in backend.list_routines()}
    assert len(listed) == 11
    for name, routine in listed.items():
        read = backend.get(name)
        assert read == routine and fingerprint(read) == fingerprint(routine), name
