"""Shape, schema and service-rule checks of one manifest document, routine by routine, bounded.

Each routine is checked on its own: the strict ``RoutineSpec`` model first (the schema is
generated from the models, so a routine it accepts is valid under the schema too), and
``jsonschema``, which locates and words each problem, only for a routine the model rejects: one
bad routine no longer sends its whole document through ``jsonschema``.  A file stops being
checked after ``MAX_FILE_ERRORS`` errors: hostile input (140,000 empty routines, say) then costs
what its first few hundred routines cost and the output stays readable; the routines not checked
are not loaded (the file has errors anyway).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from pydantic import ValidationError

from reconciler.contract import limits
from reconciler.contract.rules import TIMER_IN_PAST, Violation, check_routine
from reconciler.contract.schema_errors import SchemaProblem
from reconciler.contract.schema_errors import problems as schema_problems
from reconciler.diagnostics import Diagnostic, error, warning
from reconciler.manifest.models import RoutineSpec
from reconciler.manifest.pointers import check_pointers
from reconciler.manifest.schema import manifest_schema, validator_for
from reconciler.manifest.smoke import check_smoke
from reconciler.manifest.yamlsafe import Document, Path
from reconciler.paths import dotted as render_path

MAX_FILE_ERRORS = 200

Found = dict[Path, tuple[str, bool, str]]  # path -> (message, at the key, severity)


FIELD_SHOWN_MAX = 200


def field_of(path: Path) -> str | None:
    """The dotted field of a diagnostic, cut short (a 60,000-character key stays readable)."""
    text = render_path(path)
    return (text if len(text) <= FIELD_SHOWN_MAX else text[:FIELD_SHOWN_MAX] + "...") or None


class FileContext:
    """Turns paths inside one document into located diagnostics."""

    def __init__(self, path: str, doc: Document, sink: list[Diagnostic]) -> None:
        self.path, self.doc, self.sink = path, doc, sink

    def report(
        self, path: Path, message: str, *, key: bool = False, severity: str = "error"
    ) -> None:
        """Add a diagnostic for ``path``, marked at its value (or its key)."""
        mark = self.doc.mark_of(path, key=key)
        make = error if severity == "error" else warning
        self.sink.append(
            make(
                message,
                file=self.path,
                line=mark.line,
                col=mark.col,
                field=field_of(path),
            )
        )


def has_routines_list(doc: Document, ctx: FileContext) -> bool:
    """Whether the document is a mapping with a ``routines`` list; reports why not."""
    if not isinstance(doc.data, dict):
        ctx.report((), "a manifest document must be a mapping with a top-level 'routines:' list")
        return False
    if "routines" not in doc.data:
        shown = [repr(k) if len(k) <= 40 else repr(k[:40]) + "..." for k in list(doc.data)[:10]]
        keys = ", ".join(shown + (["..."] if len(doc.data) > 10 else [])) or "nothing"
        ctx.report(
            (),
            f"no top-level 'routines:' key (found {keys}); a manifest lists its "
            "routines under 'routines:'",
        )
        return False
    if not isinstance(doc.data["routines"], list):
        ctx.report(
            ("routines",),
            "'routines' must be a list of routines (each item starts with '- name: ...')",
        )
        return False
    return True


def rename_deprecated(routines: list[Any], ctx: FileContext) -> None:
    """Rename ``conversation_id`` (the old name) to ``conversation``, with a warning."""
    for index, raw in enumerate(routines):
        action = raw.get("action") if isinstance(raw, dict) else None
        if not isinstance(action, dict) or "conversation_id" not in action:
            continue
        path: Path = ("routines", index, "action", "conversation_id")
        if "conversation" in action:
            ctx.report(
                path, "give either conversation or its old name conversation_id, not both", key=True
            )
            continue
        ctx.report(
            path,
            "conversation_id is the old name of conversation; rename it",
            key=True,
            severity="warning",
        )
        action["conversation"] = action.pop("conversation_id")
        ctx.doc.values[(*path[:-1], "conversation")] = ctx.doc.values[path]


@dataclass
class Scope:
    """What one document's check must know: ``skip`` holds routines whose rules are not run
    (a missing variable, a YAML problem), ``reported`` where YAML problems were reported (the
    schema problems on or inside them are their consequence), ``allowance`` how many more
    errors the file may report."""

    now: int
    fired_timers_ok: bool
    skip: set[Path]
    reported: set[Path]
    allowance: int
    unchecked: int | None = field(default=None, init=False)  # first routine not checked
    specs: dict[int, RoutineSpec] = field(default_factory=dict, init=False)
    """The models of the routines the strict model accepted (validated once, kept)."""


def check_document(data: dict[str, Any], ctx: FileContext, scope: Scope) -> set[Path]:
    """Report every rule and schema problem of a document with a ``routines`` list (within the
    allowance); return the paths of the errors (warnings, such as a fired timer during a plan,
    do not stop a routine from loading)."""
    found: Found = {}
    _add_schema(found, _top_level_problems(data), scope)
    errors = _error_count(found)
    for index, raw in enumerate(data["routines"]):
        if errors >= scope.allowance:
            scope.unchecked = index
            break
        mine: Found = {}
        _check_routine(raw, index, scope, mine)
        errors += _error_count(mine)
        found.update(mine)
    _report(found, ctx, scope, len(data["routines"]))
    return {path for path, (_, _, severity) in found.items() if severity == "error"}


def _report(found: Found, ctx: FileContext, scope: Scope, total: int) -> None:
    """Report in file order, at most ``scope.allowance`` errors, then why checking stopped."""
    shown, stop_at = 0, None
    for path, (message, at_key, severity) in sorted(found.items(), key=lambda kv: _at(ctx, kv[0])):
        if severity == "error" and shown == scope.allowance:
            stop_at = path
            break
        shown += severity == "error"
        ctx.report(path, message, key=at_key, severity=severity)
    hidden = _error_count(found) - shown
    details = [f"{hidden} more error(s) not shown"] if hidden else []
    if scope.unchecked is not None:
        stop_at = stop_at or ("routines", scope.unchecked)
        details.append(f"routines {scope.unchecked} to {total - 1} of this document not checked")
    if stop_at is not None:
        ctx.report(
            stop_at,
            f"stopped checking this file after {MAX_FILE_ERRORS} error(s): {'; '.join(details)}"
            " (fix the errors above first)",
        )


def _check_routine(raw: Any, index: int, scope: Scope, found: Found) -> None:
    prefix: Path = ("routines", index)
    if isinstance(raw, dict) and prefix not in scope.skip:
        for violation in check_routine(
            raw, now=scope.now, description_limit=limits.MANIFEST_DESCRIPTION_MAX
        ):
            found[(*prefix, *violation.path)] = (
                violation.message,
                False,
                _severity(violation, scope),
            )
        for pointer in [
            *check_pointers(raw.get("reconcile"), raw),
            *check_smoke(raw.get("reconcile")),
        ]:
            found[(*prefix, *pointer.path)] = (pointer.message, False, "error")
    spec, problems = validated(raw, index)
    if spec is not None:
        scope.specs[index] = spec
    _add_schema(found, problems, scope)


def _add_schema(found: Found, problems: list[SchemaProblem], scope: Scope) -> None:
    for problem in problems:
        path = problem.path
        if any(path[:cut] in scope.reported for cut in range(1, len(path) + 1)):
            continue
        found.setdefault(path, (problem.message, problem.at_key, "error"))


def _error_count(found: Found) -> int:
    return sum(1 for _, _, severity in found.values() if severity == "error")


def _severity(violation: Violation, scope: Scope) -> str:
    if violation.code == TIMER_IN_PAST and scope.fired_timers_ok:
        return "warning"
    return violation.severity


def _at(ctx: FileContext, path: Path) -> tuple[int, int, str]:
    mark = ctx.doc.mark_of(path)
    return mark.line, mark.col, render_path(path)


def _top_level_problems(data: dict[str, Any]) -> list[SchemaProblem]:
    """Problems outside the routines (unknown top-level keys)."""
    if len(data) == 1:
        return []
    return schema_problems(validator_for("manifest"), {**data, "routines": []})


def validated(raw: Any, index: int) -> tuple[RoutineSpec | None, list[SchemaProblem]]:
    """Routine ``index`` as the strict model reads it, or the JSON Schema's problems with it
    (jsonschema runs only for a routine the strict model rejects)."""
    try:
        return RoutineSpec.model_validate(raw, strict=True), []
    except ValidationError:
        prefix: Path = ("routines", index)
        return None, [
            SchemaProblem((*prefix, *p.path), p.message, p.at_key)
            for p in schema_problems(_routine_validator(), raw)
        ]


def routine_schema_problems(raw: Any, index: int) -> list[SchemaProblem]:
    """JSON Schema problems of routine ``index`` (none when the strict model accepts it)."""
    return validated(raw, index)[1]


@lru_cache(maxsize=1)
def _routine_validator() -> Draft202012Validator:
    schema = manifest_schema()
    return Draft202012Validator({**schema["$defs"]["RoutineSpec"], "$defs": schema["$defs"]})


def schema_problems_of(data: dict[str, Any]) -> list[SchemaProblem]:
    """Every JSON Schema problem of one document with a ``routines`` list, unbounded: the top
    level's and those of each routine the strict model rejects."""
    found = _top_level_problems(data)
    for index, raw in enumerate(data["routines"]):
        found += routine_schema_problems(raw, index)
    return found
