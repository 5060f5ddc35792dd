"""``apply --smoke``: the flag, and the smoke gate run after a successful apply."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from reconciler.app.smoke import GateResult, run_gate, runs_of, skipped_disabled, targets
from reconciler.apply import ApplyResult
from reconciler.diagnostics import ReconcilerError
from reconciler.live.base import Backend
from reconciler.plan.model import Plan
from reconciler.views import smoke as smoke_view
from reconciler.views.base import View

NOT_RUN = "the apply did not succeed, so nothing was dispatched"

SMOKE_FLAG: Callable[[Any], Any] = click.option(
    "--smoke/--no-smoke",
    default=None,
    help="After a successful apply, dispatch each created, updated, replaced or enabled routine "
    "that declares reconcile.smoke (all at once), wait for each run, and fail (exit 1) unless "
    "every run completes; the audit record carries the run ids (default: smoke in "
    "reconciler.yaml for the environment; a saved plan: off).",
)


SMOKE_ALL_FLAG: Callable[[Any], Any] = click.option(
    "--smoke-all",
    is_flag=True,
    default=False,
    help="Like --smoke, but also smoke every unchanged routine that declares reconcile.smoke "
    "(git declares it enabled): a re-run after a failed gate tests them again instead of "
    "passing with nothing to test. Example: reconciler apply --env dev --auto-approve "
    "--smoke-all",
)


def gate(
    backend: Backend, plan: Plan, result: ApplyResult, out: View, *, every: bool = False
) -> GateResult:
    """Run the smoke gate (``every``: also the unchanged routines), reporting each routine as
    it settles."""
    changes = targets(plan, result, every=every)
    disabled = skipped_disabled(plan, result, every=every)
    smoke_view.starting(out, len(changes), disabled=disabled, every=every)
    if not changes:
        return GateResult([])
    return run_gate(runs_of(backend), changes, on_done=lambda done: smoke_view.settled(out, done))


def verdict(out: View, smoked: GateResult | str | None) -> None:
    """Say how the gate ended; a failed gate fails the deploy (exit 1)."""
    if not isinstance(smoked, GateResult) or not smoked.runs:
        return
    smoke_view.finished(out, smoked)
    if smoked.ok:
        out.line(smoke_view.closing(smoked), "bold")
        return
    raise ReconcilerError(
        smoke_view.closing(smoked),
        hint="the changes were applied; see the runs with their error_type and error_message "
        "above (and in the audit record), fix the routine or its agent, and apply again",
    )
