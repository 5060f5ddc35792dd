"""Readable messages for JSON Schema errors, one per problem, with the path it concerns.

``jsonschema`` reports a bad member of a discriminated union (``oneOf`` over trigger or action
types) as one opaque error; this module follows the branch that the value's ``type`` selects and
reports that branch's own errors instead, and turns unknown fields into "did you mean" messages.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from jsonschema import Draft202012Validator, ValidationError

from reconciler.paths import Path

_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


_SHOWN_MAX = 80


@dataclass(frozen=True)
class SchemaProblem:
    """One schema problem; ``at_key`` means the mark should point at the mapping key."""

    path: Path
    message: str
    at_key: bool = False


def problems(validator: Draft202012Validator, instance: Any) -> list[SchemaProblem]:
    """Every schema problem of ``instance``, sorted by path; of several at one path, a wrong
    type ("must be ...") comes first, then by message, so the order never depends on hashing."""
    root = cast(dict[str, Any], validator.schema)
    found = [p for err in validator.iter_errors(instance) for p in _explain(err, root)]
    return sorted(
        set(found),
        key=lambda p: ([str(x) for x in p.path], not p.message.startswith("must be"), p.message),
    )


def _value(err: ValidationError) -> Any:
    """The schema keyword's value (``jsonschema`` types it as possibly unset)."""
    return cast(Any, err.validator_value)


def _deref(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        schema = root["$defs"][name]
    return schema


def _explain(err: ValidationError, root: dict[str, Any]) -> Iterator[SchemaProblem]:
    path: Path = tuple(err.absolute_path)
    if "propertyNames" in err.relative_schema_path:
        yield _bad_key(err, path)
        return
    handler = _HANDLERS.get(str(err.validator))
    if handler is not None:
        yield from handler(err, path, root)
    else:
        yield SchemaProblem(path, err.message)


def _bad_key(err: ValidationError, path: Path) -> SchemaProblem:
    """A mapping key that ``propertyNames`` refuses, marked at the key, with the rule that the
    ``propertyNames`` schema describes."""
    key = str(err.instance)
    schema = err.schema if isinstance(err.schema, dict) else {}
    rule = schema.get("description") or f"it must match {schema.get('pattern')!r}"
    return SchemaProblem((*path, key), f"{_shown(key)} is not allowed here: {rule}", True)


def _additional(err: ValidationError, path: Path, root: dict[str, Any]) -> Iterator[SchemaProblem]:
    del root
    schema = err.schema if isinstance(err.schema, dict) else {}
    allowed = sorted(schema.get("properties", {}))
    instance = err.instance if isinstance(err.instance, dict) else {}
    for key in instance:
        if key not in allowed:
            yield SchemaProblem((*path, key), _unknown_field(str(key), allowed), at_key=True)


def _unknown_field(key: str, allowed: list[str]) -> str:
    if len(key) > _SHOWN_MAX:
        return f"unknown field {_shown(key)}; allowed here: {', '.join(allowed)}"
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown field '{key}'{hint}; allowed here: {', '.join(allowed)}"


def _required(err: ValidationError, path: Path, root: dict[str, Any]) -> Iterator[SchemaProblem]:
    del root
    instance = err.instance if isinstance(err.instance, dict) else {}
    for name in _value(err):
        if name not in instance:
            yield SchemaProblem((*path, name), f"missing required field '{name}'")


def _type(err: ValidationError, path: Path, root: dict[str, Any]) -> Iterator[SchemaProblem]:
    del root
    expected = _value(err)
    names = [expected] if isinstance(expected, str) else list(expected)
    wanted = " or ".join(_TYPE_WORDS.get(n, n) for n in names)
    hint = _text_hint(err.instance, names)
    yield SchemaProblem(path, f"must be {wanted}, not {_describe(err.instance)}{hint}")


def _text_hint(value: Any, expected: list[str]) -> str:
    """Why a value that reads like a boolean or a number is text: quotes or a variable."""
    if not isinstance(value, str):
        return ""
    looks_boolean = "boolean" in expected and value.lower() in ("true", "false")
    looks_number = "integer" in expected and value.strip().lstrip("-").isdigit()
    if not (looks_boolean or looks_number):
        return ""
    return (
        " (quoted, or from a ${VAR}: variables are substituted as text only; write the value "
        "itself, unquoted)"
    )


def _describe(value: Any) -> str:
    if value is None:
        return "null (empty)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {_shown(value)}"
    return _shown(value)


def _shown(value: Any) -> str:
    """``repr`` of a value for a message, cut short: a message stays one readable line."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = repr(value[:_SHOWN_MAX] if isinstance(value, str) else value)
    else:
        text = repr(value)
    return text if len(text) <= _SHOWN_MAX else text[:_SHOWN_MAX] + "..."


def _choice(err: ValidationError, path: Path, root: dict[str, Any]) -> Iterator[SchemaProblem]:
    del root
    options = _value(err) if err.validator == "enum" else [_value(err)]
    listed = ", ".join(repr(o) for o in options)
    given = err.instance
    close = (
        difflib.get_close_matches(given, [str(o) for o in options], n=1)
        if isinstance(given, str) and len(given) <= _SHOWN_MAX
        else []
    )
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    yield SchemaProblem(path, f"{_shown(given)} is not one of: {listed}{hint}")


def _union(err: ValidationError, path: Path, root: dict[str, Any]) -> Iterator[SchemaProblem]:
    branches = [_deref(b, root) for b in _value(err)]
    tags = [_tag_of(b) for b in branches]
    if all(tags) and isinstance(err.instance, dict):
        yield from _tagged_union(err, path, root, branches, [str(t) for t in tags])
        return
    objects = [b for b in branches if b.get("type") == "object"]
    if len(objects) == 1 and isinstance(err.instance, dict):
        for inner in _sub_validator(objects[0], root).iter_errors(err.instance):
            yield from _explain_with_prefix(inner, path, root)
        return
    typed = [b for b in branches if _is_type(err.instance, b.get("type"))]
    if len(typed) == 1:  # e.g. an optional integer's minimum: that branch's own message
        for inner in _sub_validator(typed[0], root).iter_errors(err.instance):
            yield from _explain_with_prefix(inner, path, root)
        return
    kinds = dict.fromkeys(_TYPE_WORDS.get(str(b.get("type")), "another form") for b in branches)
    words = " or ".join(kinds)
    yield SchemaProblem(path, f"must be {words}, not {_describe(err.instance)}")


def _is_type(value: Any, name: object) -> bool:
    """``value`` is of the JSON Schema type ``name`` (a number is not a boolean)."""
    if isinstance(value, bool):
        return name == "boolean"
    if name == "null":
        return value is None
    wanted = {"integer": int, "number": int | float, "string": str, "array": list}.get(str(name))
    return wanted is not None and isinstance(value, wanted)


def _sub_validator(branch: dict[str, Any], root: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({**branch, "$defs": root.get("$defs", {})})


def _explain_with_prefix(
    err: ValidationError, prefix: Path, root: dict[str, Any]
) -> Iterator[SchemaProblem]:
    for problem in _explain(err, root):
        yield SchemaProblem((*prefix, *problem.path), problem.message, problem.at_key)


def _tag_of(branch: dict[str, Any]) -> str | None:
    tag = branch.get("properties", {}).get("type", {}).get("const")
    return str(tag) if tag is not None else None


def _tagged_union(
    err: ValidationError,
    path: Path,
    root: dict[str, Any],
    branches: list[dict[str, Any]],
    tags: list[str],
) -> Iterator[SchemaProblem]:
    instance = cast(dict[str, Any], err.instance)
    given = instance.get("type")
    if given not in tags:
        yield _bad_tag(path, given, tags, present="type" in instance)
        return
    branch = branches[tags.index(given)]
    fields_elsewhere = _fields_of_other_branches(branches, tags, given)
    own = list(branch.get("properties", {}))
    for inner in _sub_validator(branch, root).iter_errors(err.instance):
        for problem in _explain_with_prefix(inner, path, root):
            yield _owner_hint(problem, path, fields_elsewhere, given, own)


def _bad_tag(path: Path, given: Any, tags: list[str], *, present: bool) -> SchemaProblem:
    """A ``type`` that selects no branch: missing, not a name (a list, a mapping...), or
    unknown."""
    listed = ", ".join(tags)
    if not present:
        return SchemaProblem((*path, "type"), f"missing required field 'type' (one of: {listed})")
    if not isinstance(given, str):
        return SchemaProblem(
            (*path, "type"), f"must be a type name (one of: {listed}), not {_describe(given)}"
        )
    close = difflib.get_close_matches(given, tags, n=1) if len(given) <= _SHOWN_MAX else []
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return SchemaProblem(
        (*path, "type"), f"unknown type {_shown(given)}{hint}; expected one of: {listed}"
    )


def _fields_of_other_branches(
    branches: list[dict[str, Any]], tags: list[str], given: str
) -> dict[str, str]:
    owners: dict[str, str] = {}
    for branch, tag in zip(branches, tags, strict=True):
        if tag != given:
            for name in branch.get("properties", {}):
                owners.setdefault(name, tag)
    return owners


def _owner_hint(
    problem: SchemaProblem, base: Path, owners: dict[str, str], given: str, own: list[str]
) -> SchemaProblem:
    """An unknown field that belongs to (or is a typo of a field of) another type says so."""
    if not problem.at_key or len(problem.path) != len(base) + 1:
        return problem
    name = str(problem.path[-1])
    if len(name) > _SHOWN_MAX:
        return problem
    if name in owners:
        return SchemaProblem(
            problem.path, f"'{name}' is only valid with type '{owners[name]}', not '{given}'", True
        )
    elsewhere = _closest(name, list(owners))
    if elsewhere is None or _ratio(name, elsewhere) <= max(
        (_ratio(name, mine) for mine in own), default=0.0
    ):
        return problem
    return SchemaProblem(
        problem.path,
        f"unknown field '{name}' (did you mean '{elsewhere}'? it is only valid with type "
        f"'{owners[elsewhere]}', not '{given}'); allowed here: {', '.join(sorted(own))}",
        True,
    )


def _closest(word: str, candidates: list[str]) -> str | None:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.8)
    return close[0] if close else None


def _ratio(one: str, other: str) -> float:
    return difflib.SequenceMatcher(None, one, other).ratio()


_HANDLERS = {
    "additionalProperties": _additional,
    "required": _required,
    "type": _type,
    "enum": _choice,
    "const": _choice,
    "oneOf": _union,
    "anyOf": _union,
}
