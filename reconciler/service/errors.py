"""HTTP-shaped errors of the service side.

``RoutineStore`` is shared by the ``local`` backend and the HTTP emulator, so a refused request
is a ``ServiceError`` carrying the status and the REST error body's fields (code, message,
param, details); the emulator sends it as is and the local backend turns it into a
``BackendError``. ``StoreError`` is different: the SQLite file cannot serve as a local project at
all (a configuration problem, never an HTTP answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Json = dict[str, Any]
PathParts = Sequence[str | int]


def error_type(status: int) -> str:
    """The ``type`` of an error body, from its status (OpenAI-style names)."""
    names = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
    if status >= 500:
        return "server_error"
    return names.get(status, "invalid_request_error")


class ServiceError(Exception):
    """A request the service refuses, with the HTTP status and the REST error body's fields."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        param: str | None = None,
        details: list[Json] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.details = details or []

    def to_body(self) -> Json:
        """The REST error body: ``{"error": {code, message, param, type[, details]}}``."""
        error: Json = {
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "type": error_type(self.status),
        }
        if self.details:
            error["details"] = self.details
        return {"error": error}


class StoreError(Exception):
    """The SQLite file cannot serve as a local project; the message is one line naming it."""


def detail(param: str | None, message: str) -> Json:
    """One entry of a 400's ``details``."""
    return {"code": "invalid_value", "message": message, "param": param}


def param_of(path: PathParts) -> str | None:
    """Dotted field path (``triggers.daily.cron_expression``), None for the whole body."""
    return ".".join(str(part) for part in path) or None


def invalid(details: list[Json]) -> ServiceError:
    """A 400 carrying the first problem's message and param, and every problem in details."""
    first = details[0]
    return ServiceError(400, "invalid_value", first["message"], first["param"], details)


def bad_argument(param: str, message: str) -> ServiceError:
    """A 400 for one bad argument (a query parameter or a field of a dispatch payload)."""
    return ServiceError(400, "invalid_value", message, param)


def not_found(name: str) -> ServiceError:
    """The 404 of a routine that does not exist."""
    shown = name if len(name) <= 100 else name[:99] + "…"  # a message, not an echo
    return ServiceError(404, "not_found", f"routine {shown!r} not found")
