"""The ``azure`` backend: a Foundry project through ``azure-ai-projects`` (client.beta.routines).

This is the only module that imports the SDK.  Reads follow ``next_link`` pages of the largest
size the service allows; writes get long timeouts (creating a routine on a cold project can take
minutes); retries are azure-core's RetryPolicy (408, 429, 5xx, honouring Retry-After), never a
hand-written loop.  ``dispatch`` is never retried (it is not idempotent); ``enable``/``disable``
are, as they are idempotent.  Every SDK error becomes a ``BackendError`` with one clear line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from azure.ai.projects import AIProjectClient
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline.policies import RetryPolicy

from reconciler.contract.limits import LIST_PAGE_MAX
from reconciler.live import credentials
from reconciler.live.base import BackendError, ErrorKind, WireRoutine
from reconciler.live.endpoint import is_loopback

READ_TIMEOUT = 120
WRITE_TIMEOUT = 600
CONNECT_TIMEOUT = 30
RETRY_TOTAL = 6
RETRY_BACKOFF = 0.8
ROLE_HINT = (
    "the identity needs the 'Foundry User' role (formerly 'Azure AI User') or higher on the project"
)
READ_OPERATIONS = ("list routines", "get", "list runs")
REGION_HINT = (
    "check the endpoint (https://<account>.services.ai.azure.com/api/projects/"
    "<project>), and that Routines are available in the project's region"
)


def retry_settings(environ: Mapping[str, str]) -> tuple[int, float]:
    """``RECONCILER_RETRY_TOTAL`` (default 6) and ``RECONCILER_RETRY_BACKOFF`` (seconds, 0.8)."""
    try:
        total = int(environ.get("RECONCILER_RETRY_TOTAL", RETRY_TOTAL))
        backoff = float(environ.get("RECONCILER_RETRY_BACKOFF", RETRY_BACKOFF))
    except ValueError:
        raise BackendError(
            "RECONCILER_RETRY_TOTAL must be an integer and RECONCILER_RETRY_BACKOFF a number",
            kind="config",
        ) from None
    if total < 0 or backoff < 0:
        raise BackendError("retry settings must not be negative", kind="config")
    return total, backoff


class AzureBackend:
    """Backend over a Foundry project endpoint (or the emulator on a loopback address)."""

    def __init__(self, endpoint: str, *, environ: Mapping[str, str] | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        env = dict(os.environ if environ is None else environ)
        retry_total, retry_backoff_factor = retry_settings(env)
        loopback = is_loopback(urlparse(self.endpoint).hostname or "")
        self._credential, self._mode = credentials.choose(env, loopback)
        self._call: dict[str, Any] = {"enforce_https": False} if loopback else {}
        self._client = AIProjectClient(
            endpoint=self.endpoint,
            credential=self._credential,
            retry_policy=RetryPolicy(
                retry_total=retry_total,
                retry_backoff_factor=retry_backoff_factor,
                retry_backoff_max=30,
            ),
            connection_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
        )
        self._routines = self._client.beta.routines

    @property
    def target(self) -> str:
        """The project endpoint."""
        return self.endpoint

    def list_routines(self) -> list[WireRoutine]:
        """Every routine, following next_link pages of the maximum size."""
        try:
            return [r.as_dict() for r in self._routines.list(limit=LIST_PAGE_MAX, **self._call)]
        except Exception as err:
            raise self._translate(err, None, "list routines") from None

    def get(self, name: str) -> WireRoutine | None:
        """One routine, or None when absent."""
        try:
            return dict(self._routines.get(name, **self._call).as_dict())
        except ResourceNotFoundError:
            return None
        except Exception as err:
            raise self._translate(err, name, "get") from None

    def create_or_update(self, name: str, body: dict[str, Any]) -> WireRoutine:
        """Full-replace PUT with a long read timeout."""
        return self._write("create_or_update", name, body)

    def enable(self, name: str) -> WireRoutine:
        """POST :enable (idempotent, so retried like a PUT)."""
        return self._write("enable", name)

    def disable(self, name: str) -> WireRoutine:
        """POST :disable (idempotent, so retried like a PUT)."""
        return self._write("disable", name)

    def _write(self, operation: str, name: str, *args: Any) -> WireRoutine:
        method = getattr(self._routines, operation)
        extra: dict[str, Any] = {"read_timeout": WRITE_TIMEOUT}
        if operation in ("enable", "disable"):
            extra["retry_on_methods"] = frozenset({"POST", "GET", "PUT", "DELETE"})
        try:
            return dict(method(name, *args, **self._call, **extra).as_dict())
        except Exception as err:
            raise self._translate(err, name, operation) from None

    def delete(self, name: str) -> None:
        """DELETE (its run records stay)."""
        try:
            self._routines.delete(name, read_timeout=WRITE_TIMEOUT, **self._call)
        except Exception as err:
            raise self._translate(err, name, "delete") from None

    def list_runs(self, name: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Run records, newest first."""
        try:
            pages = self._routines.list_runs(
                name, limit=min(limit or LIST_PAGE_MAX, LIST_PAGE_MAX), **self._call
            )
            runs: list[dict[str, Any]] = []
            for run in pages:
                runs.append(run.as_dict())
                if limit is not None and len(runs) >= limit:
                    break
            return runs
        except Exception as err:
            raise self._translate(err, name, "list runs") from None

    def dispatch(self, name: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Queue one run; never retried (a retry could run the agent twice)."""
        try:
            result = self._routines.dispatch(name, payload=payload, retry_total=0, **self._call)
            return dict(result.as_dict())
        except Exception as err:
            raise self._translate(err, name, "dispatch") from None

    def close(self) -> None:
        """Close the SDK client."""
        self._client.close()

    def _translate(self, err: Exception, name: str | None, operation: str) -> BackendError:
        return translate(
            err,
            name=name,
            operation=operation,
            endpoint=self.endpoint,
            identity=lambda: credentials.describe(self._credential, self._mode),
        )


def translate(
    err: Exception, *, name: str | None, operation: str, endpoint: str, identity: Any
) -> BackendError:
    """One clear line for an SDK or credential error."""
    words = operation.replace("_", " ")
    what = f"{words} '{name}'" if name else words
    if isinstance(err, ClientAuthenticationError) and getattr(err, "status_code", None) is None:
        return BackendError(
            f"could not get a token for {endpoint}: {_first_line(err).rstrip('.')}; sign in "
            "with 'az login', or configure workload identity (AZURE_CLIENT_ID, "
            "AZURE_TENANT_ID and a federated token, as azure/login sets up)",
            kind="auth",
        )
    if isinstance(err, ServiceRequestError):
        return BackendError(
            f"cannot reach {endpoint} ({what}): {_first_line(err)}", kind="unreachable"
        )
    if isinstance(err, ServiceResponseError):
        return BackendError(
            f"the connection to {endpoint} dropped during {what}: it may or may "
            "not have taken effect; run plan again to see",
            kind="unreachable",
        )
    if isinstance(err, HttpResponseError):
        return _from_status(err, what, name, endpoint, identity)
    if isinstance(err, BackendError):
        return err
    return BackendError(f"{what} failed: {type(err).__name__}: {_first_line(err)}")


def _from_status(
    err: HttpResponseError, what: str, name: str | None, endpoint: str, identity: Any
) -> BackendError:
    status = err.status_code or 0
    code, message, param = _service_error(err)
    if status == 401:
        return BackendError(
            f"401 Unauthorized for {what} at {endpoint}: the service did not accept the "
            f"credential ({identity()}); check the tenant and the sign-in, and {ROLE_HINT}",
            kind="auth",
            status=401,
            code=code,
        )
    if status == 403:
        return BackendError(
            f"403 Forbidden for {what} at {endpoint}: the identity ({identity()}) lacks access; "
            f"{ROLE_HINT}",
            kind="forbidden",
            status=403,
            code=code,
        )
    if status == 404:
        if name is None:
            return BackendError(
                f"404 Not Found for {endpoint}/routines: {REGION_HINT}",
                kind="config",
                status=404,
                code=code,
            )
        return BackendError(f"routine '{name}' not found", kind="not_found", status=404, code=code)
    if status == 429:
        return BackendError(
            f"{what} was throttled (429) and retries ran out: try again later"
            + ("" if what.startswith(READ_OPERATIONS) else ", or lower apply's --concurrency"),
            kind="throttled",
            status=429,
            code=code,
        )
    where = f" at {param}" if param else ""
    kind: ErrorKind = "invalid" if status == 400 else ("conflict" if status == 409 else "server")
    return BackendError(
        f"{status} {code or 'error'}{where} for {what}: {message}",
        kind=kind,
        status=status,
        code=code,
        param=param,
    )


def _service_error(err: HttpResponseError) -> tuple[str | None, str, str | None]:
    """(code, message, param) from the SDK's ApiErrorResponse model, else azure-core's parse."""
    detail = getattr(getattr(err, "model", None), "error", None) or getattr(err, "error", None)
    code = getattr(detail, "code", None)
    message = getattr(detail, "message", None) or err.reason or _first_line(err)
    param = getattr(detail, "param", None)
    return code, str(message), param


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
