"""The ``filter`` of ``GET /routines/{name}/runs``: a subset of MLflow's search-runs syntax.

The service passes ``filter`` to MLflow's run search within the routine's experiment (TypeSpec
``ListRoutineRunsParameters.filter``). This module accepts the part of that syntax a client of
run history needs, and refuses the rest with a 400 that names it (``param`` = ``filter``):

- comparisons joined by ``AND`` (any case); MLflow has no ``OR`` and no parentheses;
- on the left, an attribute: ``attributes.<name>`` (MLflow's aliases ``attribute.``, ``attr.``
  and ``run.``, or the bare name, mean the same), quoted in backticks or double quotes if one
  likes; ``metrics.``, ``params.`` and ``tags.`` are refused (a routine run has none to match);
- the attributes: ``status`` (the MLflow status, ``FINISHED`` ...) and ``run_id`` (the run's
  ``id``), strings compared with ``=`` / ``!=``; ``start_time`` and ``end_time`` (MLflow keeps
  them in **milliseconds** since the epoch: ``started_at``/``ended_at`` times 1000), numbers
  compared with ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``;
- on the right, a quoted string (``'...'`` or ``"..."``) for a string attribute, a number for a
  time. A missing time (an unfinished run's ``end_time``) matches no comparison, as in SQL.

MLflow's ``LIKE``, ``ILIKE`` and ``IN`` and its other attributes (``run_name``, ``user_id``,
``artifact_uri``) are outside the subset: what the service stores there is not published.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from reconciler.service.errors import ServiceError, bad_argument

Json = dict[str, Any]
Predicate = Callable[[Json], bool]

PREFIXES: Final = frozenset({"attributes", "attribute", "attr", "run"})
OTHER_ENTITIES: Final = frozenset({"metrics", "metric", "params", "param", "tags", "tag"})
# attribute -> (the run record's field, milliseconds per unit of that field, None for strings)
ATTRIBUTES: Final[dict[str, tuple[str, int | None]]] = {
    "status": ("status", None),
    "run_id": ("id", None),
    "start_time": ("started_at", 1000),
    "end_time": ("ended_at", 1000),
}
STRING_OPERATORS: Final = ("=", "!=")
COMPARE: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
SUPPORTED: Final = (
    "attributes.status, attributes.run_id, attributes.start_time, attributes.end_time"
)

_TOKEN: Final = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<quoted>`[^`]*`)
      | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<op>!=|<=|>=|<>|==|=|<|>)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<dot>\.)
      | (?P<other>\S)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    """One lexical token: its kind (a group name of ``_TOKEN``) and text."""

    kind: str
    text: str


def run_filter(text: str | None) -> Predicate | None:
    """The predicate of a ``filter`` (None: no filter, every run); raises 400."""
    if text is None or not text.strip():
        return None
    clauses = [_clause(tokens, text) for tokens in _split_and(_tokens(text), text)]
    return lambda run: all(clause(run) for clause in clauses)


def _tokens(text: str) -> list[Token]:
    found: list[Token] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind is None:  # trailing whitespace
            continue
        token = Token(kind, match.group(kind))
        if kind == "other":
            raise _refused(text, f"unexpected character {token.text!r}")
        found.append(token)
    return found


def _split_and(tokens: list[Token], text: str) -> Iterator[list[Token]]:
    """The comparisons between ``AND`` keywords."""
    current: list[Token] = []
    for token in tokens:
        keyword = token.text.upper() if token.kind == "word" else ""
        if keyword == "OR":
            raise _refused(text, "OR is not supported (MLflow joins comparisons with AND only)")
        if keyword == "AND":
            yield _nonempty(current, text)
            current = []
        else:
            current.append(token)
    yield _nonempty(current, text)


def _nonempty(tokens: list[Token], text: str) -> list[Token]:
    if not tokens:
        raise _refused(text, "a comparison is missing before or after AND")
    return tokens


def _clause(tokens: list[Token], text: str) -> Predicate:
    """One ``<attribute> <operator> <value>`` comparison as a predicate over a run record."""
    at = _operator_at(tokens, text)
    name = _attribute(tokens[:at], text)
    op = tokens[at].text
    if len(tokens) != at + 2:
        raise _refused(text, f"{name} {op} must be followed by exactly one value")
    field, scale = ATTRIBUTES[name]
    value = _value(tokens[at + 1], name, numeric=scale is not None, text=text)
    if scale is None and op not in STRING_OPERATORS:
        raise _refused(text, f"attributes.{name} is a string: compare it with = or !=, not {op}")
    compare = COMPARE[op]
    if isinstance(value, str):
        return lambda run: compare(run.get(field), value)
    return lambda run: _time_matches(run.get(field), scale or 1, compare, value)


def _operator_at(tokens: list[Token], text: str) -> int:
    for index, token in enumerate(tokens):
        if token.kind == "op":
            if token.text not in COMPARE:
                raise _refused(text, f"unknown comparator {token.text!r}")
            return index
        if token.kind == "word" and token.text.upper() in ("LIKE", "ILIKE", "IN", "NOT", "IS"):
            raise _refused(
                text,
                f"comparator {token.text.upper()} is not supported by the emulator; "
                "use =, !=, <, <=, > or >=",
            )
    raise _refused(text, f"{' '.join(t.text for t in tokens)!r} has no comparator")


def _attribute(tokens: list[Token], text: str) -> str:
    """The attribute a comparison's left side names (``attributes.status`` -> ``status``)."""
    parts = [t for t in tokens if t.kind != "dot"]
    shown = "".join(t.text for t in tokens)
    dots = len(tokens) - len(parts)
    if not parts or len(parts) > 2 or dots != len(parts) - 1 or tokens[0].kind == "dot":
        raise _refused(text, f"{shown!r} is not an attribute ({SUPPORTED})")
    if len(parts) == 2:
        entity = parts[0].text.lower()
        if entity in OTHER_ENTITIES:
            raise _refused(text, f"{shown!r}: a routine run has no {entity} ({SUPPORTED})")
        if parts[0].kind != "word" or entity not in PREFIXES:
            raise _refused(text, f"{shown!r} is not an attribute ({SUPPORTED})")
    name = _unquoted(parts[-1])
    if name not in ATTRIBUTES:
        raise _refused(text, f"attribute {name!r} is not supported by the emulator ({SUPPORTED})")
    return name


def _unquoted(token: Token) -> str:
    return token.text[1:-1] if token.kind in ("quoted", "string") else token.text


def _value(token: Token, name: str, *, numeric: bool, text: str) -> str | float:
    if numeric:
        if token.kind != "number":
            raise _refused(
                text,
                f"attributes.{name} is a time in milliseconds: compare it with a number, "
                f"not {token.text}",
            )
        return float(token.text)
    if token.kind != "string":
        raise _refused(text, f"attributes.{name} is a string: quote the value ({token.text})")
    return re.sub(r"\\(.)", r"\1", token.text[1:-1])


def _time_matches(
    seconds: object, scale: int, compare: Callable[[Any, Any], bool], value: float
) -> bool:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return False
    return compare(seconds * scale, value)


def _refused(text: str, why: str) -> ServiceError:
    return bad_argument("filter", f"filter {text.strip()!r}: {why}")
