"""Structure-aware fuzzing of the example manifests: the loader never raises, and ``reconciler
validate`` exits 0 or 1 with neither a traceback nor an "internal error", whatever the input.

Mutations: replace a random value with a random YAML value (of any type), delete a key, duplicate
a line (a duplicate key), wrap a value in a tag, truncate the text, insert random bytes.  Bounded
and derandomized, so CI sees the same examples every run."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.cli.main import cli
from reconciler.manifest.loader import load
from tests.conftest import REPO

EXAMPLES = sorted((REPO / "manifests").rglob("*.yaml"))
TEXTS = [path.read_text(encoding="utf-8") for path in EXAMPLES]
DATA = [list(yaml.safe_load_all(text)) for text in TEXTS]
NOW = 1_800_000_000
TAGS = ["!!python/object:os.system", "!!binary", "!!set", "!!int", "!!bool", "!!float", "!x"]
WORDS = [
    "schedule", "timer", "github_issue", "custom", "invoke_agent_responses_api", "30m", "${X}",
    "${", "$${", "* * * * *", "2030-01-01T00:00:00", "/triggers/*/at", "/action/input", "",
]  # fmt: skip

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(WORDS)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for key, value in items:
        found += _paths(value, (*path, key))
    return found


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def structural(draw: st.DrawFn) -> str:
    """An example manifest with values replaced or keys deleted, dumped again."""
    docs = copy.deepcopy(DATA[draw(st.integers(0, len(DATA) - 1))])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(docs)
        path = paths[draw(st.integers(0, len(paths) - 1))]
        parent = _parent(docs, path)
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(VALUES)
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)


@st.composite
def textual(draw: st.DrawFn, text: str) -> bytes:
    """``text`` with a line duplicated, a value tagged, the end cut off, or bytes inserted."""
    lines = text.splitlines(keepends=True) or [""]
    index = draw(st.integers(0, len(lines) - 1))
    kind = draw(st.sampled_from(["duplicate", "tag", "truncate", "bytes", "none"]))
    if kind == "duplicate":
        lines.insert(index, lines[index])
    elif kind == "tag" and ": " in lines[index]:
        lines[index] = lines[index].replace(": ", f": {draw(st.sampled_from(TAGS))} ", 1)
    data = "".join(lines).encode("utf-8")
    cut = draw(st.integers(0, len(data)))
    if kind == "truncate":
        return data[:cut]
    if kind == "bytes":
        return data[:cut] + draw(st.binary(min_size=1, max_size=6)) + data[cut:]
    return data


@st.composite
def manifests(draw: st.DrawFn) -> bytes:
    """A mutated example manifest, as the bytes of a file."""
    if draw(st.booleans()):
        return draw(textual(draw(structural())))
    return draw(textual(TEXTS[draw(st.integers(0, len(TEXTS) - 1))]))


@settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(manifests())
def test_mutated_manifests_never_crash_the_loader_or_the_cli(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzzed.yaml"
        path.write_bytes(content)
        result = load([str(path)], variables={}, now=NOW)
        assert all(d.file == str(path) for d in result.diagnostics)
        run = CliRunner().invoke(cli, ["validate", "--output", "text", str(path)])
    assert run.exception is None or isinstance(run.exception, SystemExit), run.exception
    assert run.exit_code in (0, 1), run.output
    assert "Traceback" not in run.output and "internal error" not in run.output
