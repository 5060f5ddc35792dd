"""``reconciler apply``: make the project match the manifests, or apply a saved plan."""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass

import click

from reconciler import audit
from reconciler.app.engine import Context
from reconciler.app.planning import (
    deadline_after,
    duration_text,
    load_checked,
    locator,
    plan_live,
    refuse_held_back,
    source_locator,
    stack_lock,
)
from reconciler.app.smoke import GateResult
from reconciler.apply import DEFAULT_BREAKER, DEFAULT_CONCURRENCY, ApplyResult, Locate, apply_plan
from reconciler.cli import apply_smoke, saved_apply
from reconciler.cli.apply_runtime import confirm, git_commit, interrupts, losing, lost
from reconciler.cli.approved import check_approved, read_approved
from reconciler.cli.common import (
    now,
    parse_timeout,
    timeout_option,
)
from reconciler.cli.context import (
    AGENT_CHECK_FLAG,
    HERD_THRESHOLD_FLAG,
    PruneArgs,
    TargetArgs,
    build,
    prune_options,
    target_options,
)
from reconciler.cli.files import check_writable, write_json
from reconciler.diagnostics import ReconcilerError
from reconciler.live.base import Backend
from reconciler.live.factory import open_backend
from reconciler.live.locking import Lease
from reconciler.manifest.sources import MANIFEST_SUFFIXES
from reconciler.plan.model import Plan
from reconciler.views import factory, progress
from reconciler.views.base import View


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@target_options
@prune_options
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Changes in flight at once.",
)
@click.option(
    "--max-failures",
    type=click.IntRange(min=0),
    default=DEFAULT_BREAKER,
    show_default=True,
    help="Stop starting changes after this many consecutive failures (0: never).",
)
@click.option(
    "--approved-plan",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="A plan JSON (from plan --json-out) that reviewers approved: refuse, changing nothing, "
    "unless the new plan makes exactly the same changes.",
)
@click.option(
    "--audit-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write a JSON audit record (commit, actor, run, plan, per-change result) here.",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(factory.FORMATS),
    default=None,
    help="text (default), json (prints the audit record), markdown, or github (default "
    "under GitHub Actions).",
)
@click.option(
    "--lock-timeout",
    default="0",
    show_default=True,
    metavar="DURATION",
    help="Wait this long (e.g. 5m) for another apply of the same stack to finish, instead of "
    "failing at once (the embedded project and the emulator hold one lock per stack).",
)
@AGENT_CHECK_FLAG
@HERD_THRESHOLD_FLAG
@apply_smoke.SMOKE_FLAG
@apply_smoke.SMOKE_ALL_FLAG
@timeout_option("60m", "nothing new starts after it, and changes in flight are reported")
def apply(
    *,
    paths: tuple[str, ...],
    target: TargetArgs,
    pruning: PruneArgs,
    auto_approve: bool,
    concurrency: int,
    max_failures: int,
    approved_plan: str | None,
    audit_out: str | None,
    output: str | None,
    lock_timeout: str,
    no_agent_check: bool,
    herd_threshold: int | None,
    smoke: bool | None,
    smoke_all: bool,
    timeout: str,
) -> int:
    """Apply the manifests (re-plans, then asks), or a saved plan: 'apply PLANFILE'.

    Without a terminal, apply needs --auto-approve or a saved plan. Deletes run last, and only
    when pruning (--prune, or the configured prune policy for the configured manifests).
    Immediately before each write the routine is read again: a routine changed since the plan
    is a conflict and is not written; a write whose outcome is unknown is read back. One apply
    per stack holds a lock on the embedded project and the emulator (--lock-timeout waits for
    it). Exit code 0 when every change succeeded, 1 otherwise (also on a conflict, when the
    --timeout passed, or when the mass-delete guard held deletes back). Ctrl-C or SIGTERM
    starts nothing new, waits for the changes in flight and exits 130; a second one stops
    waiting. Before planning, the agents the routines name are checked as plan checks them
    (--no-agent-check skips it; a saved plan was checked when it was made). With --smoke, a
    successful apply is followed by the smoke gate: a failed smoke run fails the deploy;
    --smoke-all also smokes the unchanged routines (re-running a failed gate tests again).

    \b
    Examples:
      reconciler apply manifests/ --auto-approve
      reconciler apply --env dev --auto-approve --smoke --audit-out audit.json
      reconciler apply plan.json --smoke
      reconciler apply --env dev --auto-approve --smoke-all
    """
    out = factory.make(output)
    limit = parse_timeout(timeout, "--timeout")
    run = _Run(
        out=out,
        limit=limit,
        deadline=deadline_after(limit),
        wait=parse_timeout(lock_timeout, "--lock-timeout", zero="fail at once") or 0.0,
        concurrency=concurrency,
        max_failures=max_failures,
    )
    if audit_out:
        check_writable(audit_out)
    saved_file = paths[0] if len(paths) == 1 and _is_plan_file(paths[0]) else None
    if saved_file:
        saved_apply.refuse_options(target, pruning, approved_plan)
    approved = read_approved(approved_plan) if approved_plan else None
    wanted = bool(smoke) or smoke_all
    with ExitStack() as held:
        if saved_file:
            prepared = _saved(saved_file, target, run, held)
        else:
            ctx = build(
                target,
                paths,
                pruning,
                agent_check=not no_agent_check,
                herd_threshold=herd_threshold,
            )
            wanted = smoke_all or (ctx.smoke if smoke is None else smoke)
            prepared = _replanned(ctx, run, held)
            if approved_plan and approved is not None:
                check_approved(approved_plan, approved, prepared.plan)
            if prepared.plan.has_changes:
                confirm(auto_approve or approved_plan is not None, out)
        started = now()
        result = _execute(prepared, run)
        smoked: GateResult | str | None = apply_smoke.NOT_RUN if wanted else None
        try:
            code = _finish(prepared, result, run)
            if wanted and code == 0:
                smoked = apply_smoke.gate(
                    prepared.backend, prepared.plan, result, out, every=smoke_all
                )
        finally:
            context = audit.run_context(os.environ, git_commit())
            document = audit.record(prepared.plan, result, context, started, now(), smoke=smoked)
            out.apply_record(document)
            if audit_out:
                write_json(audit_out, document)
    apply_smoke.verdict(out, smoked)
    return code


@dataclass(frozen=True)
class _Run:
    """How this apply runs (from its options)."""

    out: View
    limit: float | None
    deadline: float | None
    wait: float
    concurrency: int
    max_failures: int


@dataclass(frozen=True)
class _Prepared:
    """A plan ready to run: the open backend, the lock held, and how to locate fields."""

    plan: Plan
    backend: Backend
    lease: Lease
    locate: Locate


def _saved(path: str, target: TargetArgs, run: _Run, held: ExitStack) -> _Prepared:
    plan, backend, lease = saved_apply.load(
        path, target, run.out, held, wait=run.wait, limit=run.limit, deadline=run.deadline
    )
    run.out.preview(plan)
    return _Prepared(plan, backend, lease, source_locator())


def _replanned(ctx: Context, run: _Run, held: ExitStack) -> _Prepared:
    """Load (nothing opened when the manifests are invalid), open, lock, then plan."""
    loaded = load_checked(ctx, run.out)
    backend = held.enter_context(open_backend(ctx.endpoint, writable=True))
    lease = held.enter_context(stack_lock(backend, ctx.stack, run.wait, run.deadline, run.out))
    plan = plan_live(ctx, loaded, backend, run.out, timeout=run.limit, deadline=run.deadline)
    run.out.preview(plan)
    return _Prepared(plan, backend, lease, locator(loaded))


def _execute(prepared: _Prepared, run: _Run) -> ApplyResult:
    out, plan = run.out, prepared.plan
    watch = progress.ApplyProgress(out.human, len(plan.pending), out.progress)
    with interrupts(out) as stop, losing(prepared.lease, stop), progress.shown(watch):
        return apply_plan(
            plan,
            prepared.backend,
            concurrency=run.concurrency,
            max_consecutive_failures=run.max_failures,
            on_result=watch.on_result,
            on_start=watch.on_start,
            locate=prepared.locate,
            stop=stop,
            deadline=run.deadline,
        )


def _is_plan_file(path: str) -> bool:
    """A saved plan is an existing file not named like a manifest (a path that does not exist
    is a manifest path, reported as missing)."""
    exists = os.path.lexists(path)
    return exists and not path.endswith(MANIFEST_SUFFIXES) and not os.path.isdir(path)


def _finish(prepared: _Prepared, result: ApplyResult, run: _Run) -> int:
    """Exit 0 only when every change succeeded and no delete waits behind the guard; 130 when
    interrupted, 1 when the --timeout passed or the lock was lost (after saying what was done)."""
    plan = prepared.plan
    if plan.has_changes or prepared.lease.lost.is_set():
        run.out.apply_summary(result, held_back=len(plan.held_back))
    if prepared.lease.lost.is_set():
        raise lost(plan.stack)
    if result.timed_out:
        raise ReconcilerError(
            f"apply stopped: the --timeout of {duration_text(run.limit)} passed; nothing new was "
            "started, and changes still in flight may or may not have taken effect",
            hint="run plan to see where the project stands",
        )
    if result.interrupted:
        raise ReconcilerError(
            "apply was interrupted: changes already sent may have taken effect; nothing new "
            "was started",
            hint="run plan to see where the project stands",
            exit_code=130,
        )
    refuse_held_back(plan)
    return 0 if result.ok else 1
