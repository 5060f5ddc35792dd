"""The hostile answers of the emulator's faults (see ``fault_config.py``): what a slow, failing or
broken service or gateway sends instead of the right answer.

Error replies for the 400/403/429/500/503 faults, bad bodies (``bad_json``, ``html``, ``empty``,
``wrong_shape``), holding a connection open without answering (``hang``), writing an answer one
byte at a time (``trickle``), and the fake routines and runs of the ``endless`` list mode. Every
wait ends when the server's ``stopping`` event is set, so a hostile answer never delays ``stop``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from reconciler.emulator.fault_config import LIST_ROUTES, STATUS_OF
from reconciler.emulator.faults import Decision
from reconciler.emulator.protocol import Reply, error_body

JSON_TYPE: Final = "application/json; charset=utf-8"
HTML_TYPE: Final = "text/html"
HOLD_POLL: Final = 0.05
BAD_JSON: Final = b'{"data": ['
HTML: Final = b"<html><body>Bad gateway</body></html>"
WRONG_LIST: Final = b'{"data": ["a", "b"], "next_link": null}'
WRONG_ROUTINE: Final = b'"just a string"'
WRONG_OTHER: Final = b"[1, 2]"
ENDLESS_PREFIX: Final = "endless-"
_ROUTINE_ANSWERS: Final = frozenset(
    {
        "PUT /routines/{name}",
        "GET /routines/{name}",
        "POST /routines/{name}:enable",
        "POST /routines/{name}:disable",
    }
)
_MESSAGES: Final = {
    400: ("invalid_value", "the request was refused (injected by the emulator)"),
    403: ("forbidden", "the principal lacks the role needed on this project (injected)"),
    429: ("too_many_requests", "rate limit exceeded (injected by the emulator)"),
    500: ("internal_error", "internal server error (injected by the emulator)"),
    503: ("service_unavailable", "service unavailable (injected by the emulator)"),
}
# A fixed "creation time" for fake routines: 2030-01-01T00:00:00Z.
_FAKE_EPOCH: Final = 1893456000


@dataclass(frozen=True)
class RawAnswer:
    """An answer given as bytes: status, Content-Type (None = no header), body, extra headers."""

    status: int
    content_type: str | None
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)


def fault_reply(decision: Decision) -> Reply:
    """The injected 400/403/429/500/503 answer, with the service's error body."""
    assert decision.fault is not None
    status = STATUS_OF[decision.fault]
    code, message = _MESSAGES[status]
    headers = {"Retry-After": str(decision.retry_after)} if status in (429, 503) else {}
    body = error_body(status, code, decision.message or message, decision.param)
    return Reply(status, body, headers)


def bad_body(kind: str, route: str, status: int = 200) -> RawAnswer:
    """The bad body of fault ``kind`` for a request on ``route`` (a counter key)."""
    if kind == "bad_json":
        return RawAnswer(status, JSON_TYPE, BAD_JSON)
    if kind == "html":
        return RawAnswer(status, HTML_TYPE, HTML)
    if kind == "empty":
        return RawAnswer(status, JSON_TYPE, b"")
    if route in LIST_ROUTES:
        return RawAnswer(status, JSON_TYPE, WRONG_LIST)
    return RawAnswer(status, JSON_TYPE, WRONG_ROUTINE if route in _ROUTINE_ANSWERS else WRONG_OTHER)


def hold(connection: socket.socket, stopping: threading.Event, poll: float = HOLD_POLL) -> None:
    """Answer nothing: keep ``connection`` open until the client hangs up or ``stopping`` is set.

    Whatever the client sends meanwhile is read and dropped.
    """
    with contextlib.suppress(OSError):
        connection.settimeout(poll)
        while not stopping.is_set():
            try:
                if not connection.recv(65536):
                    return
            except TimeoutError:
                continue


def trickle(
    write: Callable[[bytes], object], data: bytes, interval: float, stopping: threading.Event
) -> bool:
    """Write ``data`` one byte every ``interval`` seconds; False when ``stopping`` cut it short.

    A client that hangs up raises ``OSError`` from ``write``.
    """
    for index in range(len(data)):
        if index and stopping.wait(interval):
            return False
        write(data[index : index + 1])
    return True


def endless_page(after: str | None) -> int:
    """The page number in an ``endless`` cursor (1 for the first page or a foreign cursor)."""
    number = (after or "").removeprefix(ENDLESS_PREFIX)
    return int(number) if after and after.startswith(ENDLESS_PREFIX) and number.isdigit() else 1


def endless_cursor(page: int) -> str:
    """The ``after`` cursor of endless page ``page``."""
    return f"{ENDLESS_PREFIX}{page}"


def fake_routines(page: int, size: int) -> list[dict[str, Any]]:
    """``size`` valid routines no other page has (names ``endless-<page>-<i>``)."""
    return [_fake_routine(f"{ENDLESS_PREFIX}{page}-{index}", page) for index in range(size)]


def fake_runs(routine: str, page: int, size: int) -> list[dict[str, Any]]:
    """``size`` completed manual runs of ``routine`` no other page has."""
    at = _FAKE_EPOCH + page
    return [
        {
            "id": f"{ENDLESS_PREFIX}{page}-{index}",
            "status": "FINISHED",
            "phase": "completed",
            "trigger_type": None,
            "trigger_name": None,
            "attempt_source": "manual_dispatch",
            "action_type": "invoke_agent_responses_api",
            "agent_id": f"{routine}-agent",
            "triggered_at": at,
            "started_at": at,
            "ended_at": at,
        }
        for index in range(size)
    ]


def _fake_routine(name: str, page: int) -> dict[str, Any]:
    return {
        "name": name,
        "description": "a fake routine of the emulator's endless list mode",
        "enabled": True,
        "triggers": {
            "daily": {"type": "schedule", "cron_expression": "0 7 * * *", "time_zone": "UTC"}
        },
        "action": {"type": "invoke_agent_responses_api", "agent_name": "endless-agent"},
        "created_at": _FAKE_EPOCH + page,
        "updated_at": _FAKE_EPOCH + page,
    }
