"""Views whose stdout is one document: JSON (``--output json``) and markdown (``markdown``).

Everything for people (the header, progress, diagnostics) goes to stderr, so stdout stays a
clean document for a pipe or a file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console

from reconciler.diagnostics import Diagnostic
from reconciler.plan.drift import DriftReport
from reconciler.plan.model import Plan
from reconciler.plan.serialize import plan_to_json
from reconciler.views import diagnostics as diag_view
from reconciler.views import drift as drift_view
from reconciler.views import plan_markdown
from reconciler.views.human import HumanView
from reconciler.views.terminal import emit


def emit_json(document: Any) -> None:
    """A JSON document on stdout."""
    sys.stdout.write(json.dumps(document, indent=2) + "\n")
    sys.stdout.flush()


class JsonView(HumanView):
    """JSON documents on stdout (plan, drift, validation, the apply record)."""

    name = "json"

    @property
    def human(self) -> Console:
        """stderr."""
        return self.err

    def validation(self, items: Sequence[Diagnostic], files: int, routines: int) -> None:
        """The validation document."""
        sys.stdout.write(diag_view.validation_json(items, files, routines))

    def plan(self, plan: Plan, env: str | None = None) -> None:
        """The public plan document."""
        del env
        emit_json(plan_to_json(plan))

    def preview(self, plan: Plan) -> None:
        """Nothing: the apply record carries the plan."""
        del plan

    def drift(self, report: DriftReport, name: str) -> None:
        """The drift document."""
        del name
        emit_json(drift_view.to_json(report))

    def apply_record(self, document: dict[str, Any]) -> None:
        """The audit record is the document."""
        emit_json(document)


class MarkdownView(HumanView):
    """Markdown on stdout (a pull-request comment, a tracking issue)."""

    name = "markdown"

    @property
    def human(self) -> Console:
        """stderr."""
        return self.err

    def plan(self, plan: Plan, env: str | None = None) -> None:
        """The plan as markdown (``env`` names its section)."""
        sys.stdout.write(plan_markdown.render([(env or plan.environment or plan.stack, plan)]))

    def drift(self, report: DriftReport, name: str) -> None:
        """The drift report as markdown."""
        emit(drift_view.render_markdown([(name, report)]))
