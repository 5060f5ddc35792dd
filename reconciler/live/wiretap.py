"""An azure-core policy that sees every HTTP attempt: retry counts, the last response, ``-v``.

``Wiretap`` is given to the SDK client as its ``custom_hook_policy`` (a supported configuration
hook). The pipeline runs it *after* the retry policy, so it sees every attempt, not only the
first; it counts them in this thread's ``calls.tally()`` and logs one line per attempt on the
``reconciler.http`` logger: method, path, status, milliseconds and retry number. It never logs
headers, tokens, query strings or bodies.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

import requests
from azure.core.exceptions import (
    AzureError,
    ResponseNotReadError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy
from urllib3.exceptions import HTTPError, ReadTimeoutError

from reconciler.live import calls

log = logging.getLogger("reconciler.http")
_START = "reconciler_started"


class Wiretap(SansIOHTTPPolicy[Any, Any]):
    """Counts and logs every attempt; remembers the last response per thread."""

    def on_request(self, request: PipelineRequest[Any]) -> None:
        """Note the attempt (and whether it is a retry)."""
        request.context[_START] = time.monotonic()
        tally = calls.current()
        if tally is None:
            return
        if _attempt(request) > 0:
            tally.retries += 1
        else:
            tally.requests += 1

    def on_response(
        self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]
    ) -> None:
        """Log the attempt and remember the response."""
        http = response.http_response
        status = int(http.status_code)
        _load(http)
        calls.remember(
            calls.LastResponse(status, http.headers.get("Content-Type", ""), _body(http))
        )
        tally = calls.current()
        if tally is not None:
            tally.last_status = status
        _log(request, str(status))

    def on_exception(self, request: PipelineRequest[Any]) -> None:
        """Log an attempt that got no response (refused, dropped, timed out)."""
        _log(request, "no response")


def _attempt(request: PipelineRequest[Any]) -> int:
    return int(request.context.get("retry_count") or 0)


def _load(http: Any) -> None:
    """Read a streamed body here, inside the retry policy, so that a connection that drops or
    times out mid-body is retried as it is for a body the transport read itself; the errors are
    those the transport raises for an unstreamed body. (``azure_raw`` streams single-routine
    responses only to skip the SDK's model; every streamed body is read, so none is lost.)"""
    try:
        http.content  # noqa: B018 - raises when a streamed body is still unread
    except ResponseNotReadError:
        pass
    except AttributeError:  # not a rest response: the transport loaded it
        return
    else:
        return
    try:
        http.read()
    except AzureError:
        raise
    except (ReadTimeoutError, TimeoutError) as err:
        raise ServiceResponseTimeoutError(err, error=err) from err
    except (HTTPError, OSError, requests.RequestException) as err:
        raise ServiceResponseError(err, error=err) from err


def _body(http: Any) -> bytes:
    """The start of a loaded body (nothing for a streamed one, which is never read here)."""
    try:
        return bytes(http.body()[: calls.EXCERPT_MAX * 4])
    except Exception:  # a streamed body: nothing to show
        return b""


def _log(request: PipelineRequest[Any], outcome: str) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    started = float(request.context.get(_START) or time.monotonic())
    elapsed = (time.monotonic() - started) * 1000
    attempt = _attempt(request)
    path = urlsplit(request.http_request.url).path
    retry = f" retry {attempt}" if attempt else ""
    log.info("%s %s %s %.0fms%s", request.http_request.method, path, outcome, elapsed, retry)
