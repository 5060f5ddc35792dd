"""Redaction of sensitive values in everything people see (plans, diffs, reports)."""

from __future__ import annotations

from typing import Any

from reconciler import paths
from reconciler.paths import Path

REDACTED = "(sensitive)"
Pattern = tuple[str, ...]

UNDECLARED_SENSITIVE: tuple[Pattern, ...] = (("action", "input"), ("triggers", "*", "parameters"))
"""Routines no manifest declares: their free-form payloads are hidden, as their manifest (which
would say what is sensitive) is not there to ask."""


def redact(value: Any, patterns: tuple[Pattern, ...], here: Path = ()) -> Any:
    """A copy of ``value`` (found at ``here``) with every value a pattern names replaced."""
    if not patterns:
        return value
    if any(paths.matches(p, here) for p in patterns):
        return REDACTED
    if not any(paths.covers(p, here) for p in patterns):
        return value
    if isinstance(value, dict):
        return {k: redact(v, patterns, (*here, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, patterns, (*here, i)) for i, v in enumerate(value)]
    return value
