"""The ``local`` backend: the embedded project (a SQLite file) behind the ``Backend`` protocol.

Every call goes to ``RoutineStore`` under the fixed project ``_project``; the store's HTTP-shaped
``ServiceError`` becomes a ``BackendError`` with the same status, code and param, so the planner
and apply treat the local project exactly like a remote one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from reconciler.contract import limits
from reconciler.contract.agents import AgentInfo, permissive
from reconciler.live.base import BackendError, Closing, ErrorKind, PageSink, WireRoutine
from reconciler.live.locking import LockHolder
from reconciler.service import RoutineStore, ServiceError, StoreError

__all__ = ["PROJECT", "LocalBackend"]

PROJECT: Final = "_project"
_KINDS: Final[dict[int, ErrorKind]] = {400: "invalid", 404: "not_found", 409: "conflict"}


def backend_error(err: ServiceError, what: str | None = None) -> BackendError:
    """``ServiceError`` as a ``BackendError``: ``400 invalid_value at <param>: <message>``
    (``what``, the operation and target, leads it when given)."""
    where = f" at {err.param}" if err.param else ""
    kind: ErrorKind = _KINDS.get(err.status, "server" if err.status >= 500 else "other")
    lead = f"{what}: " if what else ""
    return BackendError(
        f"{lead}{err.status} {err.code}{where}: {err.message}",
        kind=kind,
        status=err.status,
        code=err.code,
        param=err.param,
    )


@contextmanager
def _translated(what: str | None = None) -> Iterator[None]:
    """Raise store failures as ``BackendError`` (StoreError is a configuration problem);
    ``what`` (the operation and target) leads the message when given."""
    try:
        yield
    except ServiceError as err:
        raise backend_error(err, what) from None
    except StoreError as err:
        raise BackendError(str(err), kind="config") from None


class LocalBackend(Closing):
    """``Backend`` over a local SQLite project file."""

    def __init__(self, path: str, *, read_only: bool = False) -> None:
        self._path = path
        with _translated():
            self._store = RoutineStore(path, read_only=read_only)

    @property
    def target(self) -> str:
        """``local:PATH``."""
        return f"local:{self._path}"

    @property
    def store(self) -> RoutineStore:
        """The underlying store (tests and the emulator reuse it)."""
        return self._store

    def list_routines(self) -> list[WireRoutine]:
        """Every routine, oldest first, read a full page (100) at a time."""
        found: list[WireRoutine] = []
        self.each_page(found.extend)
        return found

    def each_page(self, on_page: PageSink) -> None:
        """Each page of the list to ``on_page``, oldest first."""
        cursor: str | None = None
        with _translated():
            while True:
                page, cursor = self._store.list(PROJECT, limit=limits.LIST_PAGE_MAX, after=cursor)
                on_page(page)
                if cursor is None:
                    return

    def get(self, name: str) -> WireRoutine | None:
        """One routine, or None when it does not exist."""
        try:
            with _translated():
                return self._store.get(PROJECT, name)
        except BackendError as err:
            if err.kind == "not_found":
                return None
            raise

    def get_agent(self, name: str) -> AgentInfo | None:
        """The agent from the file's registry (an empty registry shows every name)."""
        with _translated():
            return self._store.get_agent(name)

    def create_or_update(self, name: str, body: dict[str, Any]) -> WireRoutine:
        """Full-replace PUT (``authorization`` counts on create only)."""
        with _translated():
            return self._store.put(PROJECT, name, body)

    def delete(self, name: str) -> None:
        """Delete a routine; its runs are kept."""
        with _translated():
            self._store.delete(PROJECT, name)

    def enable(self, name: str) -> WireRoutine:
        """Enable a routine."""
        with _translated():
            return self._store.set_enabled(PROJECT, name, True)

    def disable(self, name: str) -> WireRoutine:
        """Disable a routine."""
        with _translated():
            return self._store.set_enabled(PROJECT, name, False)

    def list_runs(self, name: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Run records, newest first: all of them, or at most ``limit``."""
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        with _translated():
            while limit is None or len(found) < limit:
                wanted = limits.LIST_PAGE_MAX if limit is None else limit - len(found)
                page, cursor = self._store.list_runs(
                    PROJECT, name, limit=min(wanted, limits.LIST_PAGE_MAX), after=cursor
                )
                found.extend(page)
                if cursor is None:
                    break
        return found

    def iter_runs(
        self,
        name: str,
        *,
        page_size: int = limits.LIST_PAGE_MAX,
        filter_expression: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Run records, newest first, a page at a time (each as it reads at the store's time)."""
        cursor: str | None = None
        while True:
            with _translated(f"list runs at {self.target}"):
                page, cursor = self._store.list_runs(
                    PROJECT,
                    name,
                    limit=page_size,
                    after=cursor,
                    filter_expression=filter_expression,
                )
            yield from page
            if cursor is None:
                return

    def dispatch(self, name: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Queue one manual run; returns ``{dispatch_id, action_correlation_id, task_id}``."""
        with _translated():
            return self._store.dispatch(PROJECT, name, payload)

    def acquire_lock(self, stack: str, holder: LockHolder) -> bool:
        """Take the stack's lock in the SQLite file (raises ``LockHeld``)."""
        with _translated():
            self._store.acquire_lock(PROJECT, stack, holder)
        return True

    def renew_lock(self, stack: str, holder: LockHolder) -> bool:
        """Refresh the lock's heartbeat; False when the lock was lost."""
        with _translated():
            return self._store.renew_lock(PROJECT, stack, holder)

    def release_lock(self, stack: str, holder: LockHolder) -> None:
        """Release the lock."""
        with _translated():
            self._store.release_lock(PROJECT, stack, holder)

    def close(self) -> None:
        """Close the SQLite connections."""
        self._store.close()


class MissingLocalProject(Closing):
    """A local project file that does not exist yet: an empty project that reading never
    creates (``plan``/``drift``/``export`` on a mistyped path leave no file behind)."""

    def __init__(self, path: str) -> None:
        self._path = path

    @property
    def target(self) -> str:
        """``local:PATH``."""
        return f"local:{self._path}"

    def list_routines(self) -> list[WireRoutine]:
        """No routines."""
        return []

    def each_page(self, on_page: PageSink) -> None:
        """One empty page."""
        on_page([])

    def get(self, name: str) -> WireRoutine | None:
        """Nothing exists."""
        del name
        return None

    def get_agent(self, name: str) -> AgentInfo | None:
        """No registry yet: every agent name is accepted (as by an empty registry)."""
        return permissive(name)

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        del args, kwargs
        raise BackendError(
            f"the local project {self._path} does not exist (apply creates it)", kind="not_found"
        )

    create_or_update = enable = disable = delete = dispatch = _refuse

    def acquire_lock(self, stack: str, holder: LockHolder) -> bool:
        """Nothing to lock (nothing is written)."""
        del stack, holder
        return False

    def renew_lock(self, stack: str, holder: LockHolder) -> bool:
        """Nothing to renew."""
        del stack, holder
        return True

    def release_lock(self, stack: str, holder: LockHolder) -> None:
        """Nothing to release."""

    def list_runs(self, name: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """No runs."""
        del name, limit
        return []

    def iter_runs(
        self,
        name: str,
        *,
        page_size: int = limits.LIST_PAGE_MAX,
        filter_expression: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """No routine exists, so its runs are a 404 (as ``dispatch``)."""
        del page_size, filter_expression
        self._refuse(name)
        yield from ()

    def close(self) -> None:
        """Nothing to close."""
