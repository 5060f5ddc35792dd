"""``reconciler status`` as text, JSON and markdown (the report itself: ``app.status``)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any, Final

from rich.console import Console
from rich.text import Text

from reconciler.app.health import RoutineHealth, RunSummary
from reconciler.app.status import StatusReport
from reconciler.contract.zones import resolve_zone
from reconciler.diagnostics import Diagnostic
from reconciler.plan.model import FORMAT_VERSION
from reconciler.views import diagnostics as diag_view
from reconciler.views.base import View
from reconciler.views.documents import emit_json
from reconciler.views.github import step_summary
from reconciler.views.plan_markdown import fit
from reconciler.views.terminal import emit
from reconciler.views.values import printable

KIND: Final = "reconciler-status"
MARKER: Final = "<!-- reconciler-status -->"
_STYLE: Final = {"healthy": "green", "disabled": "dim", "unknown": "yellow"}


def show(out: View, report: StatusReport) -> None:
    """The report in the view's format: json, markdown, text; github is the text, an error
    annotation per unhealthy routine and the markdown in the job summary."""
    name = report.environment or report.stack
    if out.name == "json":
        emit_json(to_json(report))
    elif out.name == "markdown":
        emit(render_markdown([(name, report)]))
    else:
        render_text(out.human, report)
    if out.name == "github":
        problems = [
            Diagnostic("error", printable(f"routine {item.name} in {name}: {problem}"))
            for item in report.routines
            for problem in item.problems
        ]
        diag_view.write_annotations(problems, sys.stdout)
        step_summary(render_markdown([(name, report)]))


def health(item: RoutineHealth) -> str:
    """``healthy``, ``disabled``, ``unknown`` (history unreadable), or the problems' kinds
    (``failing``, ``silent``, ``missing``, joined by ``+``)."""
    if item.problems:
        return "+".join(p.split(":", 1)[0] for p in item.problems)
    if item.error is not None:
        return "unknown"
    return "disabled" if item.enabled is False else "healthy"


# -- times --


def utc(at: int | None) -> str | None:
    """ISO 8601 in UTC (``2026-12-06T22:00:00Z``)."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zoned(at: int | None, zone: str | None) -> str | None:
    """ISO 8601 with the zone's offset (``2026-12-07T07:00:00+09:00``; UTC without a zone)."""
    if at is None:
        return None
    if zone is None:
        return utc(at)
    try:
        return datetime.fromtimestamp(at, resolve_zone(zone)).isoformat()
    except ValueError:
        return utc(at)


def human_time(at: int, zone: str | None = None) -> str:
    """``2026-12-07 07:00 JST (2026-12-06 22:00 UTC)``, or ``2026-12-06 22:00 UTC``."""
    plain = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    if zone is None:
        return plain
    try:
        local = datetime.fromtimestamp(at, resolve_zone(zone))
    except ValueError:
        return plain
    if local.utcoffset() == UTC.utcoffset(None) and local.tzname() in ("UTC", "GMT"):
        return plain
    return f"{local.strftime('%a %Y-%m-%d %H:%M %Z')} ({plain})"


def ago(at: int, now: int) -> str:
    """``5m ago``, ``3h ago``, ``2d ago`` (``in 5m`` for a time ahead)."""
    seconds = now - at
    span = abs(seconds)
    text = (
        f"{span}s"
        if span < 60
        else f"{span // 60}m"
        if span < 3600
        else f"{span // 3600}h"
        if span < 86_400
        else f"{span // 86_400}d"
    )
    return f"{text} ago" if seconds >= 0 else f"in {text}"


# -- JSON --


def to_json(report: StatusReport) -> dict[str, Any]:
    """The status document (``kind: reconciler-status``)."""
    rules = report.rules
    return {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "target": {
            "endpoint": report.target,
            "stack": report.stack,
            "environment": report.environment,
        },
        "checked_at": utc(rules.now),
        "rules": {
            "grace_seconds": rules.grace,
            "since": utc(rules.since),
            "failures": rules.failures,
            "runs_read": rules.runs,
        },
        "healthy": report.healthy,
        "summary": report.counts(),
        "routines": [_routine_json(item) for item in report.routines],
    }


def _routine_json(item: RoutineHealth) -> dict[str, Any]:
    return {
        "name": item.name,
        "health": health(item),
        "healthy": item.healthy,
        "declared": item.declared,
        "managed": item.managed,
        "deployed": item.deployed,
        "enabled": item.enabled,
        "trigger": None
        if item.trigger_name is None
        else {"name": item.trigger_name, "type": item.trigger_type, "summary": item.trigger},
        "next_fire": zoned(item.next_fire, item.time_zone),
        "last_run": None if item.last_run is None else _run_json(item.last_run),
        "runs_read": item.runs_read,
        "consecutive_failures": item.consecutive_failures,
        "consecutive_failures_at_least": item.failures_capped,
        "last_success": utc(item.last_success),
        "expected_fire": utc(item.expected_fire),
        "silent": item.silent,
        "problems": list(item.problems),
        "error": item.error,
    }


def _run_json(run: RunSummary) -> dict[str, Any]:
    return {
        "id": run.id,
        "phase": run.phase,
        "status": run.status,
        "started_at": utc(run.at),
        "ended_at": utc(run.ended_at),
        "attempt_source": run.source,
        "dispatch_id": run.dispatch_id,
        "error_type": run.error_type,
        "error_message": run.error_message,
        "error_status_code": run.error_status_code,
    }


# -- text --


def render_text(console: Console, report: StatusReport) -> None:
    """One line per routine, its details indented under it, and a closing line."""
    now = report.rules.now
    for item in report.routines:
        label = health(item)
        style = _STYLE.get(label, "red")
        head = f"  {label:<9} {item.name}" + (f": {item.trigger}" if item.trigger else "")
        console.print(Text(printable(head), style=style))
        for line in _details(item, now, report.rules.runs):
            text = f"            {printable(line)}"
            console.print(Text(text, style="dim" if item.healthy else ""))
    console.print(Text(closing(report), style="bold" if report.healthy else "bold red"))


def _details(item: RoutineHealth, now: int, runs: int) -> list[str]:
    lines = [f"problem: {p}" for p in item.problems]
    if item.error is not None:
        lines.append(f"error: {item.error}")
    if not item.deployed:
        return lines
    if item.enabled is False:
        lines.append("disabled: not judged")
    if item.next_fire is not None:
        lines.append(f"next fire: {human_time(item.next_fire, item.time_zone)}")
    if item.error is None:
        lines.append(f"last run: {_run_text(item.last_run, now)}")
        lines.append(_history_text(item, now, runs))
    if not item.managed:
        lines.append("unmanaged: declared, but this stack does not own it")
    return lines


def _run_text(run: RunSummary | None, now: int) -> str:
    if run is None:
        return "none"
    when = f" at {human_time(run.at)} ({ago(run.at, now)})" if run.at is not None else ""
    text = f"{run.phase or '?'} ({run.status or '?'}){when}, {run.source or 'unknown source'}"
    if run.error_type or run.error_message:
        code = f" [{run.error_status_code}]" if run.error_status_code is not None else ""
        text += f": {run.error_type or 'error'}{code}: {run.error_message or ''}".rstrip(": ")
    return text


def _history_text(item: RoutineHealth, now: int, runs: int) -> str:
    failures = f"{item.consecutive_failures}{'+' if item.failures_capped else ''}"
    if item.last_success is not None:
        success = f"{human_time(item.last_success)} ({ago(item.last_success, now)})"
    else:
        success = f"none in the newest {runs} runs" if item.runs_read >= runs else "never"
    return f"consecutive failures: {failures}; last success: {success}"


def closing(report: StatusReport) -> str:
    """``Healthy: 3 routine(s).`` or ``Unhealthy: 2 of 3 routine(s) (1 failing, 1 silent).``;
    disabled routines are not judged and are counted apart (``; 1 disabled, not judged``)."""
    counts = report.counts()
    total = counts["routines"]
    off = f"; {counts['disabled']} disabled, not judged" if counts["disabled"] else ""
    if report.healthy:
        if not total:
            return "No routines to check."
        if not counts["healthy"]:
            return f"No enabled routines to check{off}."
        return f"Healthy: {counts['healthy']} routine(s){off}."
    kinds = [
        f"{counts[k]} {k}" for k in ("failing", "silent", "missing", "unreadable") if counts[k]
    ]
    bad = counts["unhealthy"] + counts["unreadable"]
    return f"Unhealthy: {bad} of {total} routine(s) ({', '.join(kinds)}){off}."


# -- markdown --


def render_markdown(reports: list[tuple[str, StatusReport]], hint: str = "the status JSON") -> str:
    """A table per environment, then its problems (for the drift issue and job summaries)."""
    head = [MARKER, "## Routine health", ""]
    parts: list[str] = []
    for env, report in reports:
        parts.append(f"### {_cell(env)}: {closing(report)}")
        if report.routines:
            parts.append("\n".join(_table(report)))
        problems = [
            f"- `{_cell(item.name)}`: {_cell(p)}"
            for item in report.routines
            for p in (*item.problems, *([f"error: {item.error}"] if item.error else []))
        ]
        if problems:
            parts.append("**Problems**\n\n" + "\n".join(problems))
    return fit(head, parts, hint)


def _table(report: StatusReport) -> list[str]:
    now = report.rules.now
    rows = [
        "| routine | health | trigger | next fire | last run | failures in a row | last success |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for item in report.routines:
        run = item.last_run
        last = "—" if run is None else f"{run.phase} ({ago(run.at, now) if run.at else '?'})"
        success = "—" if item.last_success is None else ago(item.last_success, now)
        cells = [
            f"`{item.name}`",
            health(item),
            item.trigger or "—",
            human_time(item.next_fire, item.time_zone) if item.next_fire else "—",
            last,
            f"{item.consecutive_failures}{'+' if item.failures_capped else ''}",
            success,
        ]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return rows


def _cell(text: str) -> str:
    return printable(text).replace("|", "\\|")
