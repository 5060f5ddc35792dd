"""Safe YAML loading that remembers where every value came from.

PyYAML composes the text into nodes (with line and column marks); this module then builds plain
Python data itself so that it can: reject duplicate mapping keys (PyYAML keeps the last one),
reject every tag outside the JSON-like core (``!!python/object`` and friends), keep timestamps as
the text the user wrote, bound the work hostile input can cause (alias bombs, nesting, document
and integer sizes: see ``reconciler.manifest.budget``), and record a mark for every value and
every mapping key by its path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.manifest.budget import (
    DOCUMENTS_MAX,
    MAX_DEPTH,
    Budget,
    check_document,
    refuse_early,
)
from reconciler.paths import Path, PathPart

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is present in the PyPI wheels
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

__all__ = [
    "MAX_DEPTH",
    "Budget",
    "Document",
    "Mark",
    "Path",
    "PathPart",
    "YamlProblem",
    "load_documents",
    "mark_of_node",
]

PROBLEMS_MAX = 1_000  # per document; the loader reports at most 200 per file
MAX_INT_CHARACTERS = 1000  # far beyond any real number; bounds int() (sexagesimal is quadratic)
_TAG = "tag:yaml.org,2002:"
_INT = f"{_TAG}int"
_PLAIN_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null")}
_TEXT_TAGS = {f"{_TAG}timestamp", f"{_TAG}str"}  # kept as written
# SafeConstructor's own functions, called directly (construct_object adds caching we do not need)
_CONSTRUCTORS: dict[str, Callable[[SafeConstructor, ScalarNode], Any]] = {
    f"{_TAG}null": SafeConstructor.construct_yaml_null,
    f"{_TAG}bool": SafeConstructor.construct_yaml_bool,
    f"{_TAG}int": SafeConstructor.construct_yaml_int,
    f"{_TAG}float": SafeConstructor.construct_yaml_float,
}
_MERGE = f"{_TAG}merge"


@dataclass(frozen=True)
class Mark:
    """A 1-based line and column."""

    line: int
    col: int


class YamlProblem(Exception):
    """A problem that stops reading a document, with its mark."""

    def __init__(self, message: str, mark: Mark | None, path: Path = ()) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark
        self.path = path


@dataclass
class Document:
    """One YAML document: its data, a mark for every value and key path, and the problems that
    did not stop reading (duplicate keys, disallowed tags: the first value is kept)."""

    index: int
    data: Any
    start: Mark
    values: dict[Path, Any] = field(default_factory=dict)
    keys: dict[Path, Any] = field(default_factory=dict)
    """Marks by path, as PyYAML's own 0-based mark objects (no object is made per value while
    loading; ``mark_of`` turns one into a ``Mark`` when a message needs it)."""
    containers: set[Path] = field(default_factory=set)
    problems: list[YamlProblem] = field(default_factory=list)

    def mark_of(self, path: Path, *, key: bool = False) -> Mark:
        """Where ``path`` is written: its key when ``key`` or when the value is a block (a
        mapping or list), else the value; for a path that is not there (a missing field), the
        key that introduces its nearest ancestor."""
        if (key or path in self.containers) and path in self.keys:
            return _mark(self.keys[path])
        if path in self.values:
            return _mark(self.values[path])
        for cut in range(len(path) - 1, -1, -1):
            ancestor = path[:cut]
            if ancestor in self.values:
                return _mark(self.keys.get(ancestor, self.values[ancestor]))
        return self.start


def _mark(raw: Any) -> Mark:
    """A ``Mark`` from PyYAML's 0-based mark (or one that is a ``Mark`` already)."""
    if isinstance(raw, Mark):
        return raw
    return Mark(raw.line + 1, raw.column + 1)


def mark_of_node(node: Node) -> Mark:
    """The 1-based mark where ``node`` starts."""
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns composed nodes into plain data while recording marks."""

    def __init__(self, doc: Document, budget: Budget) -> None:
        self.doc = doc
        self.budget = budget
        self.limit = budget.left
        self.count = 0
        self.scalars = SafeConstructor()

    def build(self, node: Node, path: Path, depth: int = 0) -> Any:
        self.count += 1
        if self.count > self.limit:  # check_document ran first: a safety net
            raise YamlProblem(self.budget.exceeded(), mark_of_node(node), path)
        if depth > MAX_DEPTH:
            raise YamlProblem(
                f"nesting is deeper than {MAX_DEPTH} levels", mark_of_node(node), path
            )
        self.doc.values[path] = node.start_mark
        if isinstance(node, MappingNode | SequenceNode):
            self.doc.containers.add(path)
        if isinstance(node, MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, SequenceNode):
            if not self._tag_ok(node, {f"{_TAG}seq"}, path):
                return None
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _tag_ok(self, node: Node, allowed: set[str], path: Path) -> bool:
        if node.tag in allowed:
            return True
        self._problem(_tag_message(node.tag), node, path)
        return False

    def _problem(self, message: str, node: Node, path: Path) -> None:
        """Record a problem that does not stop reading (the first ``PROBLEMS_MAX`` of them)."""
        if len(self.doc.problems) < PROBLEMS_MAX:
            self.doc.problems.append(YamlProblem(message, mark_of_node(node), path))

    def _scalar(self, node: Node, path: Path) -> Any:
        assert isinstance(node, ScalarNode)
        if node.tag in _TEXT_TAGS:
            return node.value
        construct = _CONSTRUCTORS.get(node.tag)
        if construct is None:
            self._tag_ok(node, set(), path)
            return None
        if node.tag == _INT and len(node.value) > MAX_INT_CHARACTERS:
            return self._bad_value(
                f"integer of {len(node.value)} characters; at most {MAX_INT_CHARACTERS}",
                node,
                path,
            )
        try:
            return construct(self.scalars, node)
        except (yaml.YAMLError, ValueError, TypeError, LookupError, ArithmeticError):
            kind = node.tag.replace(_TAG, "!!")
            return self._bad_value(f"invalid {kind} value {_shown(node.value)}", node, path)

    def _bad_value(self, message: str, node: Node, path: Path) -> None:
        """A scalar that cannot be read: a problem, and null in its place."""
        self._problem(message, node, path)

    def _mapping(self, node: MappingNode, path: Path, depth: int) -> dict[str, Any] | None:
        if not self._tag_ok(node, {f"{_TAG}map"}, path):
            return None
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.update(self._merge_sources(value_node, path, depth))
                continue
            key = self._key(key_node, path)
            if key in result:
                first = _mark(self.doc.keys[(*path, key)])
                self._problem(
                    f"duplicate key {_shown(key)} (first defined at line {first.line}); "
                    "YAML would silently keep only the last one",
                    key_node,
                    (*path, key),
                )
                continue
            self.doc.keys[(*path, key)] = key_node.start_mark
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return {**{k: v for k, v in merged.items() if k not in result}, **result}

    def _key(self, node: Node, path: Path) -> str:
        if not isinstance(node, ScalarNode) or node.tag not in _PLAIN_TAGS | _TEXT_TAGS:
            raise YamlProblem("mapping keys must be plain text", mark_of_node(node), path)
        return str(node.value)

    def _merge_sources(self, node: Node, path: Path, depth: int) -> dict[str, Any]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        merged: dict[str, Any] = {}
        own_mark = self.doc.values[path]
        for source in reversed(sources):
            value = self.build(source, path, depth + 1)
            self.doc.values[path] = own_mark
            if not isinstance(value, dict):
                raise YamlProblem(
                    "a merge key (<<) needs a mapping or a list of mappings",
                    mark_of_node(source),
                    path,
                )
            merged.update(value)
        return merged


def _is_empty(node: Node) -> bool:
    """An empty document (e.g. after a trailing ``---``)."""
    return isinstance(node, ScalarNode) and node.tag == f"{_TAG}null" and node.value == ""


@lru_cache(maxsize=64)
def _tag_message(tag: str) -> str:
    shown = tag.replace(_TAG, "!!")
    return f"tag {shown} is not allowed: manifests may only hold plain mappings, lists and scalars"


def _shown(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def load_documents(text: str, budget: Budget | None = None) -> list[Document]:
    """Parse every document of one file's ``text``; raises YamlProblem on the first problem
    that stops reading (the others are in each ``Document.problems``).

    ``budget`` is shared by all files of one load, so that alias expansion is bounded per file
    and per run; without one, ``text`` gets a budget of its own."""
    budget = Budget() if budget is None else budget
    budget.start_file(len(text))
    anchors = "&" in text  # without anchors there are no aliases: values <= characters
    documents: list[Document] = []
    try:
        if (early := refuse_early(text, _Loader)) is not None:
            raise YamlProblem(early[0], Mark(early[1], early[2]))
        for index, node in enumerate(yaml.compose_all(text, Loader=_Loader)):
            if index >= DOCUMENTS_MAX:
                raise YamlProblem(
                    f"more than {DOCUMENTS_MAX} YAML documents in one file; split it "
                    "(each document is one routines: list)",
                    mark_of_node(node),
                )
            if node is None or _is_empty(node):
                continue
            documents.append(_document(index, node, budget, anchors=anchors))
    except yaml.MarkedYAMLError as err:
        raise _from_yaml_error(err, text) from None
    except yaml.YAMLError as err:
        raise YamlProblem(f"invalid YAML: {err}", None) from None
    return documents


def _document(index: int, node: Node, budget: Budget, *, anchors: bool) -> Document:
    """Build one document within ``budget``: measured first when aliases could expand it, so
    that an alias bomb is refused without building any of it."""
    if anchors:  # without aliases, the builder's own count stops it (at most FILE_NODES_MAX)
        overrun = check_document(node, budget.left)
        if overrun is not None:
            message = (
                f"nesting is deeper than {MAX_DEPTH} levels"
                if overrun.kind == "depth"
                else budget.exceeded()
            )
            raise YamlProblem(message, mark_of_node(overrun.node), overrun.path)
    doc = Document(index=index, data=None, start=mark_of_node(node))
    builder = _Builder(doc, budget)
    try:
        doc.data = builder.build(node, ())
    finally:
        budget.spend(builder.count)
    return doc


def _from_yaml_error(err: yaml.MarkedYAMLError, text: str) -> YamlProblem:
    mark = err.problem_mark or err.context_mark
    where = Mark(mark.line + 1, mark.column + 1) if mark is not None else None
    problem = err.problem or err.context or "invalid YAML"
    if where is not None and _is_tab(text, where):
        return YamlProblem("tab character in indentation: YAML indents with spaces only", where)
    if "found character '\\t'" in problem or "'\\t'" in problem:
        return YamlProblem("tab character in indentation: YAML indents with spaces only", where)
    context = f" ({err.context})" if err.context and err.problem else ""
    return YamlProblem(f"invalid YAML: {problem}{context}", where)


def _is_tab(text: str, mark: Mark) -> bool:
    lines = text.splitlines()
    if mark.line - 1 >= len(lines):
        return False
    line = lines[mark.line - 1]
    return mark.col - 1 < len(line) and line[mark.col - 1] == "\t"
