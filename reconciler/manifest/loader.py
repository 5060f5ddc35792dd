"""Load desired state: files -> YAML documents -> checked routines, with every problem located.

The steps for each document are: shape (a ``routines`` list), the deprecated-field rename,
``${VAR}`` interpolation, JSON Schema validation and the service rules (``checks``, at most
``MAX_FILE_ERRORS`` errors per file), and finally the models and resolved timers.  One YAML
``Budget`` is shared by all files of a load (``budget``: alias bombs are bounded per file and
per run).  Across files, routine names must be unique.  Nothing here prints or raises for bad
input: every problem becomes a ``Diagnostic`` that names the file, line, column and field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from reconciler.contract.schema_errors import SchemaProblem
from reconciler.contract.timer import TimerAt, resolve_at
from reconciler.diagnostics import Diagnostic, Location, error, has_errors
from reconciler.manifest.budget import Budget
from reconciler.manifest.checks import (
    MAX_FILE_ERRORS,
    FileContext,
    Scope,
    check_document,
    field_of,
    has_routines_list,
    rename_deprecated,
    schema_problems_of,
)
from reconciler.manifest.interpolate import interpolate
from reconciler.manifest.models import ManifestTimerTrigger, RoutineSpec
from reconciler.manifest.sources import SourceText, discover, is_project_file, read_text
from reconciler.manifest.yamlsafe import Document, Mark, Path, YamlProblem, load_documents
from reconciler.paths import dotted as render_path
from reconciler.workers import no_collection


@dataclass
class DesiredRoutine:
    """A valid routine from a manifest, with its resolved timers and where it is written.

    Only two marks are kept (the routine's and its name's): the marks of every field of every
    document would hold most of the memory of a large load. A field's line is found when it is
    needed (a service error during apply) by reading the file again (``app.planning``)."""

    spec: RoutineSpec
    file: str
    prefix: Path
    source: Location
    name_location: Location
    timers: dict[str, TimerAt] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The routine's name."""
        return self.spec.name


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
    sources = [s for s in found if s is not None]
    refs = [ref for s in sources if is_project_file(s.path) for ref in _azd_refs(s)]
    return combined_digest([FileDigest(s.path, s.sha256) for s in [*sources, *refs]])


def _azd_refs(source: SourceText) -> list[SourceText]:
    """The ``$ref`` files of an ``azure.yaml`` (their content is part of the manifests)."""
    from reconciler.manifest import azd_load  # noqa: PLC0415 (it builds on this module)

    found = [read_text(path)[0] for path in azd_load.referenced_files(source)]
    return [s for s in found if s is not None]


@dataclass(frozen=True)
class _Options:
    variables: Mapping[str, str]
    now: int
    fired_timers_ok: bool
    budget: Budget = field(default_factory=Budget)  # shared by every file of one load
    dollars: bool = True  # the file may hold ${...} (else interpolation has nothing to do)


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
    with no_collection():
        return _load(paths, _Options(variables, now, fired_timers_ok))


def _load(paths: list[str], options: _Options) -> LoadResult:
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
            if is_project_file(path):  # azd's azure.yaml: its routine services
                _load_azd(source, options, result)
                continue
            first = len(result.diagnostics)
            _load_file(source, options, result)
            result.diagnostics[first:] = sorted(result.diagnostics[first:], key=_position)
    _check_unique_names(result)
    return result


def _position(item: Diagnostic) -> tuple[int, int]:
    return item.line or 0, item.col or 0


def _load_azd(source: SourceText, options: _Options, result: LoadResult) -> None:
    from reconciler.manifest import azd_load  # noqa: PLC0415 (it builds on this module)

    azd_load.load_file(
        source,
        result,
        variables=options.variables,
        now=options.now,
        fired_timers_ok=options.fired_timers_ok,
        budget=options.budget,
    )


def _load_file(source: SourceText, options: _Options, result: LoadResult) -> None:
    try:
        documents = load_documents(source.text, options.budget)
    except YamlProblem as err:
        mark = err.mark or Mark(1, 1)
        result.diagnostics.append(
            error(
                err.message,
                file=source.path,
                line=mark.line,
                col=mark.col,
                field=field_of(err.path),
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
    mine = replace(options, dollars="$" in source.text or "\\" in source.text)
    first = len(result.diagnostics)
    for doc in documents:
        errors = sum(1 for d in result.diagnostics[first:] if d.severity == "error")
        _load_document(source.path, doc, mine, result, MAX_FILE_ERRORS - errors)


def _load_document(
    path: str, doc: Document, options: _Options, result: LoadResult, allowance: int
) -> None:
    """Check one document (reporting at most ``allowance`` errors) and keep its valid
    routines."""
    ctx = FileContext(path, doc, result.diagnostics)
    if allowance <= 0 or not _report_yaml_problems(doc, ctx, allowance):
        return
    if not has_routines_list(doc, ctx):
        return
    rename_deprecated(doc.data["routines"], ctx)
    # A file without "$" (nor a backslash, which could escape one) holds nothing to interpolate
    data, missing_vars = (
        interpolate(doc.data, options.variables) if options.dollars else (doc.data, [])
    )
    for missing in missing_vars:
        ctx.report(missing.path, missing.message)
    broken = {p.path[:2] for p in missing_vars} | {p.path[:2] for p in doc.problems}
    reported = {p.path for p in doc.problems if p.path}
    scope = Scope(options.now, options.fired_timers_ok, broken, reported, allowance)
    scope.allowance -= len(doc.problems) + len(missing_vars)
    located = {p[:2] for p in check_document(data, ctx, scope)}
    stop = len(data["routines"]) if scope.unchecked is None else scope.unchecked
    for index, raw in enumerate(data["routines"][:stop]):
        prefix: Path = ("routines", index)
        if prefix not in broken and prefix not in located:
            spec = scope.specs.get(index) or RoutineSpec.model_validate(raw)
            result.routines.append(_build(spec, path, doc, prefix, options.now))


def _report_yaml_problems(doc: Document, ctx: FileContext, allowance: int) -> bool:
    """Report the problems that did not stop reading (a duplicate key, a disallowed tag);
    False when they use up the file's allowance of errors (then checking stops here)."""
    for problem in doc.problems[:allowance]:
        mark = problem.mark or doc.start
        ctx.sink.append(
            error(
                problem.message,
                file=ctx.path,
                line=mark.line,
                col=mark.col,
                field=field_of(problem.path),
            )
        )
    if len(doc.problems) < allowance:
        return True
    mark = (doc.problems[allowance:] or doc.problems)[0].mark or doc.start
    message = f"stopped checking this file after {MAX_FILE_ERRORS} error(s)"
    ctx.sink.append(error(message, file=ctx.path, line=mark.line, col=mark.col))
    return False


def _schema_problems(data: dict[str, Any]) -> list[SchemaProblem]:
    """JSON Schema problems of one document, as the loader finds them (``checks``: the strict
    model per routine, jsonschema only for the routines it rejects); the schema gate that
    ``benchmarks/bench_validate.py`` times."""
    return schema_problems_of(data)


def _build(spec: RoutineSpec, path: str, doc: Document, prefix: Path, now: int) -> DesiredRoutine:
    """A checked routine (validated once: the strict model's result, or the lax model where the
    strict one refused a value the schema allows, such as ``at: 1.0e9``)."""
    start, name = doc.mark_of(prefix), doc.mark_of((*prefix, "name"))
    routine = DesiredRoutine(
        spec=spec,
        file=path,
        prefix=prefix,
        source=Location(path, start.line, start.col),
        name_location=Location(path, name.line, name.col),
    )
    for trigger_name, trigger in spec.triggers.items():
        if isinstance(trigger, ManifestTimerTrigger):  # ``at`` as the model reads it: 1.0e9 -> int
            routine.timers[trigger_name] = resolve_at(trigger.at, trigger.time_zone, now)
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
        where = routine.name_location
        result.diagnostics.append(
            error(
                f"duplicate routine name {routine.name!r}: also defined at "
                f"{earlier.name_location.render()}",
                file=where.file,
                line=where.line,
                col=where.col,
                field=render_path((*routine.prefix, "name")),
            )
        )
    result.routines = unique
