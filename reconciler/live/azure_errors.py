"""SDK and transport failures as one clear ``BackendError`` line (never a Python exception name).

Every message names the operation and the endpoint; a status error gives the status and the
service's code and message; a body that is not what the contract promises (not JSON, HTML,
empty, the wrong shape) gives the status, the content type and a short excerpt of the body.
``maybe_applied`` says whether a write may have taken effect in spite of the error.
"""

from __future__ import annotations

from collections.abc import Callable

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from reconciler.live import calls
from reconciler.live.base import BackendError, ErrorKind

ROLE_HINT = (
    "the identity needs the 'Foundry User' role (formerly 'Azure AI User') or higher on the project"
)
READ_OPERATIONS = ("list routines", "get", "list runs")
REGION_HINT = (
    "check the endpoint (https://<account>.services.ai.azure.com/api/projects/"
    "<project>), and that Routines are available in the project's region"
)
NAME_SHOWN = 100
_RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class BadResponse(Exception):
    """A response whose body does not have the contract's shape (raised by the backend)."""


def translate(
    err: Exception,
    *,
    name: str | None,
    operation: str,
    endpoint: str,
    identity: Callable[[], str],
    retries: int = 0,
) -> BackendError:
    """One clear line for an SDK, transport or response-body error."""
    what = _what(operation, name)
    if isinstance(err, BackendError):
        return err
    if isinstance(err, ClientAuthenticationError) and getattr(err, "status_code", None) is None:
        return BackendError(
            f"could not get a token for {endpoint}: {_first_line(err).rstrip('.')}; sign in "
            "with 'az login', or configure workload identity (AZURE_CLIENT_ID, "
            "AZURE_TENANT_ID and a federated token, as azure/login sets up)",
            kind="auth",
        )
    if isinstance(err, ServiceRequestError):
        return BackendError(
            f"cannot reach {endpoint} ({what}): {_first_line(err)}{_after(retries)}",
            kind="unreachable",
            maybe_applied=retries > 0,
        )
    if isinstance(err, ServiceResponseError):
        return BackendError(
            f"the connection to {endpoint} dropped or timed out during {what}{_after(retries)}",
            kind="unreachable",
            maybe_applied=True,
        )
    if isinstance(err, HttpResponseError) and (err.status_code or 0) >= 400:
        return _from_status(
            err, what=what, name=name, endpoint=endpoint, identity=identity, retries=retries
        )
    return bad_response(operation, name, endpoint, err)


def bad_response(operation: str, name: str | None, endpoint: str, err: Exception) -> BackendError:
    """A response that is not valid JSON of the contract's shape: status, type, excerpt."""
    last = calls.last_response()
    if last is None:
        shown = "no response body was received"
    else:
        kind = last.content_type.split(";")[0].strip() or "no content type"
        body = f"body {last.excerpt!r}" if last.excerpt else "an empty body"
        shown = f"{last.status} ({kind}) with {body}"
    reason = str(err) if isinstance(err, BadResponse) else "the body is not the expected JSON"
    return BackendError(
        f"bad response from {endpoint} for {_what(operation, name)}: {shown}; {reason}",
        kind="server",
        status=last.status if last else None,
        maybe_applied=operation not in READ_OPERATIONS,
    )


def _body_excerpt() -> str:
    last = calls.last_response()
    if last is None or not last.excerpt:
        return ""
    kind = last.content_type.split(";")[0].strip() or "no content type"
    return f" ({kind}: {last.excerpt!r})"


def _what(operation: str, name: str | None) -> str:
    words = operation.replace("_", " ")
    return f"{words} '{shown_name(name)}'" if name else words


def shown_name(name: str) -> str:
    """A routine name as messages show it: one line, at most ``NAME_SHOWN`` characters."""
    return calls.excerpt(name, NAME_SHOWN)


def _after(retries: int) -> str:
    if not retries:
        return ""
    return f" (gave up after {retries} {'retry' if retries == 1 else 'retries'})"


def _from_status(
    err: HttpResponseError,
    *,
    what: str,
    name: str | None,
    endpoint: str,
    identity: Callable[[], str],
    retries: int,
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
        return _not_found(name, what, endpoint, code)
    maybe = status in _RETRIED_STATUSES or retries > 0
    if status == 429:
        return _throttled(what, code, retries)
    where = f" at {param}" if param else ""
    kind: ErrorKind = "invalid" if status == 400 else ("conflict" if status == 409 else "server")
    if code is None:  # not the service's error body (a gateway's page, say): show what came
        message = f"{message} from {endpoint}{_body_excerpt()}"
    return BackendError(
        f"{status} {code or 'error'}{where} for {what}: {message}{_after(retries)}",
        kind=kind,
        status=status,
        code=code,
        param=param,
        maybe_applied=maybe,
    )


def _throttled(what: str, code: str | None, retries: int) -> BackendError:
    """A 429: a dispatch is never retried (it could run the agent twice), so it was refused
    once; other calls were retried until the retries ran out."""
    if what.startswith("dispatch"):
        return BackendError(
            f"{what} was throttled (429) and, being a dispatch, not retried (a retry could run "
            "the agent twice): nothing was queued; try again later",
            kind="throttled",
            status=429,
            code=code,
            maybe_applied=retries > 0,
        )
    return BackendError(
        f"{what} was throttled (429) and retries ran out{_after(retries)}: try again later"
        + ("" if what.startswith(READ_OPERATIONS) else ", or lower apply's --concurrency"),
        kind="throttled",
        status=429,
        code=code,
        maybe_applied=True,
    )


def _not_found(name: str | None, what: str, endpoint: str, code: str | None) -> BackendError:
    if name is None:
        return BackendError(
            f"404 Not Found for {endpoint}/routines: {REGION_HINT}",
            kind="config",
            status=404,
            code=code,
        )
    return BackendError(
        f"404 Not Found for {what} at {endpoint}: the routine was not found",
        kind="not_found",
        status=404,
        code=code,
    )


def _service_error(err: HttpResponseError) -> tuple[str | None, str, str | None]:
    """(code, message, param) from the SDK's ApiErrorResponse model, else azure-core's parse."""
    detail = getattr(getattr(err, "model", None), "error", None) or getattr(err, "error", None)
    code = getattr(detail, "code", None)
    message = getattr(detail, "message", None) or err.reason or _first_line(err)
    param = getattr(detail, "param", None)
    return code, calls.excerpt(str(message), 300), param


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
