"""How deep JSON nests: refused beyond ``limits.JSON_DEPTH_MAX`` levels, before it is parsed.

Python's ``json`` module recurses once per level, so a body of 2,000 ``[`` is a
``RecursionError``, not a ``ValueError``, and later steps (the schema, copies) recurse too. The
text is measured first, in one linear pass over its brackets outside strings; ``loads`` is
``json.loads`` behind that check, and ``value_too_deep`` measures data already parsed (without
recursion).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final

from reconciler.contract.limits import JSON_DEPTH_MAX

_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET: Final = re.compile(r"[\[\]{}]")
MESSAGE: Final = f"nests arrays and objects deeper than {JSON_DEPTH_MAX} levels (the limit)"


class TooDeep(ValueError):
    """JSON nested deeper than ``JSON_DEPTH_MAX``; the message is ``MESSAGE``."""

    def __init__(self) -> None:
        super().__init__(MESSAGE)


def text_too_deep(text: str, limit: int = JSON_DEPTH_MAX) -> bool:
    """Whether the JSON ``text`` nests more than ``limit`` arrays and objects (brackets in
    strings do not count; text that is not JSON may count wrongly, and fails to parse anyway)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", text)):
        if bracket.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def loads(text: str, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """``json.loads(text)``; ``TooDeep`` (a ``ValueError``) when it nests too deep."""
    if text_too_deep(text):
        raise TooDeep
    return json.loads(text, parse_constant=parse_constant)


def value_too_deep(value: Any, limit: int = JSON_DEPTH_MAX) -> bool:
    """Whether parsed JSON data nests more than ``limit`` lists and mappings."""
    if not isinstance(value, (dict, list)):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False
