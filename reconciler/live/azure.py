"""The ``azure`` backend: a Foundry project through ``azure-ai-projects`` (client.beta.routines;
client.agents.get for the agent check).

This is the only module that imports the SDK.  Reads follow ``next_link`` pages of the largest
size the service allows, and stop with a clear error when the service repeats a cursor or sends
a page with nothing new (a paging loop).  Writes get long timeouts (creating a routine on a cold
project can take minutes).  Retries are azure-core's RetryPolicy (408, 429, 5xx, dropped
connections; honouring Retry-After), never a hand-written loop, and the configured total applies
to every kind of retry.  ``dispatch`` is never retried once it may have been received (it is
not idempotent; only a failure to connect is); ``enable`` and ``disable`` are, as they are
idempotent.  Every failure becomes a ``BackendError`` with one clear
line (``azure_errors``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

import requests
from azure.ai.projects import AIProjectClient
from azure.core.pipeline.policies import RetryPolicy
from azure.core.pipeline.transport import RequestsTransport

from reconciler.contract.agents import AgentInfo, from_details
from reconciler.contract.limits import LIST_PAGE_MAX
from reconciler.live import azure_pages, calls, credentials, emulator_lock, wiretap
from reconciler.live.azure_errors import BadResponse, translate
from reconciler.live.azure_raw import raw_call
from reconciler.live.base import BackendError, Closing, PageSink, WireRoutine
from reconciler.live.endpoint import is_loopback
from reconciler.live.locking import LockHolder

READ_TIMEOUT = 120
WRITE_TIMEOUT = 600
CONNECT_TIMEOUT = 30
RETRY_TOTAL = 10
RETRY_BACKOFF = 0.8
MAX_ROUTINES = 200_000
_DISPATCH_RETRY: dict[str, Any] = {
    "retry_on_methods": frozenset({"POST"}),
    "retry_read": 0,
    "retry_status": 0,
}
"""``:dispatch_async`` is retried only when the request cannot have been sent: azure-core counts
a failure to connect (``ServiceRequestError``) against ``retry_connect``, which keeps the
configured total; a dropped or timed-out answer (``retry_read``) and any status, 429/5xx and
Retry-After included (``retry_status``), exhaust the retries at once."""


def read_timeout(environ: Mapping[str, str]) -> float:
    """Seconds to wait for a read's answer: ``RECONCILER_READ_TIMEOUT`` (default 120; writes
    wait ``WRITE_TIMEOUT``, a cold create can take minutes)."""
    text = environ.get("RECONCILER_READ_TIMEOUT")
    try:
        seconds = float(text) if text is not None else float(READ_TIMEOUT)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= WRITE_TIMEOUT:
        raise BackendError(
            f"RECONCILER_READ_TIMEOUT must be a number of seconds in (0, {WRITE_TIMEOUT}]",
            kind="config",
        )
    return seconds


def retry_settings(environ: Mapping[str, str]) -> tuple[int, float]:
    """``RECONCILER_RETRY_TOTAL`` (default 10, azure-core's own default) and
    ``RECONCILER_RETRY_BACKOFF`` (seconds, default 0.8)."""
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


def session_for(endpoint: str) -> requests.Session:
    """A requests session that reads the proxy and CA-bundle environment once, for the one host
    every request goes to: requests would otherwise read the whole environment again for every
    request (``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE`` keep their meaning)."""
    session = requests.Session()
    session.proxies = requests.utils.get_environ_proxies(endpoint)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    session.trust_env = False
    return session


def retry_policy(total: int, backoff: float) -> RetryPolicy[Any, Any]:
    """azure-core's policy with ``total`` for every kind: azure-core's own per-kind limits
    (connect, read, status: 3 each) would otherwise cap the retries whatever the total says."""
    return RetryPolicy(
        retry_total=total,
        retry_connect=total,
        retry_read=total,
        retry_status=total,
        retry_backoff_factor=backoff,
        retry_backoff_max=30,
    )


class AzureBackend(Closing):
    """Backend over a Foundry project endpoint (or the emulator on a loopback address)."""

    def __init__(self, endpoint: str, *, environ: Mapping[str, str] | None = None) -> None:
        self.endpoint = endpoint.rstrip("/")
        env = dict(os.environ if environ is None else environ)
        retry_total, retry_backoff_factor = retry_settings(env)
        self._loopback = is_loopback(urlparse(self.endpoint).hostname or "")
        self._credential, self._mode = credentials.choose(env, self._loopback)
        self._call: dict[str, Any] = {"enforce_https": False} if self._loopback else {}
        self._client = AIProjectClient(
            endpoint=self.endpoint,
            credential=self._credential,
            retry_policy=retry_policy(retry_total, retry_backoff_factor),
            custom_hook_policy=wiretap.Wiretap(),
            # The timeouts go to the transport: given one, the client ignores its own.
            transport=RequestsTransport(
                session=session_for(self.endpoint),
                session_owner=True,
                connection_timeout=CONNECT_TIMEOUT,
                read_timeout=read_timeout(env),
            ),
        )
        self._routines = self._client.beta.routines

    @property
    def target(self) -> str:
        """The project endpoint."""
        return self.endpoint

    def list_routines(self) -> list[WireRoutine]:
        """Every routine, following next_link pages of the maximum size."""
        found: list[WireRoutine] = []
        self.each_page(found.extend)
        return found

    def each_page(self, on_page: PageSink) -> None:
        """Each page's new routines to ``on_page``, as the pages arrive."""
        with self._translated("list routines", None):
            walk_pages(azure_pages.pages(self._client, LIST_PAGE_MAX, self._call), on_page)

    def get(self, name: str) -> WireRoutine | None:
        """One routine, or None when absent."""
        try:
            with self._translated("get", name):
                return routine_dict(self._routines.get(name, **self._call, **raw_call()))
        except BackendError as err:
            if err.kind == "not_found":
                return None
            raise

    def get_agent(self, name: str) -> AgentInfo | None:
        """``client.agents.get``: the agent's kind, state and identity; None when absent."""
        try:
            with self._translated("get agent", name):
                details = self._client.agents.get(name, **self._call)
                agent = from_details(_as_dict(details, "an agent object"))
                if agent is None:
                    raise BadResponse("expected an agent object with a name")
                return agent
        except BackendError as err:
            if err.kind == "not_found":
                return None
            raise

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
        with self._translated(operation, name):
            return routine_dict(method(name, *args, **self._call, **extra, **raw_call()))

    def delete(self, name: str) -> None:
        """DELETE (its run records stay)."""
        with self._translated("delete", name):
            self._routines.delete(name, read_timeout=WRITE_TIMEOUT, **self._call)

    def list_runs(self, name: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Run records, newest first."""
        with self._translated("list runs", name):
            pages = self._routines.list_runs(
                name, limit=min(limit or LIST_PAGE_MAX, LIST_PAGE_MAX), **self._call
            )
            runs: list[dict[str, Any]] = []
            for run in pages:
                runs.append(_as_dict(run, "a run record"))
                if limit is not None and len(runs) >= limit:
                    break
            return runs

    def iter_runs(
        self, name: str, *, page_size: int = LIST_PAGE_MAX, filter_expression: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Run records, newest first, following ``next_link`` a page at a time (a paging loop
        is a ``BadResponse``: ``azure_pages.guarded_runs``)."""
        with self._translated("list runs", name):
            pages = self._routines.list_runs(
                name, limit=page_size, filter=filter_expression, **self._call
            )
            for run in azure_pages.guarded_runs(pages):
                yield _as_dict(run, "a run record")

    def dispatch(self, name: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Queue one run; retried only for a failure to connect, never once the request may
        have been received (a retry could run the agent twice): ``_DISPATCH_RETRY``."""
        with self._translated("dispatch", name):
            options = {**_DISPATCH_RETRY, **self._call}
            result = self._routines.dispatch(name, payload=payload, **options)
            return _as_dict(result, "a dispatch acknowledgement")

    def acquire_lock(self, stack: str, holder: LockHolder) -> bool:
        """The emulator's stack lock on a loopback endpoint; the real service has none."""
        if not self._loopback:
            return False
        return emulator_lock.acquire(self.endpoint, stack, holder)

    def renew_lock(self, stack: str, holder: LockHolder) -> bool:
        """Renew the emulator's lock; False when it was lost."""
        return emulator_lock.renew(self.endpoint, stack, holder)

    def release_lock(self, stack: str, holder: LockHolder) -> None:
        """Release the emulator's lock."""
        emulator_lock.release(self.endpoint, stack, holder)

    def close(self) -> None:
        """Close the SDK client."""
        self._client.close()

    @contextmanager
    def _translated(self, operation: str, name: str | None) -> Iterator[None]:
        """Run SDK calls with every failure as one ``BackendError`` line."""
        calls.remember(None)
        with calls.tally() as tally:
            try:
                yield
            except Exception as err:
                raise self._translate(err, name, operation, tally.retries) from None

    def _translate(
        self, err: Exception, name: str | None, operation: str, retries: int
    ) -> BackendError:
        return translate(
            err,
            name=name,
            operation=operation,
            endpoint=self.endpoint,
            identity=lambda: credentials.describe(self._credential, self._mode),
            retries=retries,
        )


def walk_pages(pages: Iterable[tuple[list[Any], str | None]], on_page: PageSink) -> None:
    """The routines each page of a paged list adds (each page's items and its next link),
    given to ``on_page``; a repeated cursor, a page that adds nothing new while promising more,
    or more than ``MAX_ROUTINES`` stop with ``BadResponse`` (a paging loop)."""
    seen: set[str] = set()
    cursors: set[str] = set()
    for page, following in pages:
        before = len(seen)
        added: list[WireRoutine] = []
        for item in page:
            routine = routine_dict(item)
            name = str(routine["name"])
            if name not in seen:
                seen.add(name)
                added.append(routine)
        on_page(added)
        if following is None:
            break
        if following in cursors:
            raise BadResponse("the service repeated a next_link cursor (a paging loop)")
        if len(seen) == before:
            raise BadResponse("a page with a next_link added no new routines (a paging loop)")
        if len(seen) > MAX_ROUTINES:
            raise BadResponse(f"more than {MAX_ROUTINES} routines: stopping (a paging loop?)")
        cursors.add(following)


def routine_dict(item: Any) -> WireRoutine:
    """A routine model as a wire dict; ``BadResponse`` when it is not a routine object."""
    data = _as_dict(item, "a routine object")
    if not isinstance(data.get("name"), str):
        raise BadResponse("expected a routine object with a name")
    return data


def _as_dict(item: Any, what: str) -> dict[str, Any]:
    """The wire dict of an SDK model (``as_dict``: nested models too) or of raw JSON."""
    as_dict = getattr(item, "as_dict", None)
    data = as_dict() if callable(as_dict) else item
    if not isinstance(data, dict):
        raise BadResponse(f"expected {what}, got {type(data).__name__} {str(data)[:40]!r}")
    return dict(data)
