"""Diagnostics: the one error/warning record every layer returns instead of raising or printing."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Diagnostic:
    """A problem found in the input, with where it is (file, 1-based line and column, field)."""

    severity: Severity
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    field: str | None = None

    def render(self) -> str:
        """``file:line:col: field: message`` (parts that are unknown are left out)."""
        where = ":".join(str(p) for p in (self.file, self.line, self.col) if p is not None)
        parts = [p for p in (where, self.field) if p]
        prefix = ": ".join(parts)
        label = "" if self.severity == "error" else "warning: "
        return f"{prefix}: {label}{self.message}" if prefix else f"{label}{self.message}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class Location:
    """Where something is written: a file and a 1-based line and column."""

    file: str
    line: int
    col: int

    def render(self) -> str:
        """``file:line:col``."""
        return f"{self.file}:{self.line}:{self.col}"


def error(message: str, **where: Any) -> Diagnostic:
    """Shorthand for an error diagnostic."""
    return Diagnostic("error", message, **where)


def warning(message: str, **where: Any) -> Diagnostic:
    """Shorthand for a warning diagnostic."""
    return Diagnostic("warning", message, **where)


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    """True when at least one diagnostic is an error."""
    return any(d.severity == "error" for d in diagnostics)


class Failure(Exception):
    """The one shape of every layer's error: a one-line message, an optional hint, located
    problems to show before it, and the exit code. Each layer raises its own subclass
    (``ConfigError``, ``EndpointError``, ``BackendError``, ``ReconcilerError`` for the
    application); only ``cli/main.py`` turns them into output and an exit code."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        exit_code: int = 1,
        diagnostics: list[Diagnostic] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code
        self.diagnostics = diagnostics or []


class ReconcilerError(Failure):
    """An application-level failure (refused plan, bad input to a command, interrupted apply)."""
