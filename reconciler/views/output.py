"""The terminal: one object that knows the output format and where each kind of text goes.

Human text goes to stdout; with ``--output json`` or ``markdown`` stdout carries only the
document, and the header, progress and diagnostics go to stderr.  Colour only on a terminal and
never when ``NO_COLOR`` is set (rich honours both).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from reconciler.apply import ApplyResult, ChangeResult
from reconciler.diagnostics import Diagnostic
from reconciler.plan.model import Action, Plan
from reconciler.plan.serialize import plan_to_json
from reconciler.views import diagnostics as diag_view
from reconciler.views import plan_markdown, plan_text


def apply_markdown(result: ApplyResult, closing: str) -> str:
    """The apply results as a markdown table (for the job summary)."""
    rows = ["### Apply results", "", "| routine | action | result | message |", "|---|---|---|---|"]
    for item in result.results:
        message = item.message.replace("|", "\\|").replace("\n", " ")
        where = f" ({item.where.render()})" if item.where and item.status == "failed" else ""
        rows.append(f"| `{item.name}` | {item.action.value} | {item.status} | {message}{where} |")
    return "\n".join([*rows, "", f"**{closing}**", ""])


def _timing(item: ChangeResult) -> str:
    """`` (2 retries, 3.1s)`` (nothing for a change that was not started)."""
    if item.status == "skipped":
        return ""
    retries = (
        f"{item.retries} {'retry' if item.retries == 1 else 'retries'}, " if item.retries else ""
    )
    return f" ({retries}{item.seconds:.1f}s)"


def _conflicts(result: ApplyResult) -> str:
    count = result.count("conflict")
    return f"{count} conflict{'' if count == 1 else 's'}, " if count else ""


def _console(stream: Any) -> Console:
    """A console that styles only a terminal, and nothing at all under ``NO_COLOR``."""
    plain = bool(os.environ.get("NO_COLOR"))
    return Console(
        file=stream,
        soft_wrap=True,
        highlight=False,
        no_color=plain,
        color_system=None if plain else "auto",
    )


class Output:
    """Writes reports in one format."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.out = _console(sys.stdout)
        self.err = _console(sys.stderr)

    @property
    def human(self) -> Console:
        """Where human-readable lines go (stdout for text, else stderr)."""
        return self.out if self.fmt in ("text", "github") else self.err

    def header(self, target: str, origin: str, stack: str) -> None:
        """The target line, printed before anything else."""
        plan_text.header(self.human, target, stack, origin)

    def diagnostics(self, items: Sequence[Diagnostic]) -> None:
        """Problems, one line each (and annotations under GitHub)."""
        if self.fmt == "github":
            diag_view.write_annotations(items, sys.stdout)
        for item in items:
            style = "red" if item.severity == "error" else "yellow"
            self.err.print(Text(item.render(), style=style))

    def plan(self, plan: Plan, env: str | None = None) -> None:
        """The plan in the chosen format (``env`` names its section in markdown)."""
        env = env or plan.environment or plan.stack
        if self.fmt == "json":
            sys.stdout.write(json.dumps(plan_to_json(plan), indent=2) + "\n")
        elif self.fmt == "markdown":
            sys.stdout.write(plan_markdown.render([(env, plan)]))
        else:
            plan_text.render(self.out, plan)
            if self.fmt == "github":
                self.step_summary(plan_markdown.render([(env, plan)]))

    def step_summary(self, text: str) -> None:
        """Append markdown to ``$GITHUB_STEP_SUMMARY`` (the job summary), when it is set."""
        path = os.environ.get("GITHUB_STEP_SUMMARY")
        if path:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(text + "\n")

    def line(self, text: str, style: str | None = None) -> None:
        """One human line."""
        self.human.print(Text(text, style=style or ""))

    def progress(self, item: ChangeResult) -> None:
        """One apply result as it completes (a failure also as a GitHub annotation)."""
        style = {"ok": "green", "failed": "red", "conflict": "red", "skipped": "yellow"}
        note = f": {item.message}" if item.message else ""
        found = item.where if item.status == "failed" else None
        where = f" [{found.render()}]" if found else ""
        self.human.print(
            Text(
                f"  {item.status:<7} {item.action.value:<8} {item.name}"
                f"{_timing(item)}{note}{where}",
                style=style[item.status],
            )
        )
        if self.fmt == "github" and item.status in ("failed", "conflict"):
            verb = "failed" if item.status == "failed" else "conflicts"
            message = f"{item.action.value} {item.name} {verb}: {item.message}"
            located = (
                Diagnostic("error", message, found.file, found.line, found.col)
                if found
                else Diagnostic("error", message)
            )
            diag_view.write_annotations([located], sys.stdout)

    def apply_summary(self, result: ApplyResult, held_back: int = 0) -> None:
        """The closing line of apply (enables and disables count as updates, as in the plan);
        under GitHub Actions the per-change results also go to the job summary."""
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
        line = (
            f"Apply {state}: {done['created']} created, {done['updated']} updated, "
            f"{done['replaced']} replaced, {done['deleted']} deleted, {result.count('failed')} "
            f"failed, {_conflicts(result)}{result.count('skipped')} skipped"
            + (f", {held_back} deletes held back." if held_back else ".")
        )
        self.human.print(Text(line, style="bold" if state == "complete" else "bold red"))
        if self.fmt == "github":
            self.step_summary(apply_markdown(result, line))
