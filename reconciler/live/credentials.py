"""Credentials: DefaultAzureCredential for Foundry, a static token for a loopback emulator.

Modes (``RECONCILER_AUTH``): ``default`` uses azure-identity's DefaultAzureCredential (az login,
managed identity, GitHub OIDC workload identity); ``static`` sends ``RECONCILER_STATIC_TOKEN``
(default ``reconciler-emulator``) and is allowed for loopback endpoints only.  When unset, a
loopback endpoint uses ``static`` and every other endpoint ``default``.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential

from reconciler.live.base import BackendError

AUTH_VAR = "RECONCILER_AUTH"
TOKEN_VAR = "RECONCILER_STATIC_TOKEN"  # noqa: S105 - the name of a variable, not a secret
DEFAULT_STATIC_TOKEN = "reconciler-emulator"  # noqa: S105 - loopback emulator only
SCOPE = "https://ai.azure.com/.default"


class StaticTokenCredential:
    """A fixed bearer token (for the emulator); never used for a non-loopback host."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """The same token for every scope, valid for an hour from now."""
        del scopes, kwargs
        return AccessToken(self._token, int(time.time()) + 3600)


def choose(environ: Mapping[str, str], loopback: bool) -> tuple[TokenCredential, str]:
    """The credential for an endpoint and a short description of the mode."""
    mode = environ.get(AUTH_VAR, "static" if loopback else "default").strip().lower()
    if mode == "static":
        if not loopback:
            raise BackendError(
                f"{AUTH_VAR}=static sends a fixed token and is allowed only for a "
                "loopback emulator endpoint",
                kind="config",
            )
        return StaticTokenCredential(environ.get(TOKEN_VAR) or DEFAULT_STATIC_TOKEN), "static token"
    if mode == "default":
        from azure.identity import DefaultAzureCredential  # noqa: PLC0415 - slow import

        return DefaultAzureCredential(), "DefaultAzureCredential"
    raise BackendError(
        f"{AUTH_VAR}={mode!r} is not a credential mode: use default or static", kind="config"
    )


def describe(credential: TokenCredential, mode: str) -> str:
    """Who the credential is (from the token's unverified claims), without showing the token."""
    if isinstance(credential, StaticTokenCredential):
        return "a static emulator token"
    try:
        claims = _claims(credential.get_token(SCOPE).token)
    except Exception:
        return mode
    who = claims.get("upn") or claims.get("unique_name") or claims.get("preferred_username")
    if who:
        return f"user {who} (via {mode})"
    app = claims.get("appid") or claims.get("azp")
    if app:
        return f"application {app}, object id {claims.get('oid', '?')} (via {mode})"
    return mode


def _claims(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    padded = parts[1] + "=" * (-len(parts[1]) % 4)
    data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    return data if isinstance(data, dict) else {}
