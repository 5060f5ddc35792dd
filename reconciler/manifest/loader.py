"""Load desired state: files -> YAML documents -> checked routines, with every problem located.

The steps for each document are: shape (a ``routines`` list), the deprecated-field rename,
``${VAR}`` interpolation, JSON Schema validation, the service rules, and finally the models and
resolved timers.  Across files, routine names must be unique.  Nothing here prints or raises for
bad input: every problem becomes a ``Diagnostic`` that names the file, line, column and field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from reconciler.contract import limits
from reconciler.contract.rules import TIMER_IN_PAST, Violation, check_routine
from reconciler.contract.schema_errors import SchemaProblem
from reconciler.contract.schema_errors import problems as schema_problems
from reconciler.contract.timer import TimerAt, resolve_at
from reconciler.diagnostics import Diagnostic, Location, error, has_errors, warning
from reconciler.manifest.interpolate import interpolate
from reconciler.manifest.models import ManifestDocument, RoutineSpec
from reconciler.manifest.pointers import check_pointers
from reconciler.manifest.schema import validator_for
from reconciler.manifest.sources import SourceText, discover, read_text
from reconciler.manifest.yamlsafe import Document, Mark, Path, YamlProblem, load_documents
from reconciler.pointers import dotted as render_path


@dataclass
class DesiredRoutine:
    """A valid routine from a manifest, with its resolved timers and source marks."""

    spec: RoutineSpec
    file: str
    document: Document
    prefix: Path
    timers: dict[str, TimerAt] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The routine's name."""
        return self.spec.name

    @property
    def source(self) -> Location:
        """Where the routine starts."""
        return self.locate(())

    def locate(self, path: Path) -> Location:
        """Where the field at ``path`` (relative to the routine) is written."""
        mark = self.document.mark_of((*self.prefix, *path))
        return Location(self.file, mark.line, mark.col)


@dataclass(frozen=True)
class FileDigest:
    """A manifest file and the SHA-256 of its bytes."""

    path: str
    sha256: str


@dataclass
class LoadResult:
    """Everything the loader found: valid routines, diagnostics and the files read."""

    routines: list[DesiredRoutine] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[FileDigest] = field(default_factory=list)
    seen: int = 0

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings are allowed)."""
        return not has_errors(self.diagnostics)

    @property
    def digest(self) -> str:
        """SHA-256 over every file's path and digest: changes when any manifest changes."""
        return combined_digest(self.files)


def combined_digest(files: list[FileDigest]) -> str:
    """SHA-256 over the files' contents (their digests, sorted): the same manifests give the
    same digest whether they were named by relative or absolute paths, from any folder."""
    hasher = hashlib.sha256()
    for digest in sorted(item.sha256 for item in files):
        hasher.update(f"{digest}\n".encode())
    return hasher.hexdigest()


def digest_of(paths: list[str]) -> str:
    """The manifest digest of ``paths`` without parsing anything."""
    files, _ = discover(paths)
    found = [read_text(path)[0] for path in files]
    return combined_digest([FileDigest(s.path, s.sha256) for s in found if s is not None])


class _FileContext:
    """Turns paths inside one document into located diagnostics."""

    def __init__(self, path: str, doc: Document, sink: list[Diagnostic]) -> None:
        self.path, self.doc, self.sink = path, doc, sink

    def report(
        self, path: Path, message: str, *, key: bool = False, severity: str = "error"
    ) -> None:
        mark = self.doc.mark_of(path, key=key)
        make = error if severity == "error" else warning
        self.sink.append(
            make(
                message,
                file=self.path,
                line=mark.line,
                col=mark.col,
                field=render_path(path) or None,
            )
        )


@dataclass(frozen=True)
class _Options:
    variables: Mapping[str, str]
    now: int
    fired_timers_ok: bool


def load(
    paths: list[str],
    *,
    variables: Mapping[str, str],
    now: int,
    fired_timers_ok: bool = False,
) -> LoadResult:
    """Load and check every manifest under ``paths``.

    A timer in the past is an error (the service refuses to set one), except with
    ``fired_timers_ok``: plans use it, because a routine whose timer already fired stays in the
    project and in git until someone removes it; the planner refuses to *write* a past timer.
    """
    options = _Options(variables, now, fired_timers_ok)
    result = LoadResult()
    files, missing = discover(paths)
    result.diagnostics.extend(missing)
    result.seen = len(files)
    for path in files:
        source, problem = read_text(path)
        if problem is not None:
            result.diagnostics.append(problem)
        if source is not None:
            result.files.append(FileDigest(path, source.sha256))
            first = len(result.diagnostics)
            _load_file(source, options, result)
            result.diagnostics[first:] = sorted(result.diagnostics[first:], key=_position)
    _check_unique_names(result)
    return result


def _position(item: Diagnostic) -> tuple[int, int]:
    return item.line or 0, item.col or 0


def _load_file(source: SourceText, options: _Options, result: LoadResult) -> None:
    try:
        documents = load_documents(source.text)
    except YamlProblem as err:
        mark = err.mark or Mark(1, 1)
        result.diagnostics.append(
            error(
                err.message,
                file=source.path,
                line=mark.line,
                col=mark.col,
                field=render_path(err.path) or None,
            )
        )
        return
    if not documents:
        result.diagnostics.append(
            error(
                "file is empty: a manifest needs a top-level 'routines:' list",
                file=source.path,
                line=1,
                col=1,
            )
        )
    for doc in documents:
        _load_document(source.path, doc, options, result)


def _load_document(path: str, doc: Document, options: _Options, result: LoadResult) -> None:
    ctx = _FileContext(path, doc, result.diagnostics)
    for problem in doc.problems:
        mark = problem.mark or doc.start
        result.diagnostics.append(
            error(
                problem.message,
                file=path,
                line=mark.line,
                col=mark.col,
                field=render_path(problem.path) or None,
            )
        )
    if not _has_routines_list(doc, ctx):
        return
    _rename_deprecated(doc.data["routines"], ctx)
    data, missing_vars = interpolate(doc.data, options.variables)
    for missing in missing_vars:
        ctx.report(missing.path, missing.message)
    broken = {p.path[:2] for p in missing_vars} | {p.path[:2] for p in doc.problems}
    reported = [p.path for p in doc.problems]
    located = _check_structure_and_rules(data, options, ctx, broken, reported)
    for index, raw in enumerate(data["routines"]):
        prefix: Path = ("routines", index)
        if prefix in broken or any(p[: len(prefix)] == prefix for p in located):
            continue
        result.routines.append(_build(raw, path, doc, prefix, options.now))


def _has_routines_list(doc: Document, ctx: _FileContext) -> bool:
    if not isinstance(doc.data, dict):
        ctx.report((), "a manifest document must be a mapping with a top-level 'routines:' list")
        return False
    if "routines" not in doc.data:
        keys = ", ".join(repr(k) for k in doc.data) or "nothing"
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


def _rename_deprecated(routines: list[Any], ctx: _FileContext) -> None:
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


def _check_structure_and_rules(
    data: dict[str, Any],
    options: _Options,
    ctx: _FileContext,
    skip_rules: set[Path],
    reported: list[Path],
) -> set[Path]:
    """Report every rule and schema problem; return the paths of the errors (warnings, such
    as a fired timer during a plan, do not stop a routine from loading).

    ``reported``: where YAML problems (a disallowed tag, a duplicate key) were already reported;
    schema problems on or inside those nodes are their consequence and are left out."""
    found: dict[Path, tuple[str, bool, str]] = {}
    for index, raw in enumerate(data["routines"]):
        prefix: Path = ("routines", index)
        if not isinstance(raw, dict) or prefix in skip_rules:
            continue
        for violation in check_routine(
            raw, now=options.now, description_limit=limits.MANIFEST_DESCRIPTION_MAX
        ):
            found[(*prefix, *violation.path)] = (
                violation.message,
                False,
                _severity(violation, options),
            )
        for pointer in check_pointers(raw.get("reconcile"), raw):
            found[(*prefix, *pointer.path)] = (pointer.message, False, "error")
    for problem in _schema_problems(data):
        if any(path and problem.path[: len(path)] == path for path in reported):
            continue
        found.setdefault(problem.path, (problem.message, problem.at_key, "error"))
    ordered = sorted(found.items(), key=lambda kv: _sort_key(ctx, kv[0]))
    for path, (message, at_key, severity) in ordered:
        ctx.report(path, message, key=at_key, severity=severity)
    return {path for path, (_, _, severity) in found.items() if severity == "error"}


def _severity(violation: Violation, options: _Options) -> str:
    if violation.code == TIMER_IN_PAST and options.fired_timers_ok:
        return "warning"
    return violation.severity


def _schema_problems(data: dict[str, Any]) -> list[SchemaProblem]:
    """JSON Schema problems of one document.

    The schema is generated from ``ManifestDocument``, so a document the model accepts in strict
    mode (no coercion) is valid under the schema too; only the others go through ``jsonschema``,
    which locates and words each problem.  That keeps the common case (valid manifests) fast.
    """
    try:
        ManifestDocument.model_validate(data, strict=True)
    except ValidationError:
        return schema_problems(validator_for("manifest"), data)
    return []


def _sort_key(ctx: _FileContext, path: Path) -> tuple[int, int, str]:
    mark = ctx.doc.mark_of(path)
    return mark.line, mark.col, render_path(path)


def _build(raw: dict[str, Any], path: str, doc: Document, prefix: Path, now: int) -> DesiredRoutine:
    spec = RoutineSpec.model_validate(raw)
    routine = DesiredRoutine(spec=spec, file=path, document=doc, prefix=prefix)
    for trigger_name, trigger in raw["triggers"].items():
        if trigger.get("type") == "timer":
            routine.timers[trigger_name] = resolve_at(trigger["at"], trigger.get("time_zone"), now)
    return routine


def _check_unique_names(result: LoadResult) -> None:
    first_seen: dict[str, DesiredRoutine] = {}
    unique: list[DesiredRoutine] = []
    for routine in result.routines:
        earlier = first_seen.get(routine.name)
        if earlier is None:
            first_seen[routine.name] = routine
            unique.append(routine)
            continue
        where = routine.locate(("name",))
        result.diagnostics.append(
            error(
                f"duplicate routine name {routine.name!r}: also defined at "
                f"{earlier.locate(('name',)).render()}",
                file=where.file,
                line=where.line,
                col=where.col,
                field=render_path((*routine.prefix, "name")),
            )
        )
    result.routines = unique
