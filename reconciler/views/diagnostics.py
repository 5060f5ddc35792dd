"""Rendering diagnostics: one line each, as JSON, or as GitHub workflow annotations."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TextIO

from reconciler.diagnostics import Diagnostic


def write_lines(diagnostics: Sequence[Diagnostic], stream: TextIO) -> None:
    """``file:line:col: field: message``, one per line."""
    for item in diagnostics:
        stream.write(item.render() + "\n")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(item: Diagnostic) -> str:
    """A GitHub Actions workflow command (``::error file=...,line=...::message``)."""
    props = []
    for key, value in (
        ("file", item.file),
        ("line", item.line),
        ("col", item.col),
        ("title", item.field),
    ):
        if value is not None:
            props.append(f"{key}={_escape_property(str(value))}")
    level = "error" if item.severity == "error" else "warning"
    joined = " " + ",".join(props) if props else ""
    return f"::{level}{joined}::{_escape_data(item.message)}"


def write_annotations(diagnostics: Sequence[Diagnostic], stream: TextIO) -> None:
    """One workflow command per diagnostic (GitHub shows them on the pull request's files)."""
    for item in diagnostics:
        stream.write(annotation(item) + "\n")


def validation_json(diagnostics: Sequence[Diagnostic], files: int, routines: int) -> str:
    """The ``validate --output json`` document."""
    errors = sum(1 for d in diagnostics if d.severity == "error")
    document = {
        "format_version": "1",
        "valid": errors == 0,
        "files": files,
        "routines": routines,
        "errors": errors,
        "warnings": len(diagnostics) - errors,
        "diagnostics": [d.to_json() for d in diagnostics],
    }
    return json.dumps(document, indent=2) + "\n"


def summary_line(diagnostics: Sequence[Diagnostic], files: int, routines: int) -> str:
    """The closing line of ``validate``."""
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    if errors:
        return f"{errors} error(s), {warnings} warning(s) in {files} file(s)."
    return f"Valid: {routines} routine(s) in {files} file(s), {warnings} warning(s)."
