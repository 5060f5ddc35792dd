"""``reconciler schedule`` as a table: text, markdown and JSON (the HTML heat map is
``schedule_html``). Each returns the whole document; the command writes it."""

from __future__ import annotations

import html
from typing import Any

from reconciler.app.schedule import AgentLoad, Fire, Schedule
from reconciler.views.schedule_words import (
    change_words,
    counts_words,
    iso_local,
    iso_utc,
    plural,
    utc_minute,
    window_words,
    zone_minute,
)
from reconciler.views.values import printable

_HEAD = ("UTC", "LOCAL", "ROUTINE", "TRIGGER", "AGENT")


def _cells(fire: Fire) -> tuple[str, ...]:
    timed = fire.timed
    return (
        utc_minute(fire.at),
        zone_minute(fire.at, timed.zone),
        timed.routine,
        timed.trigger,
        timed.agent,
    )


def _load(load: AgentLoad) -> str:
    return f"{plural(load.fires, 'fire')}, {plural(load.routines, 'routine')}"


def _users(routines: tuple[str, ...]) -> str:
    return f"schedules in this zone: {printable(', '.join(routines))}"


def _more(schedule: Schedule, shown: int) -> str | None:
    if shown >= schedule.total:
        return None
    return f"(the first {shown:,} of {schedule.total:,} fires; --limit N shows more)"


def render_text(schedule: Schedule, limit: int) -> str:
    """Aligned columns, then the agents, the offset changes and the routines that do not fire."""
    rows = [tuple(printable(c) for c in _cells(f)) for f in schedule.rows(limit)]
    lines = [f"Fires {window_words(schedule)}: {counts_words(schedule)}"]
    if rows:
        widths = [max(len(r[i]) for r in [_HEAD, *rows]) for i in range(len(_HEAD))]
        lines.append("")
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                  for r in [_HEAD, *rows]]  # fmt: skip
    more = _more(schedule, len(rows))
    lines += [more] if more else []
    if schedule.timed:
        lines += ["", "Agents:"]
        lines += [f"  {printable(a.agent)}: {_load(a)}" for a in schedule.agents()]
    if schedule.changes:
        lines += ["", "UTC offset changes in this window:"]
        lines += [f"  {c.zone}: {change_words(c)}; {_users(c.routines)}" for c in schedule.changes]
    if schedule.quiet:
        lines += ["", "No fires in this window:"]
        lines += [f"  {printable(q.routine)}: {q.reason}" for q in schedule.quiet]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return html.escape(printable(text), quote=False).replace("|", "\\|")


def render_markdown(schedule: Schedule, limit: int) -> str:
    """A summary line, the fires table and the same sections as text."""
    rows = schedule.rows(limit)
    lines = [f"### Routine fires {window_words(schedule)}", "", f"{counts_words(schedule)}."]
    if rows:
        lines += ["", "| " + " | ".join(_HEAD) + " |", "|" + " --- |" * len(_HEAD)]
        lines += ["| " + " | ".join(_md(c) for c in _cells(f)) + " |" for f in rows]
    more = _more(schedule, len(rows))
    lines += ["", more] if more else []
    if schedule.timed:
        lines += ["", "| agent | fires | routines |", "| --- | ---: | ---: |"]
        lines += [f"| {_md(a.agent)} | {a.fires:,} | {a.routines:,} |" for a in schedule.agents()]
    if schedule.changes:
        lines += ["", "**UTC offset changes in this window**", ""]
        lines += [f"- {c.zone}: {change_words(c)}; {_md(_users(c.routines))}"
                  for c in schedule.changes]  # fmt: skip
    if schedule.quiet:
        lines += ["", "**No fires in this window**", ""]
        lines += [f"- {_md(q.routine)}: {_md(q.reason)}" for q in schedule.quiet]
    return "\n".join(lines) + "\n"


def to_json(schedule: Schedule, limit: int) -> dict[str, Any]:
    """The schedule document (``kind: reconciler-schedule``, ``format_version`` "1", as the
    other commands' documents): the window, every fire shown (ISO 8601, UTC and in the routine's
    zone), the per-agent load, the offset changes and the routines that do not fire."""
    rows = schedule.rows(limit)
    window = schedule.window
    return {
        "format_version": "1",
        "kind": "reconciler-schedule",
        "from": iso_utc(window.start),
        "until": iso_utc(window.end),
        "days": window.days,
        "total_fires": schedule.total,
        "shown": len(rows),
        "truncated": len(rows) < schedule.total,
        "fires": [_fire_json(f) for f in rows],
        "agents": [
            {"agent": a.agent, "fires": a.fires, "routines": a.routines} for a in schedule.agents()
        ],
        "offset_changes": [
            {
                "zone": c.zone,
                "at": iso_utc(c.at),
                "offset_before": c.before,
                "offset_after": c.after,
                "routines": list(c.routines),
            }
            for c in schedule.changes
        ],
        "not_firing": [{"routine": q.routine, "reason": q.reason} for q in schedule.quiet],
    }


def _fire_json(fire: Fire) -> dict[str, Any]:
    timed = fire.timed
    return {
        "utc": iso_utc(fire.at),
        "local": iso_local(fire.at, timed.zone),
        "time_zone": timed.zone_name,
        "routine": timed.routine,
        "trigger": timed.trigger,
        "type": timed.kind,
        "agent": timed.agent,
    }
