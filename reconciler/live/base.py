"""The backend protocol every live target implements, and its error type.

Routines cross this boundary as plain wire dicts, exactly as the service returns them:
``name, description, enabled, triggers, action, created_at, updated_at`` (unix seconds).
The service never returns ``authorization``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal, Protocol, Self

from reconciler.contract.agents import AgentInfo
from reconciler.diagnostics import Failure
from reconciler.live.locking import LockHolder

WireRoutine = dict[str, Any]
PageSink = Callable[[list[WireRoutine]], None]
"""Called with each page of a list, in order (the routines it adds)."""

ErrorKind = Literal[
    "not_found",
    "invalid",
    "auth",
    "forbidden",
    "unreachable",
    "throttled",
    "server",
    "conflict",
    "config",
    "other",
]


class BackendError(Failure):
    """A failed backend call, already phrased as one clear line (the live layer's error)."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind = "other",
        status: int | None = None,
        code: str | None = None,
        param: str | None = None,
        maybe_applied: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status
        self.code = code
        self.param = param
        self.maybe_applied = maybe_applied
        """True when the request may have reached the service and taken effect (a dropped
        connection after sending, a timeout, a 5xx/429 after retries, a bad response body):
        apply then reads the routine back instead of reporting a failure blindly."""


class Closing:
    """Backends are context managers: ``with open_backend(endpoint) as backend: ...``."""

    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Backend(Protocol):
    """What the planner and apply need from a Foundry project (run history and dispatch are
    ``Runs``, a separate client: the reconciler itself never dispatches)."""

    @property
    def target(self) -> str:
        """Human-readable target (printed before anything else by every command)."""
        ...

    def list_routines(self) -> list[WireRoutine]:
        """Every routine in the project (all pages), oldest first."""
        ...

    def each_page(self, on_page: PageSink) -> None:
        """The same list, each page's routines given to ``on_page`` as it arrives and none
        kept here (so a plan starts before the last page and need not hold every routine)."""
        ...

    def get(self, name: str) -> WireRoutine | None:
        """One routine, or None when it does not exist."""
        ...

    def get_agent(self, name: str) -> AgentInfo | None:
        """The agent a routine's ``agent_name`` names (``GET /agents/{agent_name}``), or None
        when it does not exist; a 403 is a ``BackendError`` of kind ``forbidden``."""
        ...

    def create_or_update(self, name: str, body: dict[str, Any]) -> WireRoutine:
        """Full-replace PUT; ``authorization`` in ``body`` counts on create only."""
        ...

    def delete(self, name: str) -> None:
        """Delete a routine (its run records are kept)."""
        ...

    def enable(self, name: str) -> WireRoutine:
        """Enable a routine through the dedicated route."""
        ...

    def disable(self, name: str) -> WireRoutine:
        """Disable a routine through the dedicated route."""
        ...

    def acquire_lock(self, stack: str, holder: LockHolder) -> bool:
        """Take the stack's apply lock (raises ``LockHeld``); False when the target cannot
        hold locks (the real service)."""
        ...

    def renew_lock(self, stack: str, holder: LockHolder) -> bool:
        """Refresh a held lock's heartbeat; False when the lock was lost."""
        ...

    def release_lock(self, stack: str, holder: LockHolder) -> None:
        """Release a held lock."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

    def __enter__(self) -> Self:
        """The backend itself."""
        ...

    def __exit__(self, *exc: object) -> None:
        """Close it."""
        ...


class Runs(Protocol):
    """Run records and manual dispatch (for operating routines; not part of reconciling)."""

    def list_runs(self, name: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Run records of a routine, newest first."""
        ...

    def iter_runs(
        self, name: str, *, page_size: int = 100, filter_expression: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Run records of a routine, newest first, one page of ``page_size`` read at a time as
        the iterator advances (``filter_expression``: an MLflow search filter). Stop reading
        when enough was seen: the pages may not end (a service that repeats a cursor)."""
        ...

    def dispatch(self, name: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Queue one manual run (``:dispatch_async``); never retried once the request may have
        been received (it is not idempotent: a retry could run the agent twice)."""
        ...
