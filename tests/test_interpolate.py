"""``${VAR}`` interpolation next to Foundry's own ``${{ ... }}`` expressions, which the service
resolves when the routine runs: they pass through verbatim, to the service and back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from azure.ai.projects import AIProjectClient

from reconciler.emulator import EmulatedClock, Emulator
from reconciler.live.local import LocalBackend
from reconciler.manifest.interpolate import interpolate
from reconciler.manifest.loader import load
from tests.conftest import BASE_ROUTINE, run_cli
from tests.emulator_fixtures import HTTP, StaticToken

VARIABLES = {"A": "alpha", "WHO": "ops"}


def expand(text: str) -> tuple[str, list[str]]:
    value, problems = interpolate(text, VARIABLES)
    return value, [p.message for p in problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${{connections.foo}}", "${{connections.foo}}"),
        ("${{ connections.foo.key }}", "${{ connections.foo.key }}"),
        ("ask ${{inputs.q}} as ${WHO}", "ask ${{inputs.q}} as ops"),
        ("${{a}}${{b}}", "${{a}}${{b}}"),
        ("${{ ${A} }}", "${{ ${A} }}"),  # nothing inside an expression is interpolated
        ("${{x}} then ${A}", "${{x}} then alpha"),
        ("${A}}}", "alpha}}"),
        ("${{", "${{"),  # unterminated: kept as text, never an error
        ("${{x} and ${A}", "${{x} and alpha"),
        ("${{x}", "${{x}"),
    ],
)
def test_server_side_expressions_pass_through_verbatim(text: str, expected: str) -> None:
    assert expand(text) == (expected, [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$${{x}}", "${{x}}"),  # the escape still works, and yields the same expression
        ("$${A}", "${A}"),
        ("$${{x}} ${A}", "${{x}} alpha"),
        ("$$${A}", "$${A}"),  # left to right: a lone "$", then the escape
    ],
)
def test_the_escape_still_works(text: str, expected: str) -> None:
    assert expand(text) == (expected, [])


def test_plain_references_keep_their_errors_next_to_expressions() -> None:
    value, problems = expand("${{ok}} ${MISSING}")
    assert value == "${{ok}} ${MISSING}"
    assert len(problems) == 1 and problems[0].startswith("undefined variable ${MISSING}")
    assert expand("${{ok}} ${")[1] == [
        "unterminated '${': close it with '}' or write '$${' for a literal '${'"
    ]


def test_many_unterminated_expressions_stay_linear() -> None:
    text = "${{" * 200_000
    assert expand(text) == (text, [])


ROUTINE = BASE_ROUTINE.replace(
    "agent_name: a",
    "agent_name: ${AGENT:-a}\n"
    '      input: "token ${{connections.foo}} for ${{inputs.user}}, $${{kept}}"',
)
SENT = "token ${{connections.foo}} for ${{inputs.user}}, ${{kept}}"


def test_a_manifest_with_expressions_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(ROUTINE)
    result = load([str(path)], variables={}, now=1_800_000_000)
    assert result.ok, [d.render() for d in result.diagnostics]
    assert result.routines[0].spec.action.input == SENT
    assert run_cli("validate", str(path), cwd=tmp_path).returncode == 0


def test_expressions_reach_the_emulator_verbatim_through_the_sdk(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(ROUTINE)
    with Emulator(tmp_path / "emu.db", clock=EmulatedClock(speed=0)) as emu:
        done = run_cli("apply", "r.yaml", "--auto-approve", "--endpoint", emu.endpoint(),
                       cwd=tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        client = AIProjectClient(endpoint=emu.endpoint(), credential=StaticToken())
        action = client.beta.routines.get("r1", **HTTP).action
        assert action is not None and action["input"] == SENT
        again = run_cli("plan", "r.yaml", "--output", "json", "--endpoint", emu.endpoint(),
                        cwd=tmp_path)  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert [c["action"] for c in json.loads(again.stdout)["changes"]] == [["no-op"]]


def test_expressions_reach_the_embedded_project_verbatim(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(ROUTINE)
    endpoint = f"local:{tmp_path}/p.db"
    done = run_cli("apply", "r.yaml", "--auto-approve", "--endpoint", endpoint, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    with LocalBackend(str(tmp_path / "p.db")) as backend:
        stored = backend.get("r1")
    assert stored is not None and stored["action"]["input"] == SENT
