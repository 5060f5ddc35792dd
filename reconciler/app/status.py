"""``reconciler status``: the health of the routines a stack manages (``app.health`` judges).

Which routines: every routine of the project whose ownership record names this stack, plus
every routine the manifests declare (a declared routine the project lacks is *missing*; one
that exists but another stack or nobody owns is judged all the same, marked unmanaged).

Cost: the project's one paged list (``ceil(N / 100)`` calls), then one ``list_runs`` page per
selected routine (the newest ``rules.runs`` records, at most 100; never more pages), at most
``concurrency`` in flight. 10,000 routines cost 100 list calls and 10,000 run reads: at 16 in
flight and about 100 ms a read, about a minute; the records held are ``10,000 x runs``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Final

from reconciler.app.engine import Context
from reconciler.app.health import Json, RoutineHealth, Rules, judge, missing, unreadable
from reconciler.app.planning import deadline_after, load_checked, timed_out
from reconciler.diagnostics import ReconcilerError
from reconciler.live.base import Backend, BackendError, WireRoutine
from reconciler.live.factory import open_backend
from reconciler.live.local_firing import settle_due_firings
from reconciler.plan import ownership
from reconciler.views.base import View
from reconciler.workers import DaemonPool, DeadlineExceeded, wait_for

DEFAULT_CONCURRENCY: Final = 16
RunReader = Callable[[str, int], list[Json]]
"""``list_runs(name, limit)``: one routine's newest run records (one page)."""


@dataclass(frozen=True)
class StatusReport:
    """Every selected routine's health, in the order of the project (missing ones last)."""

    target: str
    stack: str
    environment: str | None
    rules: Rules
    routines: list[RoutineHealth]

    @property
    def healthy(self) -> bool:
        """Every routine is healthy and every history was read."""
        return all(r.healthy for r in self.routines)

    @property
    def unhealthy(self) -> list[RoutineHealth]:
        """Routines with a problem (failing, silent, missing)."""
        return [r for r in self.routines if r.problems]

    @property
    def unreadable(self) -> list[RoutineHealth]:
        """Routines whose run history could not be read."""
        return [r for r in self.routines if r.error is not None]

    def counts(self) -> dict[str, int]:
        """How many routines, unhealthy ones, and of each problem; a disabled routine is not
        judged, so it counts as ``disabled`` and not as ``healthy``."""
        return {
            "routines": len(self.routines),
            "healthy": sum(r.healthy and r.enabled is not False for r in self.routines),
            "unhealthy": len(self.unhealthy),
            "failing": sum(r.failing for r in self.routines),
            "silent": sum(r.silent for r in self.routines),
            "missing": sum(not r.deployed for r in self.routines),
            "disabled": sum(r.enabled is False for r in self.routines),
            "unreadable": len(self.unreadable),
        }


@dataclass(frozen=True)
class Selected:
    """A deployed routine status looks at."""

    routine: WireRoutine
    declared: bool
    managed: bool


def owned_by(routine: WireRoutine, stack: str) -> bool:
    """The routine's ownership record names ``stack`` and the routine itself."""
    _, record = ownership.split(routine.get("description"))
    return record is not None and record.stack == stack and record.name == routine.get("name")


def select(
    live: Sequence[WireRoutine], declared: Collection[str], stack: str
) -> tuple[list[Selected], list[str]]:
    """The deployed routines to judge (owned or declared) and the declared names not deployed."""
    wanted = set(declared)
    chosen: list[Selected] = []
    seen: set[str] = set()
    for routine in live:
        name = str(routine.get("name"))
        managed = owned_by(routine, stack)
        if managed or name in wanted:
            chosen.append(Selected(routine, name in wanted, managed))
            seen.add(name)
    return chosen, [name for name in declared if name not in seen]


def read_status(
    selected: Sequence[Selected],
    absent: Sequence[str],
    reader: RunReader,
    rules: Rules,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    deadline: float | None = None,
) -> list[RoutineHealth]:
    """Read each routine's newest runs (``concurrency`` at a time) and judge it; a failed read
    is that routine's ``error``. ``DeadlineExceeded`` when ``deadline`` passes first."""
    with DaemonPool(min(concurrency, max(1, len(selected))), "runs") as pool:
        futures = [pool.submit(_reading(reader, s, rules.runs)) for s in selected]
    found = [
        _judged(s, future, rules, deadline) for s, future in zip(selected, futures, strict=True)
    ]
    return found + [missing(name) for name in absent]


def _reading(reader: RunReader, chosen: Selected, limit: int) -> Callable[[], list[Json]]:
    name = str(chosen.routine.get("name"))
    return lambda: reader(name, limit)


def _judged(
    chosen: Selected, future: Future[list[Json]], rules: Rules, deadline: float | None
) -> RoutineHealth:
    try:
        runs: list[Any] = wait_for(future, deadline)
    except BackendError as err:
        return unreadable(
            chosen.routine, err.message, declared=chosen.declared, managed=chosen.managed
        )
    records = [run for run in runs if isinstance(run, dict)]
    return judge(chosen.routine, records, rules, declared=chosen.declared, managed=chosen.managed)


def check(
    ctx: Context,
    out: View,
    rules: Rules,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float | None = None,
) -> StatusReport:
    """Print the header, load the manifests (when any are configured or given: the declared
    routines), list the project meanwhile, read each selected routine's runs and judge them.
    Invalid manifests, a failed list and the ``timeout`` are errors (exit 1)."""
    deadline = deadline_after(timeout)
    settle_due_firings(ctx.endpoint, rules.now)  # the embedded project fires on read
    with open_backend(ctx.endpoint) as backend:
        with DaemonPool(1, "list") as pool:
            listing = pool.submit(backend.list_routines)
        declared = _declared(ctx, out)
        reader = _reader(backend)
        try:
            live = wait_for(listing, deadline)
            selected, absent = select(live, declared, ctx.stack)
            routines = read_status(
                selected, absent, reader, rules, concurrency=concurrency, deadline=deadline
            )
        except BackendError as err:
            raise ReconcilerError(err.message) from None
        except DeadlineExceeded:
            raise timed_out(timeout, f"reading routines and runs at {backend.target}") from None
    options = ctx.settings.options
    return StatusReport(ctx.endpoint.display, ctx.stack, options.environment, rules, routines)


def _declared(ctx: Context, out: View) -> list[str]:
    """The names the manifests declare (none when no manifest path is given or configured)."""
    if not ctx.settings.paths:
        out.header(ctx.endpoint.display, ctx.endpoint.origin, ctx.stack)
        return []
    loaded = load_checked(ctx, out)
    return [routine.spec.name for routine in loaded.routines]


def _reader(backend: Backend) -> RunReader:
    """``list_runs`` of the backend (every backend has one: ``live.base.Runs``)."""
    list_runs = getattr(backend, "list_runs", None)
    if not callable(list_runs):
        raise ReconcilerError(f"{backend.target} cannot read run history")
    return lambda name, limit: list(list_runs(name, limit=limit))
