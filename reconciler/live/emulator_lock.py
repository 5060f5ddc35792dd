"""The emulator's stack lock, reached on its admin API (loopback endpoints only).

The real Foundry service has no lock primitive; the emulator stands in for it but also serves
the embedded project's lock table at ``/_emulator/locks/{acquire,renew,release}``, so that two
applies through the emulator behave as two applies on the embedded project do. An endpoint that
does not answer there (not an emulator) holds no locks.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import unquote, urlsplit

from reconciler.live.base import BackendError
from reconciler.live.locking import LockHeld, LockHolder

TIMEOUT = 10.0


def _url(endpoint: str, verb: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}/_emulator/locks/{verb}"


def _project(endpoint: str) -> str:
    """The project as the emulator serves it (its routes decode ``%65`` to ``e``)."""
    return unquote(urlsplit(endpoint).path.partition("/api/projects/")[2].strip("/"))


def _send(endpoint: str, verb: str, stack: str, holder: LockHolder) -> tuple[int, Any]:
    body = {"project": _project(endpoint), "stack": stack, "holder": holder.to_json()}
    request = urllib.request.Request(  # noqa: S310 - loopback http(s) only, checked by caller
        _url(endpoint, verb),
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return int(response.status), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        try:
            payload = json.loads(err.read() or b"{}")
        except ValueError:
            payload = {}
        return int(err.code), payload
    except (OSError, ValueError) as err:
        raise BackendError(
            f"cannot take the stack lock at {endpoint}: {err}", kind="unreachable"
        ) from None


def acquire(endpoint: str, stack: str, holder: LockHolder) -> bool:
    """True when the emulator granted the lock, False when the endpoint has no lock route
    (404: not an emulator); ``LockHeld`` when another apply holds it; any other answer fails
    closed (a ``BackendError``): an apply never runs unlocked because the lock route broke."""
    status, payload = _send(endpoint, "acquire", stack, holder)
    if status == 200:
        return True
    if status == 409 and isinstance(payload, dict) and "holder" in payload:
        raise LockHeld(stack, LockHolder.from_json(payload["holder"]))
    if status == 404:
        return False
    raise BackendError(
        f"cannot take the stack lock at {endpoint}: the lock route answered {status}",
        kind="server",
    )


def renew(endpoint: str, stack: str, holder: LockHolder) -> bool:
    """Renew a lock this process holds; False when it was lost."""
    status, payload = _send(endpoint, "renew", stack, holder)
    return status != 200 or not isinstance(payload, dict) or payload.get("held") is not False


def release(endpoint: str, stack: str, holder: LockHolder) -> None:
    """Release a lock this process holds."""
    _send(endpoint, "release", stack, holder)
