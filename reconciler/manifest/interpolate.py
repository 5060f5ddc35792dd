"""``${VAR}`` interpolation in string values (never in keys).

``${NAME}`` takes the variable's value, ``${NAME:-fallback}`` uses the fallback when it is unset,
and ``$${`` writes a literal ``${``.  An undefined variable is an error that names it.

``${{ ... }}`` is Foundry's own expression syntax, resolved by the service when the routine runs
(``${{connections.github}}`` in ``action.input``): it passes through verbatim, up to and including
the first ``}}``, and is never interpolated nor an error (an unterminated ``${{`` is kept as
text).  ``$${{x}}`` still escapes: it yields ``${{x}}``, the same text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.paths import Path

ESCAPE = "$${"
SERVER_SIDE = "${{"  # Foundry's expressions, resolved server-side: passed through verbatim
NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"  # a variable name; --var and reconciler.yaml use it too
_NAME = re.compile(rf"({NAME_PATTERN})(?::-(.*))?", re.DOTALL)


@dataclass(frozen=True)
class InterpolationProblem:
    """A variable reference that could not be resolved, and where it is."""

    path: Path
    message: str


def interpolate(
    data: Any, variables: Mapping[str, str], path: Path = ()
) -> tuple[Any, list[InterpolationProblem]]:
    """A copy of ``data`` with every string value interpolated, plus the problems found."""
    problems: list[InterpolationProblem] = []
    result = _walk(data, variables, path, problems)
    return result, problems


def _walk(
    data: Any, variables: Mapping[str, str], path: Path, problems: list[InterpolationProblem]
) -> Any:
    if isinstance(data, str):
        seen: dict[str, None] = {}  # one problem per message and string, however often
        result = _expand(data, variables, seen.setdefault)
        problems.extend(InterpolationProblem(path, message) for message in seen)
        return result
    if isinstance(data, dict):
        return {k: _walk(v, variables, (*path, k), problems) for k, v in data.items()}
    if isinstance(data, list):
        return [_walk(v, variables, (*path, i), problems) for i, v in enumerate(data)]
    return data


def _expand(text: str, variables: Mapping[str, str], report: Callable[[str], None]) -> str:
    """Replace every token, left to right: ``$${`` (a literal ``${``), ``${{...}}`` (kept
    verbatim), ``${...}`` up to the next ``}``, or an unterminated ``${``.  Linear in the text:
    the next ``}`` and ``}}`` are searched for once and remembered (a regular expression
    rescans the rest of the text at every ``${``)."""
    if "${" not in text:
        return text
    out: list[str] = []
    pos = 0
    close = _Next(text, "}")
    expression_end = _Next(text, "}}")
    while (start := text.find("$", pos)) >= 0:
        out.append(text[pos:start])
        if text.startswith(ESCAPE, start):
            out.append("${")
            pos = start + 3
            continue
        if text.startswith(SERVER_SIDE, start):
            end = expression_end.after(start + 3)
            pos = start + 3 if end < 0 else end + 2
            out.append(text[start:pos])
            continue
        if not text.startswith("${", start):
            out.append("$")
            pos = start + 1
            continue
        end = close.after(start + 2)
        if end < 0:
            report("unterminated '${': close it with '}' or write '$${' for a literal '${'")
            out.append("${")
            pos = start + 2
            continue
        out.append(_lookup(text[start + 2 : end], variables, report, text[start : end + 1]))
        pos = end + 1
    out.append(text[pos:])
    return "".join(out)


class _Next:
    """The next occurrence of ``needle`` at or after a position that only moves forward,
    searched for again only once the last one found lies behind (so each search is done once
    per occurrence, and not at all after none was found)."""

    def __init__(self, text: str, needle: str) -> None:
        self._text, self._needle = text, needle
        self._found = -2  # -2: not searched yet; -1: none after the last search

    def after(self, position: int) -> int:
        """The first index >= ``position`` where ``needle`` starts, or -1."""
        if self._found == -2 or -1 < self._found < position:
            self._found = self._text.find(self._needle, position)
        return self._found


def _lookup(
    body: str, variables: Mapping[str, str], report: Callable[[str], None], token: str
) -> str:
    parsed = _NAME.fullmatch(body)
    if parsed is None:
        report(f"invalid variable reference {token!r}: use ${{NAME}} with letters, digits and _")
        return token
    name, fallback = parsed.group(1), parsed.group(2)
    if name in variables:
        return variables[name]
    if fallback is not None:
        return fallback
    report(
        f"undefined variable ${{{name}}}: set it in the environment, with --var {name}=VALUE, "
        "or under variables in reconciler.yaml (or write ${" + name + ":-fallback})"
    )
    return token
