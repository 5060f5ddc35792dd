"""The smoke gate's lines (``reconciler.app.smoke``): one per routine as it settles, then the
verdict. Human lines go where the view sends them (stderr under json and markdown)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from reconciler.app.dispatching import error_of
from reconciler.app.smoke import GateResult, SmokeRun
from reconciler.diagnostics import Diagnostic
from reconciler.views import diagnostics as diag_view
from reconciler.views.base import View
from reconciler.views.github import step_summary
from reconciler.views.values import printable


def starting(out: View, count: int, *, disabled: Sequence[str] = (), every: bool = False) -> None:
    """The line before the dispatches (and the routines skipped because git disables them)."""
    if disabled:
        names = ", ".join(disabled)
        out.line(
            f"Smoke gate: skipped {len(disabled)} disabled routine(s) (git declares them "
            f"disabled; a disabled routine is never dispatched): {names}"
        )
    if count == 0:
        which = "declared" if every else "created, updated, replaced or enabled"
        other = " other" if disabled else ""
        out.line(f"Smoke gate: no{other} {which} routine declares a smoke test.")
        return
    out.line(
        f"Smoke gate: dispatching {count} routine(s) once each and waiting for their runs...",
        "bold",
    )


def result_line(run: SmokeRun) -> str:
    """``  passed  nightly: completed in 3s (dispatch ..., run ...)``."""
    outcome = run.outcome
    ids = []
    if outcome.dispatch_id:
        ids.append(f"dispatch {outcome.dispatch_id}")
    if outcome.run_ids:
        label = "run" if len(outcome.run_ids) == 1 else "runs"
        ids.append(f"{label} {', '.join(outcome.run_ids)}")
    where = f" ({'; '.join(ids)})" if ids else ""
    if run.ok:
        return f"  passed  {printable(run.name)}: completed in {outcome.elapsed:.0f}s{where}"
    return f"  FAILED  {printable(run.name)}: {_why(run)}{where}"


def _why(run: SmokeRun) -> str:
    """Why a smoke run failed, on one line (service text escaped)."""
    return printable(_reason(run))


def _reason(run: SmokeRun) -> str:
    outcome = run.outcome
    if outcome.state == "failed":
        attempts = len(outcome.attempts)
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return f"the run failed{tries}: {error_of(outcome.run) or 'no error recorded'}"
    if outcome.state == "timeout":
        return f"no result within its timeout of {run.smoke.timeout}s: {outcome.message}"
    if outcome.state == "refused":
        return f"the dispatch was refused: {outcome.message}"
    return f"{outcome.state}: {outcome.message}"


def settled(out: View, run: SmokeRun) -> None:
    """One routine's line, as it settles."""
    out.line(result_line(run), "green" if run.ok else "red")


def closing(gate: GateResult) -> str:
    """``Smoke gate passed: 2 of 2 runs completed.`` or why it failed."""
    total = len(gate.runs)
    failed = gate.failed
    if not failed:
        return f"Smoke gate passed: {total} of {total} run(s) completed."
    names = ", ".join(printable(run.name) for run in failed)
    return f"smoke gate failed: {len(failed)} of {total} smoke run(s) did not complete ({names})"


def markdown(gate: GateResult) -> str:
    """The gate as a markdown table (the job summary under GitHub Actions)."""
    rows = [
        "### Smoke gate",
        "",
        "| routine | action | result | runs |",
        "| --- | --- | --- | --- |",
    ]
    for run in gate.runs:
        result = "completed" if run.ok else _why(run)
        ids = ", ".join(f"`{i}`" for i in run.outcome.run_ids) or "—"
        cell = result.replace("|", "\\|")
        rows.append(f"| `{printable(run.name)}` | {run.action} | {cell} | {ids} |")
    return "\n".join([*rows, "", f"**{closing(gate)}**", ""])


def finished(out: View, gate: GateResult) -> None:
    """Under GitHub Actions: an error annotation per failed run and the table in the job
    summary (other views: nothing more)."""
    if out.name != "github" or not gate.runs:
        return
    failed = [
        Diagnostic("error", f"smoke test of {printable(run.name)} failed: {_why(run)}")
        for run in gate.failed
    ]
    diag_view.write_annotations(failed, sys.stdout)
    step_summary(markdown(gate))
