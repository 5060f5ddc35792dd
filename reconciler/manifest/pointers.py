"""Checks for the JSON pointers in a routine's ``reconcile:`` settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler import paths
from reconciler.paths import Path

ROUTINE_FIELDS = ("description", "enabled", "triggers", "action", "authorization")


@dataclass(frozen=True)
class PointerProblem:
    """A pointer that is malformed or names nothing."""

    path: Path
    message: str


def check_pointers(reconcile: Any, routine: dict[str, Any]) -> list[PointerProblem]:
    """Problems in ``ignore_differences`` and ``sensitive`` (wrong types are the schema's)."""
    if not isinstance(reconcile, dict):
        return []
    found: list[PointerProblem] = []
    for key, must_exist in (("ignore_differences", False), ("sensitive", True)):
        items = reconcile.get(key)
        if isinstance(items, list):
            for index, item in enumerate(items):
                if isinstance(item, str):
                    found += _check_one(item, routine, ("reconcile", key, index), must_exist)
    return found


def _check_one(
    text: str, routine: dict[str, Any], path: Path, must_exist: bool
) -> list[PointerProblem]:
    try:
        segments = paths.parse(text)
    except ValueError as err:
        return [PointerProblem(path, str(err))]
    if segments[0] not in ROUTINE_FIELDS:
        allowed = ", ".join("/" + f for f in ROUTINE_FIELDS)
        return [
            PointerProblem(path, f"{text!r} names no routine field; start with one of {allowed}")
        ]
    if must_exist and not any(True for _ in paths.resolve(routine, segments)):
        return [PointerProblem(path, f"{text!r} matches no value in this routine")]
    return []
