"""How much YAML one load may build: values, nodes and documents per file, values per run.

YAML aliases let a few hundred bytes stand for millions of values (a "billion laughs" alias
bomb), and every value costs time and memory in each later step (marks, interpolation, schema,
rules).  One ``Budget`` is shared by every file of one load, so the limit holds per file *and*
per run, not per document:

* **per file**: at most ``FILE_VALUES_MAX`` (200,000) values over all of its documents, at most
  ``FILE_NODES_MAX`` (100,000) nodes as written (keys included, aliases not), at most
  ``DOCUMENTS_MAX`` (1,000) documents, empty ones included, and at most ``DIRECTIVES_MAX`` (100)
  ``%YAML``/``%TAG`` lines (libyaml compares each ``%TAG`` with all before it).  A real manifest
  file is at most 1 MiB: in the benchmarks' style (about 14 bytes per node) that is 2,450
  routines in 73,000 nodes and 0.9 s to load; building 200,000 values takes about 0.5 s.  A
  denser file is hostile (1 MiB of ``[a,a,a,...`` composes to 500,000 nodes: 1.2 s and 140 MB),
  so nodes are counted on the parser's events before anything is composed (for texts long
  enough to hold that many: counting to the limit takes about 0.05 s).  A file over any limit
  is refused, located at the document, node, line or value where the limit was reached.
* **per run**: ``RUN_VALUES_BASE`` (200,000) values plus ``VALUES_PER_CHARACTER`` (one) for every
  character of YAML read.  Without aliases a document holds hardly more values than it has
  characters (each value but an empty one is written with at least one, and beside a key), so
  text without aliases does not run out; alias expansion draws on the base allowance.  The
  run's cost therefore stays within a small multiple of the bytes read, however many files
  there are: 50,000 routines in 1,000 files (about 20 MB, 1 M values) have 20 M values of room,
  while a thousand 300-byte alias bombs share 500,000 values instead of 200,000 each.  An
  absolute cap (e.g. 5 M values) would let an attacker spend 15 s and gigabytes before the
  error; a per-file count would let one spread the bomb over files.

The expanded size of a document is computed before it is built (memoised per node, so shared
alias targets are counted once), so a bomb is refused without building any of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.events import CollectionStartEvent, ScalarEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.paths import Path, PathPart

MAX_DEPTH = 64
FILE_VALUES_MAX = 200_000
FILE_NODES_MAX = 100_000
RUN_VALUES_BASE = 200_000
VALUES_PER_CHARACTER = 1
DOCUMENTS_MAX = 1_000
DIRECTIVES_MAX = 100  # %YAML/%TAG lines; libyaml compares each %TAG with all before it
_MERGE = "tag:yaml.org,2002:merge"

Sizes = dict[int, tuple[int, int]]  # id(node) -> (values when built, levels below it)


class Budget:
    """The values a load may still build: ``left`` is the smaller of the file's and the run's
    allowance.  Call ``start_file`` once per file, before its documents."""

    def __init__(self) -> None:
        self.run_left = RUN_VALUES_BASE
        self.file_left = FILE_VALUES_MAX
        self.run_read = 0

    def start_file(self, characters: int) -> None:
        """A new file of ``characters`` characters: its own allowance, and credit for the run."""
        self.file_left = FILE_VALUES_MAX
        self.run_left += characters * VALUES_PER_CHARACTER
        self.run_read += characters

    @property
    def left(self) -> int:
        """How many values may still be built in the current file."""
        return max(0, min(self.file_left, self.run_left))

    def spend(self, values: int) -> None:
        """Record ``values`` built values."""
        self.file_left -= values
        self.run_left -= values

    def exceeded(self) -> str:
        """Why the next value does not fit, naming the limit that ran out."""
        if self.file_left <= self.run_left:
            return (
                f"this file expands to more than {FILE_VALUES_MAX} values (alias bomb?); "
                "split it, or use fewer aliases"
            )
        allowed = RUN_VALUES_BASE + self.run_read * VALUES_PER_CHARACTER
        return (
            f"the manifests of this run expand to more than {allowed} values in total (alias "
            f"bombs?): a run may build {RUN_VALUES_BASE} values plus one per character read"
        )


def refuse_early(text: str, loader: Any) -> tuple[str, int, int] | None:
    """Why (and at which line and column) ``text`` is refused before anything is composed."""
    if (where := too_many_directives(text)) is not None:
        return f"more than {DIRECTIVES_MAX} directive lines (%YAML, %TAG) in one file", *where
    if (where := count_nodes(text, loader)) is not None:
        message = f"more than {FILE_NODES_MAX} YAML nodes (keys and values) in one file; split it"
        return message, *where
    return None


def too_many_directives(text: str) -> tuple[int, int] | None:
    """Where (line, column 1) ``text`` has its line number ``DIRECTIVES_MAX + 1`` that starts
    with ``%`` (a directive); None when it has fewer.  20,000 ``%TAG`` lines take libyaml 1.5 s."""
    if text.count("\n%") + text.startswith("%") <= DIRECTIVES_MAX:
        return None
    lines = [i for i, line in enumerate(text.split("\n"), 1) if line.startswith("%")]
    return lines[DIRECTIVES_MAX], 1


def count_nodes(text: str, loader: Any) -> tuple[int, int] | None:
    """Where (1-based line and column) ``text`` passes ``FILE_NODES_MAX`` nodes, found on the
    parser's events before anything is composed (composing costs about four times as much and
    keeps every node in memory); None when it does not.  A node takes at least half a
    character, so only long texts are parsed for this."""
    if 2 * len(text) + 2 <= FILE_NODES_MAX:
        return None
    count = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, ScalarEvent | CollectionStartEvent):
            count += 1
            if count > FILE_NODES_MAX and event.start_mark is not None:
                return event.start_mark.line + 1, event.start_mark.column + 1
    return None


@dataclass(frozen=True)
class Overrun:
    """Why a document cannot be built: too deep or too many values (``kind``), where it is
    written (``node``: its mark) and the path of the value concerned."""

    kind: str
    node: Node
    path: Path


def check_document(root: Node, left: int) -> Overrun | None:
    """Whether building ``root`` would nest deeper than ``MAX_DEPTH`` or build more than ``left``
    values, found without building it: each node is measured once, however many aliases
    refer to it."""
    sizes: Sizes = {}
    try:
        total, _ = _size(root, sizes) if isinstance(root, ScalarNode) else _measure(root, 0, sizes)
    except _TooDeep as err:
        return Overrun("depth", err.node, tuple(reversed(err.parts)))
    if total <= left:
        return None
    node, path = _crossing(root, left, sizes)
    return Overrun("values", node, path)


class _TooDeep(Exception):
    def __init__(self, node: Node, parts: list[PathPart]) -> None:
        super().__init__()
        self.node, self.parts = node, parts


def _kids(node: Node) -> Iterator[tuple[Node, PathPart | None]]:
    """A node's children in the order they are built; the part is None for merged sources,
    which are built at their mapping's own path."""
    if isinstance(node, SequenceNode):
        yield from ((item, index) for index, item in enumerate(node.value))
    elif isinstance(node, MappingNode):
        for key, value in node.value:
            if key.tag == _MERGE:
                sources = value.value if isinstance(value, SequenceNode) else [value]
                yield from ((source, None) for source in reversed(sources))
            else:
                yield value, key.value if isinstance(key, ScalarNode) else "?"


def _measure(node: Node, depth: int, sizes: Sizes) -> tuple[int, int]:
    if depth > MAX_DEPTH:
        raise _TooDeep(node, [])
    total, height = 1, 0
    for child, part in _kids(node):
        if isinstance(child, ScalarNode):  # most nodes: no memo, no recursion
            if depth >= MAX_DEPTH:
                raise _TooDeep(child, [] if part is None else [part])
            total, height = total + 1, max(height, 1)
            continue
        known = sizes.get(id(child))
        try:
            if known is None:
                known = _measure(child, depth + 1, sizes)
            elif depth + 1 + known[1] > MAX_DEPTH:
                raise _deepest(child, depth + 1, sizes)
        except _TooDeep as err:
            if part is not None:
                err.parts.append(part)
            raise
        total, height = total + known[0], max(height, known[1] + 1)
    sizes[id(node)] = (total, height)
    return total, height


def _size(node: Node, sizes: Sizes) -> tuple[int, int]:
    return (1, 0) if isinstance(node, ScalarNode) else sizes[id(node)]


def _deepest(node: Node, depth: int, sizes: Sizes) -> _TooDeep:
    """The first node below a measured ``node`` (reached at ``depth``) that is too deep."""
    parts: list[PathPart] = []
    while depth <= MAX_DEPTH:
        for child, part in _kids(node):
            if depth + 1 + _size(child, sizes)[1] > MAX_DEPTH:
                node, depth = child, depth + 1
                if part is not None:
                    parts.append(part)
                break
        else:
            break
    return _TooDeep(node, parts[::-1])


def _crossing(node: Node, left: int, sizes: Sizes) -> tuple[Node, Path]:
    """Where building would run out of values: descend into the child in which the count
    crosses ``left``, and stop at the first alias (marked where the alias is written: its key,
    or the list that holds it)."""
    path: list[PathPart] = []
    while left > 0:
        left -= 1
        for child, part, written_at in _steps(node):
            size = _size(child, sizes)[0]
            if size <= left:
                left -= size
                continue
            if part is not None:
                path.append(part)
            if written_at is not None:
                return written_at, tuple(path)
            node = child
            break
    return node, tuple(path)


def _steps(node: Node) -> Iterator[tuple[Node, PathPart | None, Node | None]]:
    """``_kids`` plus, for a child that an alias stands for, the node that marks the alias (a
    child written in place starts after everything before it; an alias's target does not)."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if key.tag == _MERGE:
                sources = value.value if isinstance(value, SequenceNode) else [value]
                yield from ((source, None, key) for source in reversed(sources))
                continue
            aliased = value.start_mark.index <= key.end_mark.index
            yield value, key.value if isinstance(key, ScalarNode) else "?", key if aliased else None
        return
    bound = node.start_mark.index
    for index, item in enumerate(node.value if isinstance(node, SequenceNode) else []):
        yield item, index, node if item.start_mark.index <= bound else None
        bound = max(bound, item.end_mark.index)
