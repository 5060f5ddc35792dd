"""The GitHub Actions view (``--output github``, the default under Actions): the human text
plus workflow-command annotations on stdout (shown on the pull request's files) and markdown in
``$GITHUB_STEP_SUMMARY`` (the job summary)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from reconciler.apply import ApplyResult, ChangeResult
from reconciler.diagnostics import Diagnostic
from reconciler.plan.drift import DriftReport
from reconciler.plan.model import Plan
from reconciler.views import diagnostics as diag_view
from reconciler.views import drift as drift_view
from reconciler.views import plan_markdown
from reconciler.views.human import HumanView, apply_closing


def apply_markdown(result: ApplyResult, closing: str) -> str:
    """The apply results as a markdown table (for the job summary)."""
    rows = ["### Apply results", "", "| routine | action | result | message |", "|---|---|---|---|"]
    for item in result.results:
        message = item.message.replace("|", "\\|").replace("\n", " ")
        where = f" ({item.where.render()})" if item.where and item.status == "failed" else ""
        rows.append(f"| `{item.name}` | {item.action.value} | {item.status} | {message}{where} |")
    return "\n".join([*rows, "", f"**{closing}**", ""])


def step_summary(text: str) -> None:
    """Append markdown to ``$GITHUB_STEP_SUMMARY`` (the job summary), when it is set."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")


class GitHubView(HumanView):
    """Text, annotations and the job summary."""

    name = "github"

    def diagnostics(self, items: Sequence[Diagnostic]) -> None:
        """Annotations on stdout, then the lines on stderr."""
        diag_view.write_annotations(items, sys.stdout)
        super().diagnostics(items)

    def validation(self, items: Sequence[Diagnostic], files: int, routines: int) -> None:
        """Annotations on stdout; the lines and the summary on stderr."""
        diag_view.write_annotations(items, sys.stdout)
        diag_view.write_lines(items, sys.stderr)
        sys.stderr.write(diag_view.summary_line(items, files, routines) + "\n")

    def plan(self, plan: Plan, env: str | None = None) -> None:
        """The text plan, and the markdown plan in the job summary."""
        super().plan(plan)
        step_summary(plan_markdown.render([(env or plan.environment or plan.stack, plan)]))

    def drift(self, report: DriftReport, name: str) -> None:
        """The text report, and the markdown report in the job summary."""
        super().drift(report, name)
        step_summary(drift_view.render_markdown([(name, report)]))

    def progress(self, item: ChangeResult) -> None:
        """The result line; a failure or conflict also as an annotation at its manifest line."""
        super().progress(item)
        if item.status not in ("failed", "conflict", "unknown"):
            return
        verb = {"failed": "failed", "conflict": "conflicts"}.get(
            item.status, "has an unknown outcome"
        )
        message = f"{item.action.value} {item.name} {verb}: {item.message}"
        found = item.where
        located = (
            Diagnostic("error", message, found.file, found.line, found.col)
            if found
            else Diagnostic("error", message)
        )
        diag_view.write_annotations([located], sys.stdout)

    def apply_summary(self, result: ApplyResult, held_back: int = 0) -> None:
        """The closing line, and the per-change results in the job summary."""
        super().apply_summary(result, held_back)
        step_summary(apply_markdown(result, apply_closing(result, held_back)[0]))

    def failure(
        self, message: str, hint: str | None, diagnostics: Sequence[Diagnostic] = ()
    ) -> None:
        """Annotations for the located problems, then the error lines."""
        diag_view.write_annotations(diagnostics, sys.stdout)
        super().failure(message, hint, diagnostics)
