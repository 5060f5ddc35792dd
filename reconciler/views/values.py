"""Small helpers to show values and nested dicts compactly and unambiguously."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from reconciler.contract.timer import format_epoch
from reconciler.plan.diff import FieldDiff

MAX_VALUE = 160


def printable(text: object) -> str:
    """``text`` on one line with control characters escaped (``\\n``, ``\\x1b``): manifest
    strings and service-provided run text are untrusted, so a value must not move the cursor,
    recolour the terminal, or start a line (under GitHub Actions a line starting with ``::``
    is a workflow command). ``None`` is ``''``."""
    if text is None:
        return ""
    line = str(text)
    if line.isprintable():
        return line
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in line)


def show(value: Any, present: bool = True) -> str:
    """JSON text of a value (strings quoted), shortened; ``(absent)`` when not present."""
    if not present:
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def show_field(path: str, value: Any, present: bool = True) -> str:
    """Like ``show``; a timer's unix ``at`` also gets its UTC date-time, for people."""
    text = show(value, present)
    if present and path.endswith(".at") and isinstance(value, int) and not isinstance(value, bool):
        text += f" ({format_epoch(value)})"
    return text


def diff_values(diff: FieldDiff) -> tuple[str, str]:
    """The shown (before, after) of one field difference."""
    return (
        show_field(diff.dotted, diff.before, diff.before_present),
        show_field(diff.dotted, diff.after, diff.after_present),
    )


def leaves(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) for every leaf of a nested dict; lists and empty dicts are leaves."""
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from leaves(value, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, data
