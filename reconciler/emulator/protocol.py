"""The wire rules every routine route shares: errors, api-version, features, auth and bodies.

Each check raises ``HttpError``; the server turns it into ``{"error": {code, message, param,
type}}`` with the right status and headers.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from reconciler.contract import nesting
from reconciler.service import ServiceError

API_VERSION: Final = "v1"
DEFAULT_PROJECT: Final = "_project"  # the project of an endpoint nobody named
ROUTINES_FEATURES: Final = frozenset({"V1Preview", "V2Preview"})
MAX_BODY: Final = 1024 * 1024
JSON_TYPE: Final = "application/json"


@dataclass
class Reply:
    """One HTTP answer: status, a JSON-able body (None = empty) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class HttpError(ServiceError):
    """A protocol-level failure: a ``ServiceError`` that may carry response headers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, code, message, param)
        self.headers = dict(headers or {})

    def reply(self) -> Reply:
        """This error as a ``Reply``."""
        return Reply(self.status, self.to_body(), dict(self.headers))


def error_body(status: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    """The service's error body."""
    return ServiceError(status, code, message, param).to_body()


def method_not_allowed(method: str, allowed: Iterable[str]) -> HttpError:
    """The 405 for ``method`` on a route that answers ``allowed`` (with an Allow header)."""
    listed = ", ".join(sorted(allowed))
    return HttpError(
        405,
        "method_not_allowed",
        f"{method} is not allowed here; allowed: {listed}",
        headers={"Allow": listed},
    )


def check_api_version(query: Mapping[str, list[str]]) -> None:
    """``api-version=v1`` must be present exactly once."""
    values = query.get("api-version")
    if not values:
        raise HttpError(
            400,
            "missing_api_version",
            f"the api-version query parameter is required (use api-version={API_VERSION})",
            param="api-version",
        )
    if len(values) != 1 or values[0] != API_VERSION:
        raise HttpError(
            400,
            "unsupported_api_version",
            f"api-version {', '.join(values)!r} is not supported; use {API_VERSION}",
            param="api-version",
        )


def check_features(header: str | None) -> None:
    """``Foundry-Features``: absent, or a list whose Routines entry is V1Preview/V2Preview."""
    if header is None:
        return
    for entry in header.split(","):
        name, _, value = entry.strip().partition("=")
        if name.strip().lower() == "routines" and value.strip() not in ROUTINES_FEATURES:
            raise HttpError(
                400,
                "invalid_foundry_features",
                f"Foundry-Features entry {entry.strip()!r} is not supported; use "
                "Routines=V1Preview or Routines=V2Preview",
                param="Foundry-Features",
            )


def check_auth(header: str | None, required_token: str | None) -> None:
    """A bearer token must be present (and equal ``required_token`` when one is set)."""
    scheme, _, token = (header or "").strip().partition(" ")
    token = token.strip()
    challenge = {"WWW-Authenticate": "Bearer"}
    if scheme.lower() != "bearer" or not token:
        raise HttpError(
            401,
            "unauthorized",
            "an 'Authorization: Bearer <token>' header is required",
            headers=challenge,
        )
    if required_token is not None and not hmac.compare_digest(
        token.encode("utf-8"), required_token.encode("utf-8")
    ):
        raise HttpError(
            401,
            "invalid_token",
            "the bearer token is not valid for this emulator",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


def check_content_length(header: str | None) -> int:
    """The declared body size; 400 when unreadable (the caller enforces ``MAX_BODY``)."""
    if header is None or not header.strip():
        return 0
    try:
        length = int(header.strip())
    except ValueError:
        raise HttpError(
            400, "invalid_content_length", "the Content-Length header is not a number"
        ) from None
    if length < 0:
        raise HttpError(400, "invalid_content_length", "the Content-Length header is negative")
    return length


def too_large(length: int) -> HttpError:
    """The 413 for a body of ``length`` bytes."""
    return HttpError(
        413, "request_too_large", f"the request body is {length} bytes; the limit is {MAX_BODY}"
    )


def check_content_type(header: str | None) -> None:
    """Bodies must be ``application/json`` (a UTF-8 charset parameter is allowed)."""
    media, _, params = (header or "").partition(";")
    if media.strip().lower() != JSON_TYPE:
        raise HttpError(
            415,
            "unsupported_media_type",
            f"Content-Type {header or '(none)'!r} is not supported; send {JSON_TYPE}",
        )
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise HttpError(
                415,
                "unsupported_media_type",
                f"charset {value!r} is not supported; send UTF-8 JSON",
            )


def parse_json(raw: bytes) -> Any:
    """Decode a JSON body; 400 ``invalid_json`` when it is not valid JSON or nests deeper than
    ``limits.JSON_DEPTH_MAX`` levels (measured before parsing: the parser recurses)."""
    try:
        return nesting.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except nesting.TooDeep as err:
        raise HttpError(400, "invalid_json", f"the request body {err}") from None
    except (UnicodeDecodeError, ValueError) as err:
        raise HttpError(400, "invalid_json", f"the request body is not valid JSON: {err}") from None


def json_object(raw: bytes, content_type: str | None, *, required: bool) -> dict[str, Any]:
    """A request body that must be a JSON object; an empty body is ``{}`` unless required."""
    if not raw:
        if required:
            raise HttpError(400, "invalid_json", "a JSON object request body is required")
        return {}
    check_content_type(content_type)
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise HttpError(
            400,
            "invalid_json",
            f"the request body must be a JSON object, not {type(data).__name__}",
        )
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
