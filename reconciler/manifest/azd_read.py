"""Reading one ``azure.yaml`` document: its routine services, their ``$ref`` files and their
``action.input`` variables, into ``AzdRoutine`` records (``azd``), every problem located."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.diagnostics import Diagnostic, error, warning
from reconciler.manifest import azd
from reconciler.manifest.budget import Budget
from reconciler.manifest.checks import field_of
from reconciler.manifest.sources import SourceText, read_text
from reconciler.manifest.yamlsafe import Document, Mark, YamlProblem, load_documents
from reconciler.paths import Path


@dataclass
class Read:
    """The routine services of one ``azure.yaml``, the problems found and the ``$ref`` files
    read (their digests count in the manifest digest)."""

    routines: list[azd.AzdRoutine] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    refs: list[SourceText] = field(default_factory=list)
    ref_paths: set[str] = field(default_factory=set)

    def at(self, file: str, doc: Document, path: Path, message: str, **how: Any) -> None:
        """Report ``message`` at ``path`` of ``doc`` (an error unless ``severity`` says)."""
        mark = doc.mark_of(path, key=bool(how.get("key")))
        make = warning if how.get("severity") == "warning" else error
        self.diagnostics.append(
            make(message, file=file, line=mark.line, col=mark.col, field=field_of(path))
        )


def routine_services(doc: Document) -> list[tuple[str, dict[str, Any]]]:
    """The ``host: azure.ai.routine`` services of a project document, in file order."""
    services = doc.data.get("services") if isinstance(doc.data, dict) else None
    if not isinstance(services, dict):
        return []
    return [
        (str(name), svc)
        for name, svc in services.items()
        if isinstance(svc, dict) and svc.get("host") == azd.ROUTINE_HOST
    ]


def read_project(path: str, doc: Document, variables: Mapping[str, str], budget: Budget) -> Read:
    """Every routine service of the project document ``doc`` (of file ``path``)."""
    read = Read()
    if not isinstance(doc.data, dict):
        read.at(path, doc, (), "an azd project file must be a mapping with a 'services:' key")
        return read
    _report_yaml_problems(path, doc, read)
    if "services" in doc.data and not isinstance(doc.data["services"], dict):
        read.at(path, doc, ("services",), "'services' must be a mapping of service names")
        return read
    services = routine_services(doc)
    if not services:
        read.at(
            path,
            doc,
            ("services",),
            f"no routine services here (services with host: {azd.ROUTINE_HOST})",
            severity="warning",
        )
    troubled = {p.path[1] for p in doc.problems if len(p.path) >= 2 and p.path[0] == "services"}
    for name, service in services:
        routine = _read_service(
            name, service, path=path, doc=doc, variables=variables, budget=budget, read=read
        )
        routine.broken = routine.broken or name in troubled
        read.routines.append(routine)
    return read


def _report_yaml_problems(path: str, doc: Document, read: Read) -> None:
    """Duplicate keys and disallowed tags (reading went on past them)."""
    for problem in doc.problems:
        mark = problem.mark or doc.start
        read.diagnostics.append(
            error(
                problem.message,
                file=path,
                line=mark.line,
                col=mark.col,
                field=field_of(problem.path),
            )
        )


def _read_service(
    name: str,
    service: dict[str, Any],
    *,
    path: str,
    doc: Document,
    variables: Mapping[str, str],
    budget: Budget,
    read: Read,
) -> azd.AzdRoutine:
    service_path: Path = ("services", name)
    props, prefix, from_config = azd.properties(service, service_path)
    routine = azd.AzdRoutine(name, service_path, azd.Origin(path, doc, prefix))
    if from_config:
        read.at(
            path,
            doc,
            prefix,
            "routine properties under config: are azd's deprecated shape; move them up to the "
            "service itself",
            key=True,
            severity="warning",
        )
    elif isinstance(service.get("config"), dict) and service["config"]:
        read.at(
            path,
            doc,
            (*service_path, "config"),
            "config: is ignored: the service has routine properties of its own, and azd reads "
            "config: only when it has none; move what it holds up to the service, or remove it",
            key=True,
            severity="warning",
        )

    def report(rel: Path, message: str, *, key: bool = False) -> None:
        origin, written, at_key = routine.locate(rel)
        read.at(origin.file, origin.doc, written, routine.reword(message, rel), key=key or at_key)
        routine.broken = True

    merged = _merge_ref(routine, props, budget, read)
    if merged is None:
        routine.broken = True
        return routine
    _check_name(routine, merged.pop("name", None), read)
    routine.raw = azd.respell(routine, merged, report)
    routine.raw["name"] = name
    _expand(routine, service, variables, read, report)
    return routine


def _merge_ref(
    routine: azd.AzdRoutine, props: dict[str, Any], budget: Budget, read: Read
) -> dict[str, Any] | None:
    """The properties with a ``$ref`` file's merged under the inline ones (None when the file
    cannot be used; the reason is reported)."""
    if "$ref" not in props:
        return props
    home = routine.home
    where: Path = (*home.prefix, "$ref")
    target, why = azd.ref_target(props["$ref"], os.path.dirname(home.file))
    if target is None:
        read.at(home.file, home.doc, where, why or "$ref cannot be used")
        return None
    doc, why = _load_ref(target, budget, read)
    if doc is None:
        if why is not None:
            read.at(home.file, home.doc, where, f"cannot use $ref {target}: {why}")
        return None
    overlay = {k: v for k, v in props.items() if k != "$ref"}
    routine.ref = azd.Origin(target, doc, ())
    routine.from_ref = frozenset(k for k in doc.data if k not in overlay)
    if "$ref" in doc.data:
        read.at(target, doc, ("$ref",), "a $ref file cannot hold another $ref", key=True)
        return None
    return {**doc.data, **overlay}


def _load_ref(target: str, budget: Budget, read: Read) -> tuple[Document | None, str | None]:
    """The ``$ref`` file's document, or why it cannot be read (problems inside it are reported
    at its own lines, and then no reason is returned)."""
    source, problem = read_text(target)
    if source is None:
        message = problem.message if problem is not None else "cannot read file"
        if message.startswith("file is empty"):
            message = "file is empty: a $ref file holds the routine's properties"
        return None, message
    if target not in read.ref_paths:
        read.ref_paths.add(target)
        read.refs.append(source)
    try:
        documents = load_documents(source.text, budget)
    except YamlProblem as err:
        mark = err.mark or Mark(1, 1)
        read.diagnostics.append(
            error(err.message, file=target, line=mark.line, col=mark.col, field=field_of(err.path))
        )
        return None, None
    if not documents or not isinstance(documents[0].data, dict):
        return None, "it must be a mapping of routine properties (triggers, action, ...)"
    _report_yaml_problems(target, documents[0], read)
    return (None, None) if documents[0].problems else (documents[0], None)


def _check_name(routine: azd.AzdRoutine, written: Any, read: Read) -> None:
    """A ``name:`` inside the service is ignored by azd: say so when it differs."""
    if written is None or written == routine.name:
        return
    origin = routine.ref if routine.ref and "name" in routine.from_ref else routine.home
    read.at(
        origin.file,
        origin.doc,
        (*origin.prefix, "name"),
        f"name is ignored: the service key {routine.name!r} is the routine's name",
        severity="warning",
    )


def _expand(
    routine: azd.AzdRoutine,
    service: dict[str, Any],
    variables: Mapping[str, str],
    read: Read,
    report: azd.Report,
) -> None:
    action = routine.raw.get("action")
    if not isinstance(action, dict) or "input" not in action:
        return

    def env_problem(rel: Path, message: str) -> None:
        read.at(routine.home.file, routine.home.doc, (*routine.service, *rel), message)
        routine.broken = True

    scope = azd.service_scope(service, variables, env_problem)
    routine.raw["action"] = {**action, "input": azd.expand_input(action["input"], scope, report)}
