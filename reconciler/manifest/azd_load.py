"""Loading an ``azure.yaml``: its routine services (``azd_read``) go through the same schema and
service-rule checks as manifest routines (``checks``), with each problem reported where the
azd file writes it (``services.NAME.triggers.default.cronExpression``, line and column)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from reconciler import paths
from reconciler.contract.timer import resolve_at
from reconciler.diagnostics import Diagnostic, Location, error, warning
from reconciler.manifest import azd
from reconciler.manifest.azd_locate import locate_field
from reconciler.manifest.azd_read import read_project, routine_services
from reconciler.manifest.budget import Budget
from reconciler.manifest.checks import MAX_FILE_ERRORS, FileContext, Scope, check_document, field_of
from reconciler.manifest.loader import DesiredRoutine, FileDigest, LoadResult
from reconciler.manifest.models import ManifestTimerTrigger, RoutineSpec
from reconciler.manifest.sources import SourceText
from reconciler.manifest.yamlsafe import Document, Mark, YamlProblem, load_documents
from reconciler.paths import Path


class _Context(FileContext):
    """Reports a problem of routine ``i`` at the azd file and path that write it."""

    def __init__(self, path: str, routines: list[azd.AzdRoutine], sink: list[Diagnostic]) -> None:
        super().__init__(path, Document(index=0, data=None, start=Mark(1, 1)), sink)
        self.routines = routines

    def report(
        self, path: Path, message: str, *, key: bool = False, severity: str = "error"
    ) -> None:
        if len(path) < 2 or not isinstance(path[1], int):
            super().report(path, message, key=key, severity=severity)
            return
        routine = self.routines[path[1]]
        rel = path[2:]
        origin, written, at_key = routine.locate(rel)
        mark = origin.doc.mark_of(written, key=key or at_key)
        make = error if severity == "error" else warning
        self.sink.append(
            make(
                routine.reword(message, rel),
                file=origin.file,
                line=mark.line,
                col=mark.col,
                field=field_of(written),
            )
        )


def load_file(
    source: SourceText,
    result: LoadResult,
    *,
    variables: Mapping[str, str],
    now: int,
    fired_timers_ok: bool,
    budget: Budget,
) -> None:
    """Check every routine service of the ``azure.yaml`` in ``source`` and keep the valid ones
    (the diagnostics go to ``result``, sorted by file and line)."""
    first = len(result.diagnostics)
    doc = _project_document(source, budget, result.diagnostics)
    if doc is not None:
        read = read_project(source.path, doc, variables, budget)
        result.diagnostics.extend(read.diagnostics)
        result.files.extend(FileDigest(s.path, s.sha256) for s in read.refs)
        clean = [r for r in read.routines if not r.broken]
        _check(source.path, clean, result, now=now, fired_timers_ok=fired_timers_ok)
    result.diagnostics[first:] = _bounded(sorted(result.diagnostics[first:], key=_position))


def _bounded(found: list[Diagnostic]) -> list[Diagnostic]:
    """At most ``MAX_FILE_ERRORS`` errors of one azure.yaml (and its ``$ref`` files), then
    why the rest are not shown: hostile input keeps the output readable."""
    errors = [d for d in found if d.severity == "error"]
    if len(errors) <= MAX_FILE_ERRORS:
        return found
    last = errors[MAX_FILE_ERRORS - 1]
    cut = found.index(last) + 1
    stop = f"stopped after {MAX_FILE_ERRORS} error(s): {len(errors) - MAX_FILE_ERRORS} more"
    return [*found[:cut], error(f"{stop} not shown (fix the errors above first)", file=last.file)]


def _position(item: Diagnostic) -> tuple[str, int, int]:
    return item.file or "", item.line or 0, item.col or 0


def _project_document(
    source: SourceText, budget: Budget, sink: list[Diagnostic]
) -> Document | None:
    try:
        documents = load_documents(source.text, budget)
    except YamlProblem as err:
        mark = err.mark or Mark(1, 1)
        sink.append(
            error(err.message, file=source.path, line=mark.line, col=mark.col,
                  field=field_of(err.path))
        )  # fmt: skip
        return None
    if not documents:
        sink.append(
            error(
                "file is empty: azure.yaml declares routines as services with "
                f"host: {azd.ROUTINE_HOST}",
                file=source.path,
                line=1,
                col=1,
            )
        )
        return None
    for extra in documents[1:2]:
        sink.append(
            error(
                "azure.yaml holds one YAML document (azd reads only the first); remove the '---'",
                file=source.path,
                line=extra.start.line,
                col=extra.start.col,
            )
        )
    return documents[0]


def _check(
    path: str, routines: list[azd.AzdRoutine], result: LoadResult, *, now: int,
    fired_timers_ok: bool,
) -> None:  # fmt: skip
    """The manifest checks over the routines read, then the valid ones built."""
    if not routines:
        return
    data = {"routines": [r.raw for r in routines]}
    errors = sum(1 for d in result.diagnostics if d.severity == "error" and d.file == path)
    scope = Scope(now, fired_timers_ok, set(), set(), MAX_FILE_ERRORS - errors)
    if scope.allowance <= 0:
        return
    context = _Context(path, routines, result.diagnostics)
    located = {p[:2] for p in check_document(data, context, scope)}
    stop = len(routines) if scope.unchecked is None else scope.unchecked
    for index, routine in enumerate(routines[:stop]):
        if ("routines", index) not in located:
            spec = scope.specs.get(index) or RoutineSpec.model_validate(routine.raw)
            result.routines.append(_build(routine, spec, now))


def _build(routine: azd.AzdRoutine, spec: RoutineSpec, now: int) -> DesiredRoutine:
    """A checked routine, located at its service key in azure.yaml."""
    mark = routine.home.doc.mark_of(routine.service, key=True)
    where = Location(routine.home.file, mark.line, mark.col)
    built = DesiredRoutine(
        spec=spec, file=routine.home.file, prefix=routine.service, source=where,
        name_location=where,
    )  # fmt: skip
    for name, trigger in spec.triggers.items():
        if isinstance(trigger, ManifestTimerTrigger):
            built.timers[name] = resolve_at(trigger.at, trigger.time_zone, now)
    return built


def referenced_files(source: SourceText) -> list[str]:
    """The ``$ref`` files the routine services of ``source`` name (for the manifest digest of
    a saved plan, without checking anything)."""
    try:
        documents = load_documents(source.text)
    except YamlProblem:
        return []
    found: list[str] = []
    for name, service in routine_services(documents[0]) if documents else []:
        props, _, _ = azd.properties(service, ("services", name))
        target, _ = azd.ref_target(props.get("$ref"), os.path.dirname(source.path))
        if "$ref" in props and target is not None and target not in found:
            found.append(target)
    return found


def locate(doc: Document, source: Location, param: str | None) -> Location | None:
    """Where the routine service that starts at ``source`` writes the field a service error
    names (``param``: ``triggers.t.cron_expression``), in whichever spelling and file (its
    ``$ref`` file included) it uses."""
    found = locate_field(doc, source, paths.from_param(param))
    return None if found is None else found.location
