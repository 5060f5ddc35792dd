"""Applying a saved plan: its target comes from the file; flags may confirm it, never change it."""

from __future__ import annotations

from contextlib import ExitStack

from reconciler.app.planning import stack_lock, timed_out
from reconciler.cli.context import PruneArgs, TargetArgs, build
from reconciler.cli.files import PLAN_FILE_MAX
from reconciler.diagnostics import ReconcilerError
from reconciler.live import endpoint as endpoints
from reconciler.live.base import Backend, BackendError
from reconciler.live.factory import open_backend
from reconciler.live.locking import Lease
from reconciler.manifest.loader import digest_of
from reconciler.manifest.sources import ReadError, read_regular
from reconciler.plan import saved
from reconciler.plan.model import Plan
from reconciler.views.base import View
from reconciler.workers import DeadlineExceeded, call_with_deadline


def refuse_options(target: TargetArgs, pruning: PruneArgs, approved_plan: str | None) -> None:
    """Like Terraform, a saved plan already fixed what these options decide."""
    given = [
        flag
        for flag, used in (
            ("--prune/--no-prune", pruning.prune is not None),
            ("--max-deletes", pruning.max_deletes is not None),
            ("--adopt", pruning.adopt),
            ("--adopt-from", bool(pruning.adopt_from)),
            ("--var", bool(target.cli_vars)),
            ("--approved-plan", approved_plan is not None),
        )
        if used
    ]
    if given:
        raise ReconcilerError(
            f"{', '.join(given)} cannot be used with a saved plan: the plan already decided them",
            hint="make a new plan with these options, then apply that plan",
        )


def load(
    path: str,
    target: TargetArgs,
    out: View,
    held: ExitStack,
    *,
    wait: float,
    limit: float | None,
    deadline: float | None,
) -> tuple[Plan, Backend, Lease]:
    """Read, check and open the target of a saved plan, and take the stack's lock (both
    released by ``held``); refuse (changing nothing) when it is not a plan, was edited, is for
    another target, or is stale."""
    try:
        data = read_regular(path, PLAN_FILE_MAX)
        saved_plan = saved.load(data.decode("utf-8-sig"), path)
    except ReadError as err:
        raise ReconcilerError(f"cannot read plan file {path}: {err}") from None
    except UnicodeDecodeError:
        raise ReconcilerError(
            f"refusing to apply: {path} is not a saved plan (not UTF-8 text)"
        ) from None
    except saved.SavedPlanError as err:
        raise ReconcilerError(f"refusing to apply: {err}") from None
    plan = saved_plan.plan
    endpoint = _endpoint(plan, target)
    out.header(endpoint.display, endpoint.origin, plan.stack)
    _check_manifests(saved_plan)
    backend = held.enter_context(open_backend(endpoint, writable=True))
    lease = held.enter_context(stack_lock(backend, plan.stack, wait, deadline, out))
    try:
        live = call_with_deadline(backend.list_routines, deadline)
    except BackendError as err:
        raise ReconcilerError(err.message) from None
    except DeadlineExceeded:
        raise timed_out(limit, f"reading the project at {backend.target}") from None
    stale = saved.stale_changes(plan, live)
    if stale:
        raise ReconcilerError(
            f"refusing to apply: the plan is stale: {', '.join(stale)} changed in the project "
            "since the plan was made; nothing was changed",
            hint="make a new plan",
        )
    return plan, backend, lease


def _endpoint(plan: Plan, target: TargetArgs) -> endpoints.Endpoint:
    """The plan's own target; ``--endpoint``, ``--env`` and ``--stack`` must agree with it."""
    if target.stack and target.stack != plan.stack:
        raise _other("stack", plan.stack, target.stack)
    if target.env and target.env != plan.environment:
        raise _other("environment", plan.environment, target.env)
    if target.endpoint or target.env:
        chosen = build(target, require_paths=False).endpoint
        if chosen.display != plan.target:
            raise _other("endpoint", plan.target, chosen.display)
        return chosen
    return endpoints.parse(plan.target, "from the saved plan")


def _other(what: str, planned: str | None, given: str) -> ReconcilerError:
    return ReconcilerError(f"refusing to apply: the plan is for {what} {planned!r}, not {given!r}")


def _check_manifests(saved_plan: saved.SavedPlan) -> None:
    if saved_plan.paths and digest_of(saved_plan.paths) != saved_plan.plan.manifest_digest:
        raise ReconcilerError(
            f"refusing to apply: the manifests under {', '.join(saved_plan.paths)} changed "
            "since the plan was made; nothing was changed",
            hint="make a new plan",
        )
