"""Plain writes to the terminal for the CLI: documents on stdout, failures on stderr."""

from __future__ import annotations

import sys


def emit(text: str) -> None:
    """Write a document (JSON, markdown, YAML, help) to stdout as it is."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def note(text: str) -> None:
    """One informational line on stderr (stdout stays a clean document)."""
    sys.stderr.write(text + "\n")
