"""``reconciler schedule --output html``: one self-contained page (inline CSS, no scripts, no
external assets; a Content-Security-Policy forbids loading anything) with a day x hour heat map
of fires for all agents and for each of the busiest, in UTC and in the chosen zone, with that
zone's offset changes marked.

Every manifest string (routine, trigger and agent names, zone names) is untrusted input and is
escaped once, here, with ``html.escape``. The DOM carries what a test or a scraper needs:
``table[data-zone][data-peak]``, ``tr[data-day]``, ``td[data-hour][data-count]`` and
``td[data-dst]`` (skipped, repeated or instant).
"""

from __future__ import annotations

import math
from html import escape

from reconciler.app.schedule_heat import MAX_AGENTS, Cell, Day, Grid, HeatMap, Panel
from reconciler.views.schedule_words import change_words, counts_words, plural, window_words

LEVELS = ("#f3f4f6", "#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
"""Cell colours by level: 0 (no fire), then 1-5 in fifths of the map's busiest hour."""
OUTSIDE = "#ffffff"
DST = "#e6550d"

_CSS = f"""
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1f2933; background: #fff; }}
h1 {{ font-size: 20px; margin: 0 0 4px; }}
h2 {{ font-size: 16px; margin: 24px 0 8px; }}
.panels {{ display: flex; flex-wrap: wrap; gap: 24px; }}
table.heat {{ border-collapse: separate; border-spacing: 2px; font-size: 10px; }}
table.heat caption {{ text-align: left; font-weight: 600; padding-bottom: 4px; }}
table.heat th {{ font-weight: normal; color: #52606d; }}
table.heat tbody th {{ text-align: right; padding-right: 6px; white-space: nowrap; }}
table.heat td {{ width: 21px; height: 20px; padding: 0; text-align: center; color: #1f2933; }}
{"".join(f"td.l{i} {{ background: {colour}; }}" for i, colour in enumerate(LEVELS))}
td.l4, td.l5 {{ color: #fff; }}
td.out {{ background: {OUTSIDE}; outline: 1px dashed #cbd2d9; outline-offset: -1px; }}
td.dst {{ box-shadow: inset 0 0 0 3px {DST}; }}
tr.dst th {{ color: {DST}; font-weight: 600; }}
.legend span {{ display: inline-block; width: 24px; height: 14px; vertical-align: middle; }}
.legend .dst {{ box-shadow: inset 0 0 0 3px {DST}; }}
.changes li {{ color: {DST}; }}
.note {{ color: #52606d; }}
"""


def render_html(heat: HeatMap) -> str:
    """The whole page."""
    schedule = heat.schedule
    title = f"Routine fires {window_words(schedule)}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="summary">{escape(counts_words(schedule))}; zone {escape(heat.zone_name)}.</p>',
        _legend(),
        _changes(heat),
        *(_grid(grid, index) for index, grid in enumerate(heat.grids)),
        _hidden(heat),
        _quiet(heat),
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"


def _legend() -> str:
    swatches = "".join(
        f'<span class="l{i}" style="background:{colour}"></span> '
        for i, colour in enumerate(LEVELS)
    )
    return (
        f'<p class="legend">{swatches}none to the busiest hour of each map (its title names '
        'it); <span class="dst"></span> an hour a UTC offset change skips, repeats or happens '
        "in; dashed: outside the window. Rows are days in the panel's zone, columns hours.</p>"
    )


def _changes(heat: HeatMap) -> str:
    zone = escape(heat.zone_name)
    if not heat.changes:
        return f'<p class="changes note">No UTC offset change in {zone} in this window.</p>'
    items = "".join(f"<li>{escape(change_words(c))}</li>" for c in heat.changes)
    return (
        f'<section class="changes"><h2>UTC offset changes in {zone}</h2><ul>{items}</ul></section>'
    )


def _grid(grid: Grid, index: int) -> str:
    name = "All agents" if grid.agent is None else f"Agent {grid.agent}"
    agent = "" if grid.agent is None else f' data-agent="{escape(grid.agent)}"'
    fires, routines = plural(grid.fires, "fire"), plural(grid.routines, "routine")
    panels = "".join(_panel(panel) for panel in grid.panels)
    return (
        f'<section class="grid" id="grid-{index}"{agent}>'
        f"<h2>{escape(name)}: {fires}, {routines}</h2>"
        f'<div class="panels">{panels}</div></section>'
    )


def _panel(panel: Panel) -> str:
    zone = escape(panel.zone_name)
    hours = "".join(f"<th>{hour:02d}</th>" for hour in range(24))
    rows = "".join(_row(day, panel) for day in panel.days)
    busiest = f"busiest hour: {plural(panel.peak, 'fire')}"
    return (
        f'<table class="heat" data-zone="{zone}" data-peak="{panel.peak}">'
        f"<caption>{zone} ({busiest})</caption>"
        f"<thead><tr><th></th>{hours}</tr></thead><tbody>{rows}</tbody></table>"
    )


def _row(day: Day, panel: Panel) -> str:
    label = day.day.strftime("%a %m-%d")
    marked = ' class="dst"' if day.marked else ""
    flag = " DST" if day.marked else ""
    cells = "".join(_cell(cell, day, panel) for cell in day.cells)
    return f'<tr data-day="{day.day.isoformat()}"{marked}><th>{label}{flag}</th>{cells}</tr>'


def _cell(cell: Cell, day: Day, panel: Panel) -> str:
    classes = [_level(cell, panel.peak)]
    when = f"{day.day.strftime('%a %Y-%m-%d')} {cell.hour:02d}:00-{cell.hour:02d}:59"
    title = f"{when} {panel.zone_name}: {plural(cell.count, 'fire')}"
    extra = ""
    if cell.mark is not None:
        classes.append("dst")
        title += f"; {cell.mark.kind}: {change_words(cell.mark.change)}"
        extra = f' data-dst="{cell.mark.kind}"'
    text = str(cell.count) if cell.count else ""
    return (
        f'<td class="{" ".join(classes)}" data-hour="{cell.hour}" data-count="{cell.count}"'
        f'{extra} title="{escape(title)}">{text}</td>'
    )


def _level(cell: Cell, peak: int) -> str:
    if not cell.inside and not cell.count:
        return "out"
    if not cell.count:
        return "l0"
    return f"l{max(1, math.ceil(5 * cell.count / peak))}"


def _hidden(heat: HeatMap) -> str:
    if not heat.hidden:
        return ""
    names = ", ".join(f"{a.agent} ({a.fires:,})" for a in heat.hidden)
    return (
        f'<p class="note">The {MAX_AGENTS} busiest agents have a map of their own; '
        f"{len(heat.hidden):,} more are in the first map only: {escape(names)}.</p>"
    )


def _quiet(heat: HeatMap) -> str:
    quiet = heat.schedule.quiet
    if not quiet:
        return ""
    items = "".join(f"<li>{escape(q.routine)}: {escape(q.reason)}</li>" for q in quiet)
    return f'<section class="quiet"><h2>No fires in this window</h2><ul>{items}</ul></section>'
