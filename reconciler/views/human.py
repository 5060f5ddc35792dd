"""The human view (``--output text``): the plan, drift and apply results as readable text.

Colour only on a terminal and never when ``NO_COLOR`` is set (rich honours both). ``JsonView``,
``MarkdownView`` and ``GitHubView`` build on this one.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from reconciler.apply import ApplyResult, ChangeResult
from reconciler.diagnostics import Diagnostic
from reconciler.plan.drift import DriftReport
from reconciler.plan.model import Action, Plan
from reconciler.views import diagnostics as diag_view
from reconciler.views import drift as drift_view
from reconciler.views import plan_text

_STYLE = {
    "ok": "green",
    "failed": "red",
    "conflict": "red",
    "unknown": "red",
    "skipped": "yellow",
}


def console(stream: Any) -> Console:
    """A console that styles only a terminal, and nothing at all under ``NO_COLOR``."""
    plain = bool(os.environ.get("NO_COLOR"))
    return Console(
        file=stream,
        soft_wrap=True,
        highlight=False,
        no_color=plain,
        color_system=None if plain else "auto",
    )


def timing(item: ChangeResult) -> str:
    """`` (2 retries, 3.1s)`` (nothing for a change that was not started)."""
    if item.status == "skipped":
        return ""
    plural = "retry" if item.retries == 1 else "retries"
    retries = f"{item.retries} {plural}, " if item.retries else ""
    return f" ({retries}{item.seconds:.1f}s)"


def result_line(item: ChangeResult) -> str:
    """``  ok      update   NAME (0.3s): message [file:line:col]``."""
    note = f": {item.message}" if item.message else ""
    found = item.where if item.status == "failed" else None
    where = f" [{found.render()}]" if found else ""
    return f"  {item.status:<7} {item.action.value:<8} {item.name}{timing(item)}{note}{where}"


def apply_closing(result: ApplyResult, held_back: int) -> tuple[str, bool]:
    """The closing line of apply and whether it is a success (enables and disables count as
    updates, as in the plan)."""
    done = dict.fromkeys(dict.fromkeys(a.info.done for a in Action if a.is_change), 0)
    for item in result.results:
        if item.status == "ok":
            done[item.action.info.done] += 1
    if result.interrupted:
        state = "interrupted"
    elif result.timed_out:
        state = "timed out"
    elif result.ok and not held_back:
        state = "complete"
    else:
        state = "finished with errors" if not result.ok else "finished"
    conflicts, unknown = result.count("conflict"), result.count("unknown")
    conflict_text = f"{conflicts} conflict{'' if conflicts == 1 else 's'}, " if conflicts else ""
    conflict_text += f"{unknown} unknown, " if unknown else ""
    line = (
        f"Apply {state}: {done['created']} created, {done['updated']} updated, "
        f"{done['replaced']} replaced, {done['deleted']} deleted, {result.count('failed')} "
        f"failed, {conflict_text}{result.count('skipped')} skipped"
        + (f", {held_back} deletes held back." if held_back else ".")
    )
    return line, state == "complete"


class HumanView:
    """Readable text on stdout; diagnostics and failures on stderr."""

    name = "text"

    def __init__(self) -> None:
        self.out = console(sys.stdout)
        self.err = console(sys.stderr)

    @property
    def human(self) -> Console:
        """stdout."""
        return self.out

    def header(self, target: str, origin: str, stack: str) -> None:
        """The target line."""
        plan_text.header(self.human, target, stack, origin)

    def diagnostics(self, items: Sequence[Diagnostic]) -> None:
        """One line per problem on stderr."""
        for item in items:
            style = "red" if item.severity == "error" else "yellow"
            self.err.print(Text(item.render(), style=style))

    def validation(self, items: Sequence[Diagnostic], files: int, routines: int) -> None:
        """One line per problem and the summary, on stdout."""
        diag_view.write_lines(items, sys.stdout)
        sys.stdout.write(diag_view.summary_line(items, files, routines) + "\n")

    def plan(self, plan: Plan, env: str | None = None) -> None:
        """The plan as text."""
        del env
        plan_text.render(self.out, plan)

    def preview(self, plan: Plan) -> None:
        """The plan before apply runs it."""
        self.plan(plan)

    def drift(self, report: DriftReport, name: str) -> None:
        """The drift report as text."""
        del name
        drift_view.render_text(self.out, report)

    def progress(self, item: ChangeResult) -> None:
        """One apply result line."""
        self.human.print(Text(result_line(item), style=_STYLE[item.status]))

    def apply_summary(self, result: ApplyResult, held_back: int = 0) -> None:
        """The closing line of apply."""
        line, success = apply_closing(result, held_back)
        self.human.print(Text(line, style="bold" if success else "bold red"))

    def apply_record(self, document: dict[str, Any]) -> None:
        """Not shown as text (``--audit-out`` writes it)."""
        del document

    def line(self, text: str, style: str | None = None) -> None:
        """One human line."""
        self.human.print(Text(text, style=style or ""))

    def failure(
        self, message: str, hint: str | None, diagnostics: Sequence[Diagnostic] = ()
    ) -> None:
        """Located problems, then ``error: ...`` and an optional ``hint: ...`` on stderr."""
        diag_view.write_lines(diagnostics, sys.stderr)
        sys.stderr.write(f"error: {message}\n")
        if hint:
            sys.stderr.write(f"hint: {hint}\n")
