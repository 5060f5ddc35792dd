"""``reconciler schedule [PATHS] [--from DATE] [--days N]``: when the declared routines fire."""

from __future__ import annotations

import json

import click

from reconciler.app.schedule import MAX_DAYS, Schedule, Window, make_schedule, parse_start
from reconciler.app.schedule_heat import MAX_HTML_DAYS, check_html_days, chosen_zone, heat_map
from reconciler.cli.common import now
from reconciler.cli.context import ConfigArgs, config_options, offline_settings
from reconciler.cli.files import check_writable, write_text
from reconciler.diagnostics import ReconcilerError
from reconciler.manifest.loader import load
from reconciler.views import factory, terminal
from reconciler.views.base import View
from reconciler.views.schedule_html import render_html
from reconciler.views.schedule_text import render_markdown, render_text, to_json
from reconciler.views.schedule_words import plural

MAX_ROWS = 100_000
SCHEDULE_FORMATS = ("text", "json", "markdown", "html")


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@config_options
@click.option(
    "--from",
    "start",
    metavar="DATE",
    default=None,
    help="Start of the window: an ISO date (midnight UTC) or date-time (UTC unless it names "
    "an offset), e.g. 2026-03-09 or 2026-03-09T07:00+01:00 (default: now).",
)
@click.option(
    "--days",
    type=click.IntRange(1, MAX_DAYS),
    default=7,
    show_default=True,
    help=f"Length of the window in days (at most {MAX_DAYS}; {MAX_HTML_DAYS} for html).",
)
@click.option(
    "--zone",
    metavar="ZONE",
    default=None,
    help="The html heat map's second zone, IANA or Windows name (default: the zone most "
    "schedules use, else UTC).",
)
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_ROWS),
    default=500,
    show_default=True,
    help="Fires listed by text, markdown and json (the counts always cover the window).",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(SCHEDULE_FORMATS),
    default=None,
    help="text (default), json, markdown, or html (one self-contained page: a day x hour heat "
    "map per agent, in UTC and in --zone).",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Write the document to FILE (replaced atomically) instead of stdout.",
)
def schedule(
    *,
    paths: tuple[str, ...],
    config: ConfigArgs,
    start: str | None,
    days: int,
    zone: str | None,
    limit: int,
    output: str | None,
    out_file: str | None,
) -> int:
    """Show when the declared routines fire: every schedule and timer fire in a window, from
    the manifests alone (no project is read).

    PATHS default to the manifests of reconciler.yaml (of --env when given). Times are listed
    in UTC and in each routine's own zone; a skipped local hour (clocks forward) never fires, a
    repeated one (clocks back) fires twice. Disabled routines and event triggers do not fire
    and are listed as such. Exit code 0, or 1 for invalid manifests or options.

    \b
    Examples:
      reconciler schedule manifests/
      reconciler schedule manifests/ --from 2026-03-23 --days 14 -o json
      reconciler schedule manifests/ -o html --zone Europe/Stockholm --out fires.html
    """
    form = output or "text"
    view = factory.make("text" if form == "html" else form)
    window = Window(parse_start(start, now()), days)
    if zone is not None:
        chosen_zone(zone)
    if form == "html":
        check_html_days(days)
    if out_file:
        check_writable(out_file)
    found = _schedule(paths, config, window, view)
    document = _render(found, form, limit, zone)
    if not out_file:
        terminal.emit(document)
        return 0
    write_text(out_file, document)
    view.line(f"Wrote {out_file}: {plural(found.total, 'fire')} in {plural(days, 'day')}.")
    return 0


def _schedule(paths: tuple[str, ...], config: ConfigArgs, window: Window, view: View) -> Schedule:
    chosen, values = offline_settings(paths, config, "schedule")
    loaded = load(list(chosen), variables=values, now=now(), fired_timers_ok=True)
    if loaded.diagnostics:
        view.diagnostics(loaded.diagnostics)
    if not loaded.ok:
        raise ReconcilerError("the manifests are invalid; no schedule was made")
    return make_schedule(loaded.routines, window)


def _render(found: Schedule, form: str, limit: int, zone: str | None) -> str:
    if form == "html":
        return render_html(heat_map(found, zone or found.busiest_zone))
    if form == "json":
        return json.dumps(to_json(found, limit), indent=2, ensure_ascii=False) + "\n"
    if form == "markdown":
        return render_markdown(found, limit)
    return render_text(found, limit)
