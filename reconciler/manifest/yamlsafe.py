"""Safe YAML loading that remembers where every value came from.

PyYAML composes the text into nodes (with line and column marks); this module then builds plain
Python data itself so that it can: reject duplicate mapping keys (PyYAML keeps the last one),
reject every tag outside the JSON-like core (``!!python/object`` and friends), keep timestamps as
the text the user wrote, bound the work an alias bomb can cause, and record a mark for every
value and every mapping key by its path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is present in the PyPI wheels
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_NODES = 200_000
MAX_DEPTH = 64
_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null")}
_TEXT_TAGS = {f"{_TAG}timestamp"}
_MERGE = f"{_TAG}merge"

PathPart = str | int
Path = tuple[PathPart, ...]


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
    values: dict[Path, Mark] = field(default_factory=dict)
    keys: dict[Path, Mark] = field(default_factory=dict)
    containers: set[Path] = field(default_factory=set)
    problems: list[YamlProblem] = field(default_factory=list)

    def mark_of(self, path: Path, *, key: bool = False) -> Mark:
        """Where ``path`` is written: its key when ``key`` or when the value is a block (a
        mapping or list), else the value; for a path that is not there (a missing field), the
        key that introduces its nearest ancestor."""
        if (key or path in self.containers) and path in self.keys:
            return self.keys[path]
        if path in self.values:
            return self.values[path]
        for cut in range(len(path) - 1, -1, -1):
            ancestor = path[:cut]
            if ancestor in self.values:
                return self.keys.get(ancestor, self.values[ancestor])
        return self.start


def mark_of_node(node: Node) -> Mark:
    """The 1-based mark where ``node`` starts."""
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns composed nodes into plain data while recording marks."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.count = 0
        self.scalars = SafeConstructor()

    def build(self, node: Node, path: Path, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlProblem(
                f"document expands to more than {MAX_NODES} values (alias bomb?)",
                mark_of_node(node),
                path,
            )
        if depth > MAX_DEPTH:
            raise YamlProblem(
                f"nesting is deeper than {MAX_DEPTH} levels", mark_of_node(node), path
            )
        self.doc.values[path] = mark_of_node(node)
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
        self.doc.problems.append(YamlProblem(_tag_message(node.tag), mark_of_node(node), path))
        return False

    def _scalar(self, node: Node, path: Path) -> Any:
        assert isinstance(node, ScalarNode)
        if node.tag in _TEXT_TAGS:
            return node.value
        if not self._tag_ok(node, _PLAIN_TAGS, path):
            return None
        try:
            return self.scalars.construct_object(node)
        except (yaml.YAMLError, ValueError) as err:
            raise YamlProblem(f"invalid value: {err}", mark_of_node(node), path) from None

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
                first = self.doc.keys[(*path, key)]
                self.doc.problems.append(
                    YamlProblem(
                        f"duplicate key {key!r} (first defined at line {first.line}); "
                        "YAML would silently keep only the last one",
                        mark_of_node(key_node),
                        (*path, key),
                    )
                )
                continue
            self.doc.keys[(*path, key)] = mark_of_node(key_node)
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


def _tag_message(tag: str) -> str:
    shown = tag.replace(_TAG, "!!")
    return f"tag {shown} is not allowed: manifests may only hold plain mappings, lists and scalars"


def load_documents(text: str) -> list[Document]:
    """Parse every document in ``text``; raises YamlProblem on the first problem."""
    documents: list[Document] = []
    try:
        for index, node in enumerate(yaml.compose_all(text, Loader=_Loader)):
            if node is None or _is_empty(node):
                continue
            doc = Document(index=index, data=None, start=mark_of_node(node))
            doc.data = _Builder(doc).build(node, ())
            documents.append(doc)
    except yaml.MarkedYAMLError as err:
        raise _from_yaml_error(err, text) from None
    except yaml.YAMLError as err:
        raise YamlProblem(f"invalid YAML: {err}", None) from None
    return documents


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
