"""The part of plan, apply and drift that is the same: header, load, read live, plan."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass

from reconciler import paths
from reconciler.app import agents
from reconciler.app.engine import Context, load_desired, plan, plan_pages
from reconciler.apply import Locate
from reconciler.diagnostics import Location, ReconcilerError
from reconciler.live import locking
from reconciler.live.base import Backend, BackendError, WireRoutine
from reconciler.live.factory import open_backend
from reconciler.manifest import azd_load
from reconciler.manifest.loader import LoadResult
from reconciler.manifest.sources import is_project_file, read_text
from reconciler.manifest.yamlsafe import YamlProblem, load_documents
from reconciler.plan.model import Change, Plan
from reconciler.views.base import View
from reconciler.workers import (
    DaemonPool,
    DeadlineExceeded,
    arriving,
    call_with_deadline,
    responsive_threads,
)


@dataclass
class Planned:
    """A plan and how to find a field's manifest line."""

    plan: Plan
    locate: Locate


def locator(loaded: LoadResult) -> Locate:
    """Map a change and a service error's ``param`` (``triggers.t.at``) to its manifest line
    (the loader keeps no field marks: the file is read again, which only a failure needs)."""
    del loaded
    return source_locator()


def source_locator() -> Locate:
    """Find a field's line by reading the YAML of the file the change came from; its routine
    starts at ``change.source`` (for a saved plan, the manifests were checked unchanged)."""

    def locate(change: Change, param: str | None) -> Location | None:
        source = change.source
        if source is None:
            return None
        text, _ = read_text(source.file)
        try:
            documents = load_documents(text.text) if text is not None else []
        except YamlProblem:
            return source
        if documents and is_project_file(source.file):  # azd's azure.yaml
            return azd_load.locate(documents[0], source, param) or source
        for doc in documents:
            routines = doc.data.get("routines") if isinstance(doc.data, dict) else None
            for index in range(len(routines) if isinstance(routines, list) else 0):
                start = doc.mark_of(("routines", index))
                if (start.line, start.col) == (source.line, source.col):
                    mark = doc.mark_of(("routines", index, *paths.from_param(param)))
                    return Location(source.file, mark.line, mark.col)
        return source

    return locate


def deadline_after(seconds: float | None) -> float | None:
    """The ``time.monotonic()`` instant ``seconds`` from now (None: no deadline)."""
    return None if seconds is None else time.monotonic() + seconds


def compute_plan(ctx: Context, out: View, *, timeout: float | None = None) -> Planned:
    """Print the header, then load, read and plan (for plan and drift, which never write).

    The project is listed while the manifests load (the list waits on the network, the load
    on the CPU); invalid manifests still end the command before anything is planned."""
    deadline = deadline_after(timeout)
    with open_backend(ctx.endpoint) as backend, responsive_threads():
        listing = Listing.start(backend)
        loaded = load_checked(ctx, out)
        result = plan_live(
            ctx, loaded, backend, out, timeout=timeout, deadline=deadline, listing=listing
        )
    return Planned(result, locator(loaded))


@dataclass(frozen=True)
class Listing:
    """A list of the project under way in a worker thread, and its pages as they arrive."""

    future: Future[None]
    pages: queue.SimpleQueue[list[WireRoutine]]

    @classmethod
    def start(cls, backend: Backend) -> Listing:
        """Start listing ``backend``'s routines."""
        pages: queue.SimpleQueue[list[WireRoutine]] = queue.SimpleQueue()
        with DaemonPool(1, "list") as pool:
            future = pool.submit(lambda: backend.each_page(pages.put))
        return cls(future, pages)

    def arriving(self, deadline: float | None) -> Iterator[list[WireRoutine]]:
        """Each page as it arrives; then the list's error, if it failed."""
        return arriving(self.future, self.pages, deadline)


def load_checked(ctx: Context, out: View) -> LoadResult:
    """Print the header, then load and check the manifests (nothing is written, and no plan is
    made, when they are invalid)."""
    out.header(ctx.endpoint.display, ctx.endpoint.origin, ctx.stack)
    loaded = load_desired(ctx.settings)
    if not loaded.ok:
        out.diagnostics(loaded.diagnostics)
        raise ReconcilerError("the manifests are invalid; nothing was written")
    return loaded


def plan_live(
    ctx: Context,
    loaded: LoadResult,
    backend: Backend,
    out: View,
    *,
    timeout: float | None,
    deadline: float | None,
    listing: Listing | None = None,
) -> Plan:
    """Read the live project (within ``deadline``; or wait for ``listing``, already under way)
    and plan, checking the referenced agents meanwhile (``ctx.agent_check``); errors exit 1,
    nothing written."""
    check = agents.start(loaded, backend) if ctx.agent_check else None
    try:
        if listing is None:
            result = call_with_deadline(lambda: plan(ctx.settings, loaded, backend), deadline)
        else:
            result = plan_pages(ctx.settings, loaded, listing.arriving(deadline))
        if check is not None:
            result.diagnostics += check.diagnostics(deadline, agents.writes(result))
    except BackendError as err:
        raise ReconcilerError(err.message) from None
    except DeadlineExceeded:
        raise timed_out(timeout, f"reading the project at {backend.target}") from None
    if not result.ok:
        out.diagnostics(result.diagnostics)
        raise ReconcilerError("planning failed; nothing was written")
    if result.diagnostics:
        out.diagnostics(result.diagnostics)
    return result


def timed_out(timeout: float | None, doing: str) -> ReconcilerError:
    """The error of a command whose ``--timeout`` passed."""
    return ReconcilerError(
        f"timed out after {duration_text(timeout)} {doing} (--timeout); nothing was written",
        hint="the service may be slow or hung: retry later, or raise --timeout",
    )


def duration_text(timeout: float | None) -> str:
    """``45s`` or ``10m00s``."""
    value = int(timeout or 0)
    return f"{value // 60}m{value % 60:02d}s" if value >= 60 else f"{value}s"


@contextmanager
def stack_lock(
    backend: Backend, stack: str, wait: float, deadline: float | None, out: View
) -> Iterator[locking.Lease]:
    """Hold the stack's apply lock where the target can hold one (the embedded project, the
    emulator); another apply holding it is one clear error. The wait for it (--lock-timeout)
    never outlasts the command's --timeout."""
    bounded = wait if deadline is None else max(0.0, min(wait, deadline - time.monotonic()))

    def waiting(held: locking.LockHeld) -> None:
        out.line(f"Waiting for the lock: {held} (up to {duration_text(bounded)})")

    try:
        with locking.hold(backend, stack, wait=bounded, on_wait=waiting) as lease:
            yield lease
    except locking.LockHeld as held:
        capped = bounded < wait
        waited = f"; gave up after waiting {duration_text(bounded)}" if bounded > 0 else ""
        raise ReconcilerError(
            f"{'timed out waiting for the lock (--timeout): ' if capped else ''}{held}{waited}",
            hint="wait for it to finish, or pass --lock-timeout 5m to wait for the lock",
        ) from None
    except BackendError as err:
        raise ReconcilerError(err.message) from None


def refuse_held_back(plan: Plan) -> None:
    """Exit 1 when the mass-delete guard holds deletes back: applying cannot converge, so the
    plan check and the deploy both fail with the same message."""
    held = plan.held_back
    if held:
        shown = ", ".join(held[:5]) + (", …" if len(held) > 5 else "")
        raise ReconcilerError(
            f"{len(held)} delete(s) are held back by the mass-delete guard ({shown}); git and "
            "the project still differ",
            hint="if the deletes are intended, raise prune.max_deletes in reconciler.yaml (or "
            "pass --max-deletes)",
        )
