"""Helpers for driving the emulator: a static-token credential, raw HTTP, the admin API.

The real SDK talks to the emulator over plain http on a loopback address; azure-core refuses
bearer tokens there unless each call passes ``enforce_https=False`` (``HTTP`` below).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from azure.ai.projects import AIProjectClient
from azure.core.credentials import AccessToken

from reconciler.emulator.clock import EmulatedClock
from reconciler.emulator.server import Emulator

HTTP: Final[dict[str, Any]] = {"enforce_https": False}
TOKEN: Final = "test-token"
FEATURES: Final = "Routines=V2Preview"
# 2030-01-01T00:02:30Z: a frozen emulated "now" just past a */5 boundary.
FROZEN_START: Final = 1893456150.0


class StaticToken:
    """A real ``TokenCredential``: always the same bearer token, valid for an hour."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """The static token (the scopes are ignored)."""
        del scopes, kwargs
        self.calls += 1
        return AccessToken(self.token, int(time.time()) + 3600)


@dataclass
class RawResponse:
    """Status, headers (lower-case names) and the decoded JSON body (None when empty)."""

    status: int
    headers: dict[str, str]
    body: Any

    @property
    def error(self) -> dict[str, Any]:
        """The ``error`` object of an error body."""
        return dict(self.body["error"])


def raw(
    method: str,
    url: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
    auth: bool = True,
    features: bool = True,
) -> RawResponse:
    """One HTTP request with urllib; 4xx/5xx are returned, not raised."""
    sent = {"Foundry-Features": FEATURES} if features else {}
    if auth:
        sent["Authorization"] = f"Bearer {TOKEN}"
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        sent["Content-Type"] = "application/json"
    sent.update(headers or {})
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return _decode(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as err:
        return _decode(err.code, dict(err.headers.items()), err.read())


def _decode(status: int, headers: dict[str, str], payload: bytes) -> RawResponse:
    lowered = {key.lower(): value for key, value in headers.items()}
    return RawResponse(status, lowered, json.loads(payload) if payload else None)


def admin(base_url: str, method: str, path: str, body: Any = None) -> Any:
    """Call ``/_emulator/<path>`` and return its JSON (asserting a 200)."""
    response = raw(method, f"{base_url}/_emulator/{path}", body, auth=False)
    assert response.status == 200, response.body
    return response.body


@contextmanager
def frozen_emulator(db: Path) -> Iterator[Emulator]:
    """A running emulator on ``db`` whose clock moves only when a test advances it."""
    with Emulator(db, clock=EmulatedClock(FROZEN_START, speed=0)) as running:
        yield running


@contextmanager
def sdk_routines(emu: Emulator) -> Iterator[Any]:
    """``client.beta.routines`` of the real SDK against ``emu``, without retries."""
    with AIProjectClient(endpoint=emu.endpoint(), credential=StaticToken(), retry_total=0) as c:
        yield c.beta.routines
