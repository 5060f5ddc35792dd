"""Which project a command talks to: ``--endpoint``, the environment, or the local default.

Forms: ``local:PATH`` (the embedded SQLite project), ``https://<account>.services.ai.azure.com/
api/projects/<project>`` (a Foundry project), or ``http://127.0.0.1:PORT/api/projects/<project>``
(plain HTTP is accepted for loopback hosts only: the emulator).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import SplitResult, unquote, urlparse, urlsplit

from reconciler.diagnostics import Failure

DEFAULT_LOCAL = "local:.reconciler/local.db"


class EndpointError(Failure):
    """An endpoint that is not one the reconciler may talk to (one line; never shows user-info)."""


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
    """Parse an endpoint string; unknown schemes, non-loopback plain HTTP, user-info, a query or
    fragment, and ``.``/``..`` path segments are errors.  No message shows a URL's user-info
    (it may hold a password), and the header only ever prints an endpoint that parsed."""
    text = text.strip()
    if text.startswith("local:"):
        path = text[len("local:") :]
        if not path:
            raise EndpointError(f"endpoint {text!r} ({origin}) names no file: use local:PATH")
        return Endpoint("local", path, origin)
    shown = redact(text)
    if "://" in text and "@" in text:
        raise EndpointError(
            f"endpoint {shown!r} ({origin}) contains user-info (user:password@): credentials "
            "never go in the endpoint; the reconciler signs in with Azure credentials"
        )
    try:
        parsed = urlsplit(text)
        host = parsed.hostname
        _ = parsed.port  # raises for a port that is not a number in 0-65535
    except ValueError as err:
        raise EndpointError(f"endpoint {shown!r} ({origin}) is not a valid URL: {err}") from None
    if parsed.scheme not in ("https", "http") or not host:
        raise EndpointError(
            f"unknown endpoint {shown!r} ({origin}): use local:PATH, "
            "https://<account>.services.ai.azure.com/api/projects/<project>, or "
            "http://127.0.0.1:PORT/api/projects/<project> for the emulator"
        )
    _check_path(parsed, text, origin)
    if parsed.scheme == "http" and not is_loopback(host):
        raise EndpointError(
            f"refusing plain http:// for non-loopback host {host!r} ({origin}): "
            "tokens would travel unencrypted; use https://"
        )
    return Endpoint("azure", text.rstrip("/"), origin)


def redact(text: str) -> str:
    """``text`` with everything up to the last ``@`` after the scheme (a URL's user-info,
    ``user:password@``) replaced by ``***@``: safe to print."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    _, at, tail = rest.rpartition("@")
    return f"{scheme}{sep}***@{tail}" if at else text


def _check_path(parsed: SplitResult, text: str, origin: str) -> None:
    """Refuse what a project endpoint never has: a query or fragment (requests would drop or
    garble it) and ``.``/``..`` segments (the header would name another project than the one
    written to); then require ``/api/projects/<project>``."""
    if "?" in text or "#" in text:
        raise EndpointError(
            f"endpoint {text!r} ({origin}) has a query string or fragment ('?' or '#'): "
            "use https://<account>.services.ai.azure.com/api/projects/<project>"
        )
    if any(part in (".", "..") for part in re.split(r"[/\\]", unquote(parsed.path))):
        raise EndpointError(
            f"endpoint {text!r} ({origin}) has a '.' or '..' path segment: write the project "
            "path it stands for"
        )
    _, marker, project = parsed.path.partition("/api/projects/")
    if not marker or not project.strip("/"):
        raise EndpointError(
            f"endpoint {text!r} ({origin}) is not a project endpoint: it must contain "
            "/api/projects/<project>"
        )


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
        raise EndpointError(
            f"{origin} is empty: refusing to fall back to another project",
            hint="set it to a project endpoint, or leave it out for the local project",
        )
    return value
