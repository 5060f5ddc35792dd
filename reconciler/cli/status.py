"""``reconciler status``: the health of the routines a stack manages; exit 2 when unhealthy."""

from __future__ import annotations

from datetime import datetime

import click

from reconciler.app import status as app_status
from reconciler.app.health import Rules
from reconciler.cli.common import (
    output_option,
    parse_timeout,
    report_out_options,
    timeout_option,
)
from reconciler.cli.context import TargetArgs, build, target_options
from reconciler.cli.files import check_writable, write_json, write_text
from reconciler.contract.timer import parse_duration
from reconciler.diagnostics import ReconcilerError
from reconciler.views import factory
from reconciler.views import status as status_view


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@target_options
@click.option(
    "--since",
    default=None,
    metavar="TIME|DURATION",
    help="Judge only fires expected after this time: ISO 8601 with an offset "
    "(2026-05-01T00:00:00Z) or a duration ago (24h). Default: the latest expected fire since "
    "the routine was created, changed or enabled.",
)
@click.option(
    "--grace",
    default="10m",
    show_default=True,
    metavar="DURATION",
    help="How long an expected fire may take to show up as a run before the routine is silent.",
)
@click.option(
    "--failures",
    type=click.IntRange(1, 100),
    default=3,
    show_default=True,
    help="Consecutive failed runs that make a routine unhealthy.",
)
@click.option(
    "--runs",
    type=click.IntRange(1, 100),
    default=20,
    show_default=True,
    help="Newest run records read per routine (one page each).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=app_status.DEFAULT_CONCURRENCY,
    show_default=True,
    help="Run-history reads in flight at once.",
)
@report_out_options("status report")
@timeout_option("15m", "listing the project and reading the runs")
@output_option
def status(
    *,
    paths: tuple[str, ...],
    target: TargetArgs,
    since: str | None,
    grace: str,
    failures: int,
    runs: int,
    concurrency: int,
    json_out: str | None,
    markdown_out: str | None,
    timeout: str,
    output: str | None,
) -> int:
    """Show the health of every routine the stack manages (and the manifests declare).

    Per routine: enabled, trigger, next fire, last run (phase, status, time), consecutive
    failures and last success, read from its newest --runs records (one page per routine,
    --concurrency at a time). Unhealthy: *failing*, --failures or more failed deliveries in a
    row (the attempts of one delivery count once); *silent*: an
    enabled schedule or timer whose latest expected fire (after --since and the routine's last
    change, at least --grace ago) has no schedule or timer run; *missing*: declared but not in
    the project. Disabled routines are not judged. Never writes. Exit code 0 healthy, 2
    unhealthy, 1 error (also when a run history could not be read).

    \b
    Examples:
      reconciler status --env prod
      reconciler status manifests/ --since 24h --grace 15m -o json
      reconciler status --env prod --output markdown --json-out status.json
    """
    ctx = build(target, paths, require_paths=False)
    for path in (json_out, markdown_out):
        if path:
            check_writable(path)
    now = ctx.settings.now
    rules = Rules(
        now=now,
        grace=_seconds(grace, "--grace"),
        since=None if since is None else _since(since, now),
        failures=failures,
        runs=runs,
    )
    out = factory.make(output)
    limit = parse_timeout(timeout, "--timeout")
    report = app_status.check(ctx, out, rules, concurrency=concurrency, timeout=limit)
    name = report.environment or report.stack
    if json_out:
        write_json(json_out, status_view.to_json(report))
    if markdown_out:
        write_text(markdown_out, status_view.render_markdown([(name, report)]))
    status_view.show(out, report)
    unreadable = report.unreadable
    if unreadable:
        first = unreadable[0]
        raise ReconcilerError(
            f"could not read the run history of {len(unreadable)} routine(s), so their health "
            f"is unknown; {first.name}: {first.error}"
        )
    return 0 if report.healthy else 2


def _seconds(text: str, flag: str) -> int:
    value = text.strip()
    seconds = 0 if value == "0" else parse_duration(value)
    if seconds is None:
        raise ReconcilerError(f"{flag} {text!r} is not a duration: use e.g. 90s, 10m or 1h")
    return seconds


def _since(text: str, now: int) -> int:
    """``--since``: ISO 8601 with an offset, or a duration before ``now``."""
    value = text.strip()
    seconds = parse_duration(value)
    if seconds is not None:
        return now - seconds
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ReconcilerError(
            f"--since {text!r} is not a time or a duration: use ISO 8601 with an offset "
            "(2026-05-01T00:00:00Z) or a duration such as 24h"
        )
    return int(moment.timestamp())
