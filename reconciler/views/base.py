"""The one interface every output format implements (Terraform's ``internal/command/views``).

Commands talk to a ``View`` only: ``views.factory.make`` picks the implementation once, from
``--output`` and the environment. Human text goes to stdout; a format that prints a document on
stdout (JSON, markdown) sends the header, progress and diagnostics to stderr instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from rich.console import Console

from reconciler.apply import ApplyResult, ChangeResult
from reconciler.diagnostics import Diagnostic
from reconciler.plan.drift import DriftReport
from reconciler.plan.model import Plan


class View(Protocol):
    """What a command shows, whatever the format."""

    name: str
    """``text``, ``json``, ``markdown`` or ``github``."""

    @property
    def human(self) -> Console:
        """Where human-readable lines go."""
        ...

    def header(self, target: str, origin: str, stack: str) -> None:
        """The target line, before anything else."""
        ...

    def diagnostics(self, items: Sequence[Diagnostic]) -> None:
        """Problems found in the input, one line each."""
        ...

    def validation(self, items: Sequence[Diagnostic], files: int, routines: int) -> None:
        """What ``validate`` reports."""
        ...

    def plan(self, plan: Plan, env: str | None = None) -> None:
        """A plan (``plan``; the preview of ``apply``)."""
        ...

    def preview(self, plan: Plan) -> None:
        """The plan apply is about to run (nothing where the apply record carries it)."""
        ...

    def drift(self, report: DriftReport, name: str) -> None:
        """A drift report."""
        ...

    def progress(self, item: ChangeResult) -> None:
        """One change's result, as it completes."""
        ...

    def apply_summary(self, result: ApplyResult, held_back: int = 0) -> None:
        """The closing line of apply."""
        ...

    def apply_record(self, document: dict[str, Any]) -> None:
        """The audit record of an apply (printed only where it is the document)."""
        ...

    def line(self, text: str, style: str | None = None) -> None:
        """One informational line."""
        ...

    def failure(
        self, message: str, hint: str | None, diagnostics: Sequence[Diagnostic] = ()
    ) -> None:
        """The end of a failed command."""
        ...
