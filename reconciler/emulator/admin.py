"""The ``/_emulator/`` admin API for tests and benchmarks (no auth, no api-version).

``GET /_emulator/health``, ``GET /_emulator/counters``, ``POST /_emulator/counters/reset``,
``GET``/``PUT /_emulator/faults``, ``GET``/``PUT /_emulator/clock`` (``{"speed": X}``) and
``POST /_emulator/clock/advance`` (``{"seconds": N}`` -> ``{"now", "fired"}``), and the stack
locks of applies (``POST /_emulator/locks/acquire|renew|release`` with ``{"project", "stack",
"holder": {token, pid, host, since}}``; acquire answers 409 with the live holder when taken),
and ``POST /_emulator/events``, which fires a GitHub issue or custom event into the project's
matching enabled routines as ``event_fire`` runs (``{"project"?, "type": "github_issue",
"connection_id", "owner", "repository", "issue_event": "opened"|"closed", "payload"?}`` or
``{"project"?, "type": "custom", "provider", "event_name"?, "payload"?}``; the project defaults
to ``_project``; the answer is ``{"fired": N, "runs": [{"routine", "id", "trigger_name"}]}``;
``reconciler.service.events`` has the matching rules), and ``GET``/``PUT
/_emulator/agents/failures``: the agents whose run attempts fail (``{"failures": [{"agent",
"rate"?: 1.0, "status_code"?: 500, "error_type"?, "error_message"?}]}``; a PUT replaces them
all, ``{"failures": []}`` clears them; ``reconciler.service.failures``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from reconciler.contract.locks import LockHeld, LockHolder
from reconciler.emulator.fault_config import FaultConfig
from reconciler.emulator.protocol import (
    DEFAULT_PROJECT,
    HttpError,
    Reply,
    method_not_allowed,
    parse_json,
)
from reconciler.emulator.state import EmulatorState
from reconciler.service.failures import AgentFailure

PREFIX: Final = "/_emulator"
Handler = Callable[[EmulatorState, dict[str, Any]], Reply]


def handle_admin(state: EmulatorState, method: str, path: str, raw: bytes) -> Reply:
    """Answer an admin request; 404 for unknown admin paths, 405 for wrong methods."""
    methods = _ROUTES.get(path[len(PREFIX) :].rstrip("/") or "/")
    if methods is None:
        raise HttpError(404, "not_found", f"no emulator admin route {path}")
    handler = methods.get(method)
    if handler is None:
        raise method_not_allowed(method, methods)
    return handler(state, _body(raw))


def _body(raw: bytes) -> dict[str, Any]:
    """Admin bodies are JSON objects; an empty body is ``{}`` (any Content-Type is accepted)."""
    if not raw.strip():
        return {}
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise HttpError(400, "invalid_json", "the admin request body must be a JSON object")
    return data


def _health(state: EmulatorState, _body: dict[str, Any]) -> Reply:
    return Reply(200, {"status": "ok", "now": state.clock.now()})


def _counters(state: EmulatorState, _body: dict[str, Any]) -> Reply:
    return Reply(200, state.counters.snapshot(state.faults.injected()))


def _reset_counters(state: EmulatorState, _body: dict[str, Any]) -> Reply:
    state.counters.reset()
    state.faults.reset_counts()
    return _counters(state, {})


def _get_faults(state: EmulatorState, _body: dict[str, Any]) -> Reply:
    return Reply(200, state.faults.config.to_json())


def _put_faults(state: EmulatorState, body: dict[str, Any]) -> Reply:
    try:
        config = FaultConfig.from_json(body)
    except ValueError as err:
        raise HttpError(400, "invalid_fault_config", str(err)) from None
    state.faults.configure(config)
    return _get_faults(state, {})


def _clock_json(state: EmulatorState) -> dict[str, Any]:
    clock = state.clock
    return {"now": clock.now(), "speed": clock.speed, "offset": clock.offset}


def _get_clock(state: EmulatorState, _body: dict[str, Any]) -> Reply:
    return Reply(200, _clock_json(state))


def _put_clock(state: EmulatorState, body: dict[str, Any]) -> Reply:
    unknown = sorted(set(body) - {"speed"})
    if unknown:
        raise HttpError(
            400,
            "invalid_value",
            f"unknown clock field {unknown[0]!r}; only 'speed' can be set",
            param=unknown[0],
        )
    if "speed" in body:
        try:
            state.clock.set_speed(_number(body["speed"], "speed"))
        except ValueError as err:
            raise HttpError(400, "invalid_value", str(err), param="speed") from None
    return _get_clock(state, {})


def _advance(state: EmulatorState, body: dict[str, Any]) -> Reply:
    seconds = _number(body.get("seconds"), "seconds")
    if seconds < 0:
        raise HttpError(
            400,
            "invalid_value",
            "seconds must be >= 0 (the clock only moves forward)",
            param="seconds",
        )
    now, fired = state.ticker.advance(seconds)
    return Reply(200, {"now": now, "fired": fired})


def _lock_args(body: dict[str, Any]) -> tuple[str, str, LockHolder]:
    project, stack = body.get("project"), body.get("stack")
    if not isinstance(project, str) or not isinstance(stack, str):
        raise HttpError(400, "invalid_value", "project and stack must be strings")
    try:
        return project, stack, LockHolder.from_json(body.get("holder"))
    except ValueError as err:
        raise HttpError(400, "invalid_value", str(err), param="holder") from None


def _acquire_lock(state: EmulatorState, body: dict[str, Any]) -> Reply:
    project, stack, holder = _lock_args(body)
    try:
        state.store.acquire_lock(project, stack, holder)
    except LockHeld as held:
        return Reply(
            409,
            {
                "error": {"code": "locked", "message": str(held), "type": "conflict"},
                "holder": held.holder.to_json(),
            },
        )
    return Reply(200, {"held": True})


def _renew_lock(state: EmulatorState, body: dict[str, Any]) -> Reply:
    return Reply(200, {"held": state.store.renew_lock(*_lock_args(body))})


def _release_lock(state: EmulatorState, body: dict[str, Any]) -> Reply:
    state.store.release_lock(*_lock_args(body))
    return Reply(200, {"held": False})


def _fire_event(state: EmulatorState, body: dict[str, Any]) -> Reply:
    event = dict(body)
    project = event.pop("project", DEFAULT_PROJECT)
    if not isinstance(project, str) or not project:
        raise HttpError(400, "invalid_value", "project must be a non-empty string", param="project")
    fired = state.store.fire_event(project, event)
    runs = [
        {"routine": name, "id": run["id"], "trigger_name": run["trigger_name"]}
        for name, run in fired
    ]
    return Reply(200, {"fired": len(runs), "runs": runs})


def _get_failures(state: EmulatorState, _body: dict[str, Any]) -> Reply:
    return Reply(200, {"failures": [f.to_json() for f in state.store.list_failures()]})


def _put_failures(state: EmulatorState, body: dict[str, Any]) -> Reply:
    unknown = sorted(set(body) - {"failures"})
    listed = body.get("failures")
    if unknown or not isinstance(listed, list):
        message = 'the body must be {"failures": [{"agent": NAME, "rate"?, "status_code"?}]}'
        raise HttpError(400, "invalid_value", message, param=unknown[0] if unknown else "failures")
    try:
        failing = [AgentFailure.from_json(item) for item in listed]
    except ValueError as err:
        raise HttpError(400, "invalid_value", str(err), param="failures") from None
    state.store.replace_failures(failing)
    return _get_failures(state, {})


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HttpError(400, "invalid_value", f"{name} must be a number", param=name)
    return float(value)


_ROUTES: Final[dict[str, dict[str, Handler]]] = {
    "/health": {"GET": _health},
    "/counters": {"GET": _counters},
    "/counters/reset": {"POST": _reset_counters},
    "/faults": {"GET": _get_faults, "PUT": _put_faults},
    "/clock": {"GET": _get_clock, "PUT": _put_clock},
    "/clock/advance": {"POST": _advance},
    "/locks/acquire": {"POST": _acquire_lock},
    "/locks/renew": {"POST": _renew_lock},
    "/locks/release": {"POST": _release_lock},
    "/events": {"POST": _fire_event},
    "/agents/failures": {"GET": _get_failures, "PUT": _put_failures},
}
