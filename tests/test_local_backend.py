"""``LocalBackend``: the Backend protocol over a real SQLite project file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.live.base import Backend, BackendError
from reconciler.live.endpoint import Endpoint
from reconciler.live.factory import open_backend
from reconciler.live.local import PROJECT, LocalBackend, MissingLocalProject
from reconciler.service import RoutineStore

RESPONSES = "invoke_agent_responses_api"


def body(cron: str = "0 7 * * *", **extra: Any) -> dict[str, Any]:
    return {
        "triggers": {"daily": {"type": "schedule", "cron_expression": cron, "time_zone": "UTC"}},
        "action": {"type": RESPONSES, "agent_name": "agent-a"},
        **extra,
    }


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / ".reconciler" / "local.db"


@pytest.fixture
def backend(db_path: Path) -> Iterator[LocalBackend]:
    opened = LocalBackend(str(db_path))
    yield opened
    opened.close()


def failure(call: Any, *args: Any) -> BackendError:
    with pytest.raises(BackendError) as info:
        call(*args)
    return info.value


def test_it_satisfies_the_backend_protocol(backend: LocalBackend, db_path: Path) -> None:
    typed: Backend = backend
    assert typed.target == f"local:{db_path}"


def test_the_factory_opens_a_local_endpoint(db_path: Path) -> None:
    opened = open_backend(Endpoint("local", str(db_path), "test"), writable=True)
    try:
        assert isinstance(opened, LocalBackend)
        assert opened.list_routines() == []
    finally:
        opened.close()


def test_reading_a_missing_project_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "dir" / "p.db"
    opened = open_backend(Endpoint("local", str(path), "test"))
    assert isinstance(opened, MissingLocalProject)
    assert opened.list_routines() == [] and opened.get("x") is None
    with pytest.raises(BackendError, match="does not exist"):
        opened.create_or_update("x", {})
    assert not (tmp_path / "no").exists()


def test_create_get_update_delete(backend: LocalBackend) -> None:
    created = backend.create_or_update("r1", body(description="one"))
    assert created["name"] == "r1"
    assert backend.get("r1") == created
    updated = backend.create_or_update("r1", body())
    assert updated["description"] == ""
    backend.delete("r1")
    assert backend.get("r1") is None


def test_routines_live_in_the_fixed_project(backend: LocalBackend) -> None:
    backend.create_or_update("r1", body(authorization={"identity": "creator"}))
    assert backend.store.get(PROJECT, "r1")["name"] == "r1"
    assert backend.store.authorization_of(PROJECT, "r1") == "creator"


def test_list_routines_reads_every_page_oldest_first(backend: LocalBackend) -> None:
    for i in range(205):
        backend.create_or_update(f"r{i:03d}", body())
    listed = backend.list_routines()
    assert [routine["name"] for routine in listed] == [f"r{i:03d}" for i in range(205)]


def test_an_invalid_body_is_an_invalid_backend_error(backend: LocalBackend) -> None:
    err = failure(backend.create_or_update, "r1", body(cron="*/4 * * * *"))
    assert (err.kind, err.status, err.code) == ("invalid", 400, "invalid_value")
    assert err.param == "triggers.daily.cron_expression"
    assert err.message.startswith("400 invalid_value at triggers.daily.cron_expression: fires ")
    assert str(err) == err.message


def test_missing_routines_are_not_found(backend: LocalBackend) -> None:
    for call in (backend.delete, backend.enable, backend.disable, backend.dispatch):
        err = failure(call, "ghost")
        assert (err.kind, err.status, err.code) == ("not_found", 404, "not_found")
        assert err.message == "404 not_found: routine 'ghost' not found"
    assert failure(backend.list_runs, "ghost").kind == "not_found"


def test_enable_and_disable(backend: LocalBackend) -> None:
    backend.create_or_update("r1", body())
    assert backend.disable("r1")["enabled"] is False
    assert backend.enable("r1")["enabled"] is True


def test_dispatching_a_disabled_routine_is_a_conflict(backend: LocalBackend) -> None:
    backend.create_or_update("r1", body(enabled=False))
    err = failure(backend.dispatch, "r1")
    assert (err.kind, err.status, err.code) == ("conflict", 409, "routine_disabled")


def test_dispatch_and_list_runs(backend: LocalBackend) -> None:
    backend.create_or_update("r1", body())
    acks = [backend.dispatch("r1", {"type": RESPONSES, "input": i}) for i in range(150)]
    runs = backend.list_runs("r1")
    assert [run["dispatch_id"] for run in runs] == [a["dispatch_id"] for a in reversed(acks)]
    assert len(backend.list_runs("r1", limit=120)) == 120
    assert [r["dispatch_id"] for r in backend.list_runs("r1", limit=3)] == [
        a["dispatch_id"] for a in acks[:-4:-1]
    ]
    err = failure(backend.dispatch, "r1", {"type": "invoke_agent_invocations_api"})
    assert (err.kind, err.param) == ("invalid", "payload.type")


def test_runs_outlive_their_routine(backend: LocalBackend) -> None:
    backend.create_or_update("r1", body())
    backend.dispatch("r1")
    backend.delete("r1")
    assert len(backend.list_runs("r1")) == 1


def test_a_corrupt_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "local.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    err = failure(LocalBackend, str(path))
    assert err.kind == "config"
    assert err.message == (
        f"local project {path} is not a reconciler database (file is not a database)"
    )


def test_another_process_sees_the_same_project(backend: LocalBackend, db_path: Path) -> None:
    backend.create_or_update("r1", body())
    with RoutineStore(str(db_path)) as other:
        assert other.get(PROJECT, "r1")["name"] == "r1"


def test_reading_commands_open_an_existing_project_read_only(db_path: Path) -> None:
    LocalBackend(str(db_path)).close()
    reader = open_backend(Endpoint("local", str(db_path), "test"))
    try:
        assert isinstance(reader, LocalBackend) and reader.store.read_only
        assert reader.list_routines() == []
        with pytest.raises(BackendError) as info:
            reader.create_or_update("r1", body())
        assert info.value.message == (
            f"local project {db_path} is read-only (opened by a command that does not write); "
            "nothing was written"
        )
    finally:
        reader.close()
    writer = open_backend(Endpoint("local", str(db_path), "test"), writable=True)
    try:
        assert isinstance(writer, LocalBackend) and not writer.store.read_only
        assert writer.create_or_update("r1", body())["name"] == "r1"
    finally:
        writer.close()


def test_reading_an_empty_file_sees_an_empty_project_and_leaves_it_empty(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    path.touch()
    opened = open_backend(Endpoint("local", str(path), "test"))
    assert isinstance(opened, MissingLocalProject)
    assert opened.list_routines() == []
    assert path.read_bytes() == b""
