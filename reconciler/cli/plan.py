"""``reconciler plan``: show what apply would change."""

from __future__ import annotations

import os

import click

from reconciler import __version__
from reconciler.app.planning import compute_plan, refuse_held_back
from reconciler.cli.common import now, output_option, parse_timeout, timeout_option
from reconciler.cli.context import (
    AGENT_CHECK_FLAG,
    HERD_THRESHOLD_FLAG,
    PruneArgs,
    TargetArgs,
    build,
    prune_options,
    target_options,
)
from reconciler.cli.files import check_writable, write_json, write_private
from reconciler.plan import saved
from reconciler.plan.serialize import plan_to_json
from reconciler.views import factory


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@target_options
@prune_options
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Save the plan (JSON, mode 0600; it holds request bodies: keep it secret). "
    "'reconciler apply FILE' applies exactly this plan.",
)
@click.option(
    "--json-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Also write the plan as JSON (redacted, no request bodies) to this file, e.g. for a "
    "CI artifact.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is nothing to change, 2 when there are changes, 1 on error.",
)
@AGENT_CHECK_FLAG
@HERD_THRESHOLD_FLAG
@timeout_option("15m", "reading the project and planning")
@output_option
def plan(
    *,
    paths: tuple[str, ...],
    target: TargetArgs,
    pruning: PruneArgs,
    out_file: str | None,
    json_out: str | None,
    detailed_exitcode: bool,
    no_agent_check: bool,
    herd_threshold: int | None,
    timeout: str,
    output: str | None,
) -> int:
    """Compare the manifests with the live project and show what apply would change.

    Each agent the routines name is read once (in parallel) and checked first: an agent that
    does not exist, is a workflow agent or has no agent identity fails the plan at the
    routine's agent_name line; a disabled agent or identity, or agents the identity may not
    read (403), are warnings. To skip the check:

    \b
        reconciler plan manifests/ --no-agent-check

    Each created, updated or replaced routine with a schedule or timer shows its next 3 fires
    in its zone and in UTC (before and after when its cron, zone or time changes) and the
    daylight-saving changes of the next 12 months that move, skip or repeat a fire; a load
    forecast shows, per agent a change names, runs per day before and after and the busiest
    UTC minute, with a warning above the herd threshold (20):

    \b
        reconciler plan manifests/ --herd-threshold 50
    """
    ctx = build(
        target, paths, pruning, agent_check=not no_agent_check, herd_threshold=herd_threshold
    )
    for path in (json_out, out_file):
        if path:
            check_writable(path)
    out = factory.make(output)
    planned = compute_plan(ctx, out, timeout=parse_timeout(timeout, "--timeout"))
    result = planned.plan
    out.plan(result)
    if json_out:
        write_json(json_out, plan_to_json(result))
    if out_file:
        absolute = [os.path.abspath(path) for path in ctx.settings.paths]
        text = saved.dump(result, absolute, now(), __version__)
        write_private(out_file, text)
        out.line(f"Saved the plan to {out_file}; apply it with: reconciler apply {out_file}")
    refuse_held_back(result)
    return 2 if detailed_exitcode and result.has_changes else 0
