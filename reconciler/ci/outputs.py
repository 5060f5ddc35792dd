"""Step outputs from the reconciler's JSON documents: ``has-changes`` and ``plan-json`` from a
plan (``plan --json-out``), ``drift`` from a drift report (``drift --json-out``), ``unhealthy``
from a status report (``status --json-out``). Only these
booleans and the path are output, never a value from the plan, so an output cannot carry a
routine's (possibly sensitive) fields."""

from __future__ import annotations

import json
import shlex

from reconciler.ci import CIError
from reconciler.ci.context import read_text


def _document(path: str, kind: str, key: str) -> bool:
    try:
        doc = json.loads(read_text(path, f"the {kind} JSON"))
    except ValueError as err:
        raise CIError(f"{path} is not a {kind} JSON document ({err})") from None
    value = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(value, bool):
        raise CIError(f"{path} is not a {kind} JSON document (no boolean {key!r})")
    return value


def from_plan(path: str) -> list[tuple[str, str]]:
    changes = _document(path, "plan", "has_changes")
    return [("has-changes", str(changes).lower()), ("plan-json", path)]


def from_drift(path: str) -> list[tuple[str, str]]:
    return [("drift", str(_document(path, "drift", "drifted")).lower())]


def from_status(path: str) -> list[tuple[str, str]]:
    return [("unhealthy", str(not _document(path, "status", "healthy")).lower())]


def pairs(items: list[str]) -> list[tuple[str, str]]:
    """``KEY=VALUE`` arguments as pairs."""
    found: list[tuple[str, str]] = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise CIError(f"expected KEY=VALUE, got {item!r}")
        found.append((key, value))
    return found


def split_args(text: str) -> list[str]:
    """Words of ``text`` split like a POSIX shell does (quotes, backslashes), with no
    expansion of variables, globs or commands."""
    try:
        return shlex.split(text)
    except ValueError as err:
        raise CIError(f"cannot split the arguments: {err}") from None
