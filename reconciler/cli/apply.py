"""``reconciler apply``: make the project match the manifests, or apply a saved plan."""

from __future__ import annotations

import os
import sys

import click

from reconciler.apply import DEFAULT_BREAKER, DEFAULT_CONCURRENCY, ApplyResult, apply_plan
from reconciler.cli.common import OUTPUT_FORMATS, resolve_output
from reconciler.cli.context import Context, build, prune_options, target_options
from reconciler.cli.planning import compute_plan
from reconciler.diagnostics import ReconcilerError
from reconciler.live.base import Backend, BackendError
from reconciler.live.factory import open_backend
from reconciler.manifest.loader import digest_of
from reconciler.manifest.sources import MANIFEST_SUFFIXES
from reconciler.plan import saved
from reconciler.plan.model import Plan
from reconciler.views.output import Output


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
    "--output",
    "-o",
    type=click.Choice(OUTPUT_FORMATS),
    default=None,
    help="text (default), json, markdown, or github (default under GitHub Actions).",
)
def apply(
    *,
    paths: tuple[str, ...],
    endpoint: str | None,
    stack: str | None,
    cli_vars: tuple[str, ...],
    env: str | None,
    config_path: str | None,
    prune: bool | None,
    max_deletes: int | None,
    adopt: bool,
    adopt_from: tuple[str, ...],
    auto_approve: bool,
    concurrency: int,
    max_failures: int,
    output: str | None,
) -> None:
    """Apply the manifests (re-plans, then asks), or a saved plan: 'apply PLANFILE'.

    Without a terminal, apply needs --auto-approve or a saved plan. Deletes run last, and only
    with --prune. Exit code 0 when every change succeeded, 1 otherwise.
    """
    out = Output(resolve_output(output))
    if len(paths) == 1 and _is_plan_file(paths[0]):
        ctx = build(paths=("-",), endpoint=endpoint, stack=stack, cli_vars=cli_vars)
        plan, backend = _load_saved(paths[0], ctx, out)
    else:
        ctx = build(
            paths=paths,
            endpoint=endpoint,
            stack=stack,
            cli_vars=cli_vars,
            env=env,
            config_path=config_path,
            prune=prune,
            max_deletes=max_deletes,
            adopt=adopt,
            adopt_from=adopt_from,
        )
        plan, backend = compute_plan(ctx, out)
        out.plan(plan)
        if plan.has_changes:
            _confirm(auto_approve, out)
    try:
        result = apply_plan(
            plan,
            backend,
            concurrency=concurrency,
            max_consecutive_failures=max_failures,
            on_result=out.progress,
        )
    finally:
        backend.close()
    _finish(plan, result, out)


def _is_plan_file(path: str) -> bool:
    return not path.endswith(MANIFEST_SUFFIXES) and not os.path.isdir(path)


def _confirm(auto_approve: bool, out: Output) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise ReconcilerError(
            "apply needs confirmation, and there is no terminal to ask in",
            hint="pass --auto-approve, or apply a saved plan: 'reconciler plan --out plan.json' "
            "then 'reconciler apply plan.json'",
        )
    out.line("Do you want to perform these actions? Only 'yes' will be accepted.")
    answer = click.prompt("  Enter a value", default="", show_default=False)
    if answer.strip() != "yes":
        raise ReconcilerError("apply cancelled; nothing was changed")


def _load_saved(path: str, ctx: Context, out: Output) -> tuple[Plan, Backend]:
    out.header(ctx.endpoint.display, ctx.endpoint.origin, ctx.stack)
    try:
        with open(path, encoding="utf-8") as handle:
            saved_plan = saved.load(handle.read(), path)
        saved.check_scope(saved_plan.plan, ctx.stack, ctx.endpoint.display)
        _check_manifests(saved_plan)
    except OSError as err:
        raise ReconcilerError(f"cannot read plan file {path}: {err.strerror or err}") from None
    except saved.SavedPlanError as err:
        raise ReconcilerError(f"refusing to apply: {err}") from None
    backend = open_backend(ctx.endpoint)
    try:
        stale = saved.stale_changes(saved_plan.plan, backend.list_routines())
    except BackendError as err:
        backend.close()
        raise ReconcilerError(err.message) from None
    if stale:
        backend.close()
        raise ReconcilerError(
            f"refusing to apply: the plan is stale: {', '.join(stale)} changed in the project "
            "since the plan was made; nothing was changed",
            hint="make a new plan",
        )
    out.plan(saved_plan.plan)
    return saved_plan.plan, backend


def _check_manifests(saved_plan: saved.SavedPlan) -> None:
    if saved_plan.paths and digest_of(saved_plan.paths) != saved_plan.plan.manifest_digest:
        raise saved.SavedPlanError(
            f"the manifests under {', '.join(saved_plan.paths)} changed since the plan was made"
        )


def _finish(plan: Plan, result: ApplyResult, out: Output) -> None:
    if not plan.has_changes:
        raise SystemExit(0)
    out.apply_summary(result)
    raise SystemExit(0 if result.ok else 1)
