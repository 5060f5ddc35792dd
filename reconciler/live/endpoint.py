"""Which project a command talks to: ``--endpoint``, the environment, or the local default.

Forms: ``local:PATH`` (the embedded SQLite project), ``https://<account>.services.ai.azure.com/
api/projects/<project>`` (a Foundry project), or ``http://127.0.0.1:PORT/api/projects/<project>``
(plain HTTP is accepted for loopback hosts only: the emulator).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlparse

from reconciler.diagnostics import ReconcilerError

DEFAULT_LOCAL = "local:.reconciler/local.db"
ENV_VAR = "AZURE_AI_PROJECT_ENDPOINT"


@dataclass(frozen=True)
class Endpoint:
    """A parsed endpoint and where the choice came from (shown in every command's header)."""

    kind: Literal["local", "azure"]
    value: str
    origin: str

    @property
    def display(self) -> str:
        """What the header prints."""
        return f"local:{self.value}" if self.kind == "local" else self.value

    @property
    def loopback(self) -> bool:
        """True for an http(s) endpoint on a loopback host."""
        return self.kind == "azure" and is_loopback(urlparse(self.value).hostname or "")


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse(text: str, origin: str) -> Endpoint:
    """Parse an endpoint string; unknown schemes and non-loopback plain HTTP are errors."""
    text = text.strip()
    if text.startswith("local:"):
        path = text[len("local:") :]
        if not path:
            raise ReconcilerError(f"endpoint {text!r} ({origin}) names no file: use local:PATH")
        return Endpoint("local", path, origin)
    parsed = urlparse(text)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise ReconcilerError(
            f"unknown endpoint {text!r} ({origin}): use local:PATH, "
            "https://<account>.services.ai.azure.com/api/projects/<project>, or "
            "http://127.0.0.1:PORT/api/projects/<project> for the emulator"
        )
    if parsed.scheme == "http" and not is_loopback(parsed.hostname):
        raise ReconcilerError(
            f"refusing plain http:// for non-loopback host {parsed.hostname!r} ({origin}): "
            "tokens would travel unencrypted; use https://"
        )
    if "/api/projects/" not in parsed.path:
        raise ReconcilerError(
            f"endpoint {text!r} ({origin}) is not a project endpoint: it must contain "
            "/api/projects/<project>"
        )
    return Endpoint("azure", text.rstrip("/"), origin)


def resolve(
    cli: str | None,
    configured: tuple[str, str] | None,
    environ: Mapping[str, str],
) -> Endpoint:
    """``--endpoint``, else the configured environment's endpoint, else $AZURE_AI_PROJECT_ENDPOINT,
    else the embedded local project.  An endpoint that is given but empty (a CI secret that is
    not set) is an error, never a fall-back to the local project."""
    if cli is not None:
        return parse(_given(cli, "--endpoint"), "--endpoint")
    if configured is not None:
        value, origin = configured
        return parse(value, origin)
    if ENV_VAR in environ:
        return parse(_given(environ[ENV_VAR], f"${ENV_VAR}"), f"${ENV_VAR}")
    return parse(DEFAULT_LOCAL, "default: no endpoint configured")


def _given(value: str, origin: str) -> str:
    if not value.strip():
        raise ReconcilerError(
            f"{origin} is empty: refusing to fall back to another project",
            hint="set it to a project endpoint, or leave it out for the local project",
        )
    return value
