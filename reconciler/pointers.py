"""JSON pointers (RFC 6901) with a one-segment wildcard, as used by ``reconcile:`` settings."""

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


def to_pointer(path: Path) -> str:
    """The JSON pointer of a path tuple."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


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
