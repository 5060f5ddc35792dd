"""The smoke gate of ``apply --smoke``: after a successful apply, dispatch each routine the apply
created, updated, replaced or enabled that declares ``reconcile.smoke``, all at once, wait for
each run (its own timeout), and report (docs/design.md, "Health and the smoke gate").

A routine that declares no smoke test is never dispatched; nor is one whose change failed, or
one git declares disabled (the service refuses to dispatch it). Each dispatch is sent once and
watched by ``reconciler.app.dispatching`` (never retried: a dispatch is not idempotent). Any
outcome but ``completed`` fails the gate, and so the deploy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

from reconciler.app.dispatching import Outcome, dispatch_and_wait, payload_for
from reconciler.apply import ApplyResult
from reconciler.diagnostics import ReconcilerError
from reconciler.live.base import Backend, Runs
from reconciler.plan.model import Change, Plan
from reconciler.plan.smoke import SMOKED_ACTIONS, Smoke
from reconciler.workers import DaemonPool, wait_for

PARALLEL: Final = 8


@dataclass(frozen=True)
class SmokeRun:
    """One routine's smoke test and what became of it."""

    name: str
    action: str
    smoke: Smoke
    outcome: Outcome

    @property
    def ok(self) -> bool:
        """The run completed."""
        return self.outcome.state == "completed"


@dataclass(frozen=True)
class GateResult:
    """Every smoke run of one apply, in plan order."""

    runs: list[SmokeRun]

    @property
    def ok(self) -> bool:
        """Every run completed (an empty gate passes)."""
        return all(run.ok for run in self.runs)

    @property
    def failed(self) -> list[SmokeRun]:
        """The runs that did not complete."""
        return [run for run in self.runs if not run.ok]


def targets(plan: Plan, result: ApplyResult, *, every: bool = False) -> list[Change]:
    """The changes to smoke: a declared smoke test, an action of ``SMOKED_ACTIONS`` whose
    result is ok, and a routine git declares enabled. ``every`` (``apply --smoke-all``) also
    smokes the unchanged routines (no-ops) that declare one: a re-run tests them again."""
    return [c for c in candidates(plan, result, every=every) if _declared_enabled(c)]


def candidates(plan: Plan, result: ApplyResult, *, every: bool = False) -> list[Change]:
    """``targets`` before leaving out the routines git declares disabled."""
    succeeded = {r.name for r in result.results if r.status == "ok"}
    return [
        change
        for change in plan.changes
        if change.smoke is not None
        and (
            (change.action.value in SMOKED_ACTIONS and change.name in succeeded)
            or (every and not change.is_change)
        )
    ]


def skipped_disabled(plan: Plan, result: ApplyResult, *, every: bool = False) -> list[str]:
    """The routines that declare a smoke test but are not smoked because git declares them
    disabled (a disabled routine is never dispatched)."""
    return [c.name for c in candidates(plan, result, every=every) if not _declared_enabled(c)]


def _declared_enabled(change: Change) -> bool:
    return _shown(change).get("enabled") is not False


def _shown(change: Change) -> dict[str, Any]:
    return change.body or change.after or {}


def payload(change: Change) -> dict[str, Any] | None:
    """The dispatch payload: the declared input with the action's type (None: no input given,
    the routine's own is used)."""
    smoke = change.smoke
    if smoke is None or not smoke.has_input:
        return None
    action = _shown(change).get("action") or {}
    return payload_for(str(action.get("type")), smoke.input)


def runs_of(backend: Backend) -> Runs:
    """The backend's run client (every backend that can write has one)."""
    if not callable(getattr(backend, "dispatch", None)):
        raise ReconcilerError(f"{backend.target} cannot dispatch routines: the smoke gate needs it")
    return cast(Runs, backend)


def run_gate(
    runs: Runs,
    changes: Sequence[Change],
    *,
    parallel: int = PARALLEL,
    on_done: Callable[[SmokeRun], None] | None = None,
) -> GateResult:
    """Dispatch every change's routine at once (at most ``parallel`` in flight), each waited
    for up to its own timeout; ``on_done`` is called (from a worker thread) as each settles."""
    if not changes:
        return GateResult([])

    def one(change: Change) -> Callable[[], SmokeRun]:
        def smoke_one() -> SmokeRun:
            smoke = cast(Smoke, change.smoke)
            outcome = dispatch_and_wait(
                runs, change.name, payload(change), timeout=float(smoke.timeout)
            )
            done = SmokeRun(change.name, change.action.value, smoke, outcome)
            if on_done is not None:
                on_done(done)
            return done

        return smoke_one

    with DaemonPool(min(parallel, len(changes)), "smoke") as pool:
        futures = [pool.submit(one(change)) for change in changes]
    return GateResult([wait_for(future, None) for future in futures])
