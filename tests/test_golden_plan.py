"""Golden plan and drift JSON of the example manifests: structure may change, output may not.

Each scenario runs the real CLI in-process on a copy of ``manifests/`` and compares the JSON
document with ``tests/golden/<scenario>.json``, after scrubbing what records when and where it
ran (the endpoint's temporary path, relative timers' times). Regenerate deliberately with
``RECONCILER_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_plan.py``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler.cli.main import cli
from reconciler.live.local import LocalBackend
from tests.conftest import REPO

GOLDEN = Path(__file__).parent / "golden"
OWNED = "\n\n[managed-by=reconciler v=1 stack=default name={name}]"


def _run(cwd: Path, *args: str) -> Any:
    runner = CliRunner()
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        env = {"NO_COLOR": "1", "GITHUB_ACTIONS": "", "AZURE_AI_PROJECT_ENDPOINT": ""}
        result = runner.invoke(cli, list(args), env={k: v for k, v in env.items() if v} or None)
    finally:
        os.chdir(previous)
    return result


def _scrub_timing(doc: dict[str, Any]) -> None:
    """Next fires and the forecast without the times that follow from when the plan ran (their
    shape, counts and daylight-saving offsets stay; tests/test_next_fires.py pins the times)."""
    for change in doc.get("changes", []):
        for fires in (change.get("next_fires") or {}).values():
            for side in ("before", "after"):
                if side in fires:
                    fires[side]["fires"] = ["<time>" for _ in fires[side]["fires"]]
            for shift in fires.get("dst", []):
                shift["at"] = "<time>"
    for load in (doc.get("forecast") or {}).get("agents", []):
        for key in ("runs_per_day", "runs"):
            load[key] = dict.fromkeys(load[key], "<number>")
        for busiest in load["busiest_minute"].values():
            if busiest is not None:
                busiest["at"], busiest["names"] = "<time>", "<names>"


def _scrub(value: Any, relative: set[str]) -> Any:
    """The document without its run's time and place."""
    if isinstance(value, dict):
        found = {k: _scrub(v, relative) for k, v in value.items()}
        if "endpoint" in found and isinstance(found["endpoint"], str):
            found["endpoint"] = "<endpoint>"
        for side in ("before", "after"):
            state = found.get(side)
            for name in relative if isinstance(state, dict) else ():
                trigger = (state.get("triggers") or {}).get(name)
                if isinstance(trigger, dict) and "at" in trigger:
                    trigger["at"] = "<relative>"
        return found
    if isinstance(value, list):
        return [_scrub(v, relative) for v in value]
    return value


def _document(text: str) -> Any:
    doc = json.loads(text)
    relative = {t for c in doc.get("changes", []) for t in c.get("relative_timers", [])}
    _scrub_timing(doc)
    return _scrub(doc, relative)


def _seed(tmp_path: Path) -> str:
    """A project after applying the examples, then changed by hand in several ways."""
    endpoint = f"local:{tmp_path}/p.db"
    applied = _run(tmp_path, "apply", "manifests", "--auto-approve", "--endpoint", endpoint)
    assert applied.exit_code == 0, applied.output
    backend = LocalBackend(f"{tmp_path}/p.db")
    live = {r["name"]: r for r in backend.list_routines()}
    edited = dict(live["daily-ops-summary"])
    trigger = next(iter(edited["triggers"].values()))
    trigger["cron_expression"] = "15 8 * * 1-5"
    backend.create_or_update("daily-ops-summary", _body(edited))
    backend.disable("weekly-compliance-report")
    backend.create_or_update("hand-made", _body({**edited, "description": "by hand"}))
    gone = {**edited, "description": "left behind" + OWNED.format(name="retired-routine")}
    backend.create_or_update("retired-routine", _body(gone))
    backend.close()
    return endpoint


def _body(routine: dict[str, Any]) -> dict[str, Any]:
    keys = ("description", "enabled", "triggers", "action")
    return {k: routine[k] for k in keys if k in routine}


SCENARIOS = {
    "plan-empty": (False, ("plan", "manifests", "-o", "json")),
    "plan-changed": (True, ("plan", "manifests", "--prune", "-o", "json")),
    "drift-changed": (True, ("drift", "manifests", "-o", "json")),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_json_documents_of_the_examples_are_unchanged(tmp_path: Path, scenario: str) -> None:
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    seeded, args = SCENARIOS[scenario]
    endpoint = _seed(tmp_path) if seeded else f"local:{tmp_path}/empty.db"
    result = _run(tmp_path, *args, "--endpoint", endpoint)
    assert result.exit_code in (0, 2), result.output
    document = _document(result.stdout)
    path = GOLDEN / f"{scenario}.json"
    if os.environ.get("RECONCILER_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    assert document == json.loads(path.read_text()), f"{scenario} differs from {path}"


def test_the_saved_plan_file_round_trips_every_field(tmp_path: Path) -> None:
    from reconciler.plan import planfile, saved
    from reconciler.plan.diff import FieldDiff

    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    endpoint = _seed(tmp_path)
    result = _run(
        tmp_path, "plan", "manifests", "--prune", "--endpoint", endpoint, "--out", "p.json"
    )
    assert result.exit_code == 0, result.output
    loaded = saved.load((tmp_path / "p.json").read_text(), "p.json").plan
    assert planfile.decode(json.loads(json.dumps(planfile.encode(loaded)))) == loaded
    change = next(c for c in loaded.changes if c.diff)
    change.diff.append(FieldDiff(("triggers", "a.b", 0), None, 1, before_present=False))
    again = planfile.decode(json.loads(json.dumps(planfile.encode(loaded))))
    assert again == loaded and again.changes[0].diff is not loaded.changes[0].diff
    assert {c.action.value for c in loaded.pending} == {"update", "enable", "delete"}
    assert all(c.body is not None for c in loaded.pending if c.action.value == "update")
