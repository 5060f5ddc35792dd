"""Paths into routine data, in one place: the ``Path`` tuple every layer uses, JSON pointers
(RFC 6901) with a one-segment wildcard (``reconcile:`` settings), dotted display paths, the
service's error ``param``, and reading and writing a value at a path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

PathPart = str | int
Path = tuple[PathPart, ...]
WILDCARD = "*"


def parse(pointer: str) -> tuple[str, ...]:
    """Segments of ``pointer``; raises ValueError unless it starts with '/'."""
    if not pointer.startswith("/"):
        raise ValueError(f"{pointer!r} is not a JSON pointer: it must start with '/'")
    if pointer == "/":
        raise ValueError("'/' names no field; point at one, e.g. /action/input")
    return tuple(s.replace("~1", "/").replace("~0", "~") for s in pointer[1:].split("/"))


def matches(pattern: tuple[str, ...], path: Path) -> bool:
    """True when ``path`` is the field ``pattern`` names or lies inside it."""
    if len(path) < len(pattern):
        return False
    return all(p in (WILDCARD, str(s)) for p, s in zip(pattern, path, strict=False))


def covers(pattern: tuple[str, ...], path: Path) -> bool:
    """True when ``pattern`` names ``path``, something inside it, or something around it."""
    shortest = min(len(pattern), len(path))
    return all(
        p in (WILDCARD, str(s)) for p, s in zip(pattern[:shortest], path[:shortest], strict=True)
    )


def resolve(data: Any, pattern: tuple[str, ...]) -> Iterator[tuple[Path, Any]]:
    """Every (path, value) in ``data`` that ``pattern`` names (wildcards expanded)."""
    yield from _resolve(data, pattern, ())


def _resolve(data: Any, rest: tuple[str, ...], here: Path) -> Iterator[tuple[Path, Any]]:
    if not rest:
        yield here, data
        return
    head, tail = rest[0], rest[1:]
    for key, value in _children(data):
        if head in (WILDCARD, str(key)):
            yield from _resolve(value, tail, (*here, key))


def _children(data: Any) -> Iterator[tuple[PathPart, Any]]:
    if isinstance(data, dict):
        yield from data.items()
    elif isinstance(data, list):
        yield from enumerate(data)


def dotted(path: Path) -> str:
    """``routines[0].triggers.daily.cron_expression`` from a path tuple."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def from_param(param: str | None) -> Path:
    """A service error's ``param`` as a path: dotted (``triggers.t.at``) or a JSON pointer."""
    if not param:
        return ()
    if param.startswith("/"):
        return tuple(part.replace("~1", "/").replace("~0", "~") for part in param[1:].split("/"))
    return tuple(param.split("."))


def get(data: Any, path: Path) -> Any:
    """The value at ``path`` inside nested mappings, or None when it is not there."""
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def remove(data: dict[str, Any], path: Path) -> None:
    """Drop the value at ``path`` (nothing happens when it is not there)."""
    parent = get(data, path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)


def assign(data: dict[str, Any], path: Path, value: Any) -> None:
    """Set the value at ``path``, creating the mappings on the way."""
    parent: Any = data
    for part in path[:-1]:
        if isinstance(parent, dict):
            parent = parent.setdefault(part, {})
    if isinstance(parent, dict):
        parent[path[-1]] = value
