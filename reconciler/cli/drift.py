"""``reconciler drift``: compare git with the live project; exit 2 on drift."""

from __future__ import annotations

import click

from reconciler.app.planning import compute_plan
from reconciler.cli.common import (
    output_option,
    parse_timeout,
    report_out_options,
    timeout_option,
)
from reconciler.cli.context import PruneArgs, TargetArgs, build, target_options
from reconciler.cli.files import check_writable, write_json, write_text
from reconciler.plan.drift import build as drift_report
from reconciler.views import drift as drift_view
from reconciler.views import factory


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@target_options
@click.option(
    "--ignore-unmanaged",
    is_flag=True,
    help="Report unmanaged routines without counting them as drift.",
)
@report_out_options("drift report")
@timeout_option("15m", "reading the project and comparing")
@output_option
def drift(
    *,
    paths: tuple[str, ...],
    target: TargetArgs,
    ignore_unmanaged: bool,
    json_out: str | None,
    markdown_out: str | None,
    timeout: str,
    output: str | None,
) -> int:
    """Report routines changed, disabled or deleted outside git, and unmanaged routines.

    Differences in fields the configuration or a manifest ignores are reported as information
    and are not drift. Never writes. Exit code 0 in sync, 2 drift, 1 error.
    """
    ctx = build(target, paths, PruneArgs(prune=True), conflicts_as_drift=True)
    for path in (json_out, markdown_out):
        if path:
            check_writable(path)
    out = factory.make(output)
    planned = compute_plan(ctx, out, timeout=parse_timeout(timeout, "--timeout"))
    report = drift_report(planned.plan, count_unmanaged=not ignore_unmanaged)
    name = planned.plan.environment or planned.plan.stack
    if json_out:
        write_json(json_out, drift_view.to_json(report))
    if markdown_out:
        write_text(markdown_out, drift_view.render_markdown([(name, report)]))
    out.drift(report, name)
    return 2 if report.drifted else 0
