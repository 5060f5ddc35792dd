"""``-v/--verbose`` and ``--debug``: what the reconciler logs, and where (stderr only).

``-v`` (or ``RECONCILER_VERBOSE=1``) shows one line per HTTP attempt from the ``reconciler.http``
logger: method, path, status, milliseconds and retry number. ``--debug`` (or
``RECONCILER_DEBUG=1``) adds azure-core's and azure-identity's own logging and tracebacks of
unexpected errors. Headers, tokens and bodies are never logged by the reconciler; a filter on
every handler also masks anything that looks like a bearer token or an ``Authorization`` value
in the SDK's records, so not even ``--debug`` prints a token.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping

_SECRET = re.compile(
    r"(?i)((?:authorization|x-ms-token|api-key)['\"]?\s*[:=]\s*['\"]?)[^'\",}\n]+"
    r"|(bearer\s+)[A-Za-z0-9._~+/=-]+"
)


def redact(text: str) -> str:
    """``text`` with bearer tokens and Authorization-like values replaced by ``REDACTED``."""
    return _SECRET.sub(lambda m: f"{m.group(1) or m.group(2)}REDACTED", text)


class _Redacting(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def level_from(verbose: bool, debug: bool, environ: Mapping[str, str]) -> str:
    """``quiet``, ``verbose`` or ``debug``: the flags, else the environment variables."""
    if debug or environ.get("RECONCILER_DEBUG"):
        return "debug"
    if verbose or environ.get("RECONCILER_VERBOSE"):
        return "verbose"
    return "quiet"


def configure(level: str) -> None:
    """Route the chosen loggers to stderr; silence azure's own warnings unless debugging."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    handler.addFilter(_Redacting())
    http = logging.getLogger("reconciler.http")
    http.handlers[:] = [handler] if level != "quiet" else []
    http.setLevel(logging.INFO if level != "quiet" else logging.WARNING)
    http.propagate = False
    azure = logging.getLogger("azure")
    if level == "debug":
        azure.handlers[:] = [handler]
        azure.setLevel(logging.DEBUG)
        azure.propagate = False
    else:
        # azure-identity logs every credential it tried at WARNING; our error says it in one line
        azure.setLevel(logging.CRITICAL)


def debugging() -> bool:
    """True when ``--debug`` or ``RECONCILER_DEBUG`` asked for tracebacks."""
    return logging.getLogger("azure").level == logging.DEBUG or bool(
        os.environ.get("RECONCILER_DEBUG")
    )
