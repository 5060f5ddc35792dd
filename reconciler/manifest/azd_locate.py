"""Where an ``azure.yaml`` routine writes a field, for problems found after loading (the agent
pre-flight, a service error during apply): the loader keeps no marks, so the file is read
again, only when there is a problem.

A routine-relative path in the wire's spelling (``action.agent_name``) is found as the file
writes it: in the service itself or its deprecated ``config:`` block, or in the ``$ref`` file
when that file gives the top-level key and the service does not; each key camelCase
(``agentName``) when the mapping spells it so, else snake_case.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from reconciler.diagnostics import Location
from reconciler.manifest import azd
from reconciler.manifest.azd_read import routine_services
from reconciler.manifest.checks import field_of
from reconciler.manifest.sources import read_text
from reconciler.manifest.yamlsafe import Document, YamlProblem, load_documents
from reconciler.paths import Path

RefDocuments = MutableMapping[str, Document | None]  # the $ref files read, by path


@dataclass(frozen=True)
class Located:
    """A field's line and column and its path as written (``services.r.action.agentName``;
    in a ``$ref`` file, ``action.agentName``)."""

    location: Location
    field: str | None


def locate_field(
    doc: Document, source: Location, rel: Path, refs: RefDocuments | None = None
) -> Located | None:
    """Where the routine service of ``doc`` whose key is at ``source`` writes ``rel`` (None
    when no service starts there). ``refs`` caches the ``$ref`` files read."""
    for name, service in routine_services(doc):
        start = doc.mark_of(("services", name), key=True)
        if (start.line, start.col) == (source.line, source.col):
            where = (source.file, ("services", name))
            return _in_service(doc, where, service, rel, {} if refs is None else refs)
    return None


def _in_service(
    doc: Document, where: tuple[str, Path], service: dict[str, Any], rel: Path, refs: RefDocuments
) -> Located:
    file, path = where
    props, prefix, _ = azd.properties(service, path)
    ref = _ref_document(props, file, refs)
    if ref is not None and rel and rel[0] not in props and rel[0] in ref[1].data:
        target, ref_doc = ref
        return _at(target, ref_doc, (), rel)
    return _at(file, doc, prefix, rel)


def _at(file: str, doc: Document, prefix: Path, rel: Path) -> Located:
    written = (*prefix, *as_written(doc, prefix, rel))
    mark = doc.mark_of(written)
    return Located(Location(file, mark.line, mark.col), field_of(written))


def as_written(doc: Document, prefix: Path, path: Path) -> Path:
    """``path`` with each key in the spelling ``doc`` writes under ``prefix`` (camelCase when
    that key is there, else as given)."""
    written: list[Any] = []
    for part in path:
        camel = azd.CAMEL.get(str(part))
        here = (*prefix, *written)
        written.append(camel if camel and (*here, camel) in doc.keys else part)
    return tuple(written)


def _ref_document(
    props: dict[str, Any], file: str, refs: RefDocuments
) -> tuple[str, Document] | None:
    if "$ref" not in props:
        return None
    target, _ = azd.ref_target(props["$ref"], os.path.dirname(file))
    if target is None:
        return None
    if target not in refs:
        refs[target] = _document(target)
    found = refs[target]
    return None if found is None or not isinstance(found.data, dict) else (target, found)


def _document(path: str) -> Document | None:
    source, _ = read_text(path)
    try:
        documents = load_documents(source.text) if source is not None else []
    except YamlProblem:
        return None
    return documents[0] if documents else None
