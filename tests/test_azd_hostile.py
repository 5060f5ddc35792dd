"""Hostile and mutated ``azure.yaml`` files: the loader never raises, every problem names a file
of the project, and ``reconciler validate`` exits 0 or 1 without a traceback."""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.manifest import azd
from reconciler.manifest.checks import MAX_FILE_ERRORS
from reconciler.manifest.loader import load
from tests.conftest import REPO, run_cli

PROJECT = REPO / "tests/corpus/azd/project"
DATA = yaml.safe_load((PROJECT / "azure.yaml").read_text())
NOW = 1_800_000_000
VARIABLES = {"DIGEST_TOPIC": "t", "REGION": "r"}
WORDS = [
    "azure.ai.routine", "schedule", "cronExpression", "cron_expression", "agentName", "$ref",
    "./routines/nightly-report.yaml", "../x.yaml", "https://x/y.yaml", "${X}", "${{e}}", "",
]  # fmt: skip
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.sampled_from(WORDS),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """The corpus azure.yaml with values replaced or keys deleted."""
    data = copy.deepcopy(DATA)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        path = paths[draw(st.integers(0, len(paths) - 1))]
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(VALUES)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated())
def test_mutated_projects_never_crash_the_loader(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        shutil.copytree(PROJECT, folder, dirs_exist_ok=True)
        path = Path(folder) / "azure.yaml"
        path.write_text(text, encoding="utf-8")
        result = load([folder], variables=VARIABLES, now=NOW)
        files = {str(path), str(Path(folder) / "routines/nightly-report.yaml")}
        assert all(d.file in files for d in result.diagnostics), result.diagnostics
        assert all(d.line is not None for d in result.diagnostics if d.severity == "error")


@pytest.mark.parametrize(
    "text",
    [
        "services: [a, b]\n",
        "services:\n  r:\n    host: azure.ai.routine\n    $ref: [a]\n",
        "services:\n  r:\n    host: azure.ai.routine\n    env: [A]\n    action: {input: x}\n",
        "services:\n  r:\n    host: azure.ai.routine\n    triggers: [x]\n    action: 3\n",
        "services:\n  r:\n    host: azure.ai.routine\n    config: 5\n",
        "services:\n  r: !!python/object:os.system {host: azure.ai.routine}\n",
        "- just\n- a list\n",
        "a: &a [*a]\n",
        "services:\n  r:\n    host: azure.ai.routine\n---\nservices: {}\n",
    ],
)
def test_hostile_projects_are_located_errors(tmp_path: Path, text: str) -> None:
    (tmp_path / "azure.yaml").write_text(text)
    done = run_cli("validate", ".", cwd=tmp_path)
    assert done.returncode == 1, done.stdout
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stdout.splitlines()[0].startswith("./azure.yaml:"), done.stdout


def test_errors_of_one_project_are_bounded(tmp_path: Path) -> None:
    services = "".join(
        f"  r{i}:\n    host: azure.ai.routine\n    $ref: ./missing-{i}.yaml\n" for i in range(400)
    )
    (tmp_path / "azure.yaml").write_text("services:\n" + services)
    result = load([str(tmp_path)], variables={}, now=NOW)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert len(errors) == MAX_FILE_ERRORS + 1
    assert errors[-1].message.startswith(f"stopped after {MAX_FILE_ERRORS} error(s): 200 more")


def test_many_unterminated_foundry_expressions_are_linear(tmp_path: Path) -> None:
    """60,000 unterminated ``${{`` in an action.input took ~35 s per pass with a regular
    expression that rescanned the rest of the text at each one; a linear scan takes
    milliseconds (a 1 MiB input: 340,000 of them, through the loader)."""
    opened = "${{" * 60_000
    started = time.perf_counter()
    assert azd.expand_input(opened, {}, _no_report) == opened
    assert azd.escape_input(opened) == "$${{" * 60_000
    big = "${{" * 340_000 + "${{x}} ${V}"
    (tmp_path / "azure.yaml").write_text(
        "services:\n  r:\n    host: azure.ai.routine\n    triggers:\n"
        '      t: {type: schedule, cronExpression: "0 7 * * *", timeZone: UTC}\n'
        "    action:\n      type: invoke_agent_responses_api\n      agentName: a\n"
        f"      input: {json.dumps(big)}\n"
    )
    result = load([str(tmp_path)], variables={"V": "v"}, now=NOW)
    assert time.perf_counter() - started < 2.0
    assert [d.message for d in result.diagnostics] == []
    assert result.routines[0].spec.action.input == big.replace("${V}", "v")


def _no_report(rel: tuple[Any, ...], message: str, *, key: bool = False) -> None:
    raise AssertionError(message)
