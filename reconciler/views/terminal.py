"""Plain writes to the terminal for the CLI: documents on stdout, failures on stderr."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from reconciler.diagnostics import Diagnostic
from reconciler.views.diagnostics import write_annotations, write_lines


def emit(text: str) -> None:
    """Write a document (JSON, markdown, YAML, help) to stdout as it is."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def note(text: str) -> None:
    """One informational line on stderr (stdout stays a clean document)."""
    sys.stderr.write(text + "\n")


def failure(message: str, hint: str | None, diagnostics: Sequence[Diagnostic] = ()) -> None:
    """The end of a failed command: located problems (and their GitHub annotations when
    running in Actions), then ``error: ...`` and an optional ``hint: ...``."""
    if diagnostics:
        if os.environ.get("GITHUB_ACTIONS") == "true":
            write_annotations(diagnostics, sys.stdout)
        write_lines(diagnostics, sys.stderr)
    sys.stderr.write(f"error: {message}\n")
    if hint:
        sys.stderr.write(f"hint: {hint}\n")
