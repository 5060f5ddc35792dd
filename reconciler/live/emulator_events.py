"""Firing a GitHub issue or custom event into the emulator or the embedded project (tests only).

The real service receives these events from GitHub or a provider; a local project cannot, so
``reconciler emulator --fire-event`` hands one in: to a running emulator's
``POST /_emulator/events`` (its clock stamps the runs), or straight into a project file (the
emulator's ``--db`` or ``local:.reconciler/local.db``; the system time stamps the runs). Both
leave the same ``event_fire`` runs (``reconciler.service.events`` has the matching rules).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from reconciler.live.base import BackendError
from reconciler.live.endpoint import Endpoint
from reconciler.live.local import PROJECT, backend_error
from reconciler.service import RoutineStore, ServiceError, StoreError

TIMEOUT: Final = 30.0


@dataclass(frozen=True)
class FiredRun:
    """One ``event_fire`` run an event left: the routine, the run id and the trigger's name."""

    routine: str
    id: str
    trigger_name: str | None


def fire_event(target: Endpoint, event: dict[str, Any]) -> list[FiredRun]:
    """Fire ``event`` into ``target`` (a loopback emulator endpoint or ``local:PATH``)."""
    if target.kind == "local":
        return _fire_local(target.value, event)
    if not target.loopback:
        raise BackendError(
            f"--fire-event goes to an emulator (a loopback http://127.0.0.1:PORT/api/projects/"
            f"<project> endpoint) or local:PATH, not {target.value}",
            kind="config",
        )
    return _fire_remote(target.value, event)


def _fire_local(path: str, event: dict[str, Any]) -> list[FiredRun]:
    if not os.path.isfile(path):
        raise BackendError(f"local project {path} does not exist; nothing was fired", kind="config")
    try:
        with RoutineStore(path) as store:
            fired = store.fire_event(PROJECT, event)
    except ServiceError as err:
        raise _refused(backend_error(err).message) from None
    except StoreError as err:
        raise BackendError(str(err), kind="config") from None
    return [FiredRun(name, str(run["id"]), run.get("trigger_name")) for name, run in fired]


def _fire_remote(endpoint: str, event: dict[str, Any]) -> list[FiredRun]:
    parts = urlsplit(endpoint)
    project = unquote(parts.path.partition("/api/projects/")[2].strip("/"))
    status, answer = _post(
        f"{parts.scheme}://{parts.netloc}/_emulator/events", endpoint, {**event, "project": project}
    )
    if status == 404:
        raise BackendError(
            f"{endpoint} has no /_emulator/events route: is it a reconciler emulator?",
            kind="not_found",
        )
    error = answer.get("error") if isinstance(answer, dict) else None
    if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("runs"), list):
        if isinstance(error, dict):
            where = f" at {error.get('param')}" if error.get("param") else ""
            raise _refused(f"{status} {error.get('code')}{where}: {error.get('message')}")
        raise BackendError(f"the emulator at {endpoint} answered {status}", kind="server")
    return [
        FiredRun(str(run.get("routine")), str(run.get("id")), run.get("trigger_name"))
        for run in answer["runs"]
        if isinstance(run, dict)
    ]


def _post(url: str, endpoint: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310 - loopback http(s) only, checked above
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return int(response.status), _json(response.read())
    except urllib.error.HTTPError as err:
        return int(err.code), _json(err.read())
    except OSError as err:
        raise BackendError(
            f"cannot reach the emulator at {endpoint}: {err}", kind="unreachable"
        ) from None


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"{}")
    except ValueError:
        return None


def _refused(message: str) -> BackendError:
    return BackendError(f"event refused: {message}", kind="invalid")
