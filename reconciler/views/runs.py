"""Run history (``reconciler runs``) and dispatch outcomes (``reconciler dispatch``): text lines
and JSON documents (``format_version`` "1"; run records exactly as the service returns them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from rich.console import Console
from rich.text import Text

from reconciler.app.dispatching import Outcome, error_of
from reconciler.app.run_history import History
from reconciler.views.values import printable

Json = dict[str, Any]
FORMAT_VERSION: Final = "1"  # a string, as in every other document (plan, drift, status)
_STYLE: Final = {"completed": "green", "failed": "red", "queued": "yellow", "dispatching": "cyan"}
_COLUMNS: Final = ("TRIGGERED (UTC)", "PHASE", "STATUS", "SOURCE", "TOOK", "RUN ID")


def when(value: object) -> str:
    """Unix seconds as ``2030-01-01 07:00:00`` (UTC); ``-`` when absent."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "-" if value is None else str(value)
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S")


def took(run: Json) -> str:
    """``3s`` from ``started_at`` to ``ended_at`` (``-`` while unfinished)."""
    start, end = run.get("started_at"), run.get("ended_at")
    if not isinstance(start, int | float) or not isinstance(end, int | float):
        return "-"
    return f"{max(0, end - start):.0f}s"


def history_document(name: str, target: str, history: History, filters: Json) -> Json:
    """The JSON of ``reconciler runs``."""
    return {
        "format_version": FORMAT_VERSION,
        "routine": name,
        "target": target,
        "filters": filters,
        "runs": history.runs,
        "more": history.more,
        "scanned": history.scanned,
        "capped": history.capped,
    }


def render_history(console: Console, name: str, history: History, limit: int) -> None:
    """A table of runs, newest first, each failure's error under its row, then what was left
    out."""
    if not history.runs:
        console.print(f"No runs of {printable(name)} match.", highlight=False, markup=False)
    else:
        rows = [_row(run) for run in history.runs]
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(_COLUMNS)]
        console.print("  ".join(c.ljust(w) for c, w in zip(_COLUMNS, widths, strict=True)).rstrip())
        for run, row in zip(history.runs, rows, strict=True):
            line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            console.print(Text(line, style=_STYLE.get(str(run.get("phase")), "")))
            if run.get("phase") == "failed":
                console.print(
                    f"    error: {printable(error_of(run))}", highlight=False, markup=False
                )
    if history.more:
        console.print(f"More runs match: --limit {limit * 10} shows more.", highlight=False)
    if history.capped:
        console.print(f"Stopped after reading {history.scanned} runs.", highlight=False)


def _row(run: Json) -> list[str]:
    cells = [
        when(run.get("triggered_at")),
        str(run.get("phase") or "-"),
        str(run.get("status") or "-"),
        str(run.get("attempt_source") or "-"),
        took(run),
        str(run.get("id") or "-"),
    ]
    return [printable(cell) for cell in cells]


def outcome_document(outcome: Outcome, target: str) -> Json:
    """The JSON of ``reconciler dispatch``."""
    return {
        "format_version": FORMAT_VERSION,
        "routine": outcome.name,
        "target": target,
        "state": outcome.state,
        "ok": outcome.ok,
        "dispatch_id": outcome.dispatch_id,
        "acknowledgement": outcome.ack,
        "run": outcome.run,
        "attempts": list(outcome.attempts),
        "message": outcome.message,
        "seconds": round(outcome.elapsed, 1),
    }


def dispatched_line(outcome: Outcome) -> str:
    """``Dispatched r1: dispatch_id 5aaf...`` (the acknowledgement), on one line."""
    if outcome.dispatch_id is None:
        text = f"Dispatched {outcome.name}: {outcome.message or 'no dispatch_id returned'}"
        return printable(text)
    return printable(f"Dispatched {outcome.name}: dispatch_id {outcome.dispatch_id}")


def outcome_line(outcome: Outcome) -> str:
    """One line saying how the wait ended (``completed`` is the only success); the service's
    text is escaped, so it stays one line."""
    return printable(_outcome_text(outcome))


def _outcome_text(outcome: Outcome) -> str:
    count = len(outcome.attempts)
    attempts = f"{count} attempt{'' if count == 1 else 's'}"
    run = outcome.run or {}
    ident = f"run {run.get('id')} of {outcome.name}" if run.get("id") else outcome.name
    if outcome.state == "completed":
        return f"Completed: {ident} in {outcome.elapsed:.0f}s ({attempts})."
    if outcome.state == "failed":
        return f"{ident} failed after {attempts}: {error_of(run)}"
    if outcome.state == "timeout":
        return (
            f"{outcome.name} (dispatch_id {outcome.dispatch_id}): {outcome.message}; the run may "
            f"still finish: reconciler runs {outcome.name}"
        )
    if outcome.state == "refused":
        return f"dispatch of {outcome.name} refused: {outcome.message}"
    return f"dispatch of {outcome.name}: {outcome.message or outcome.state}"
