"""Plan N desired routines against a live project in which a share of them differ.

    python benchmarks/bench_plan.py [--routines 100,1000,5000] [--differ 0.01] [--repeat 3]
                                    [--no-cli]

For each N the synthetic manifests are loaded once and created in a fresh local (SQLite) project
with ``apply_plan``; then ``--differ`` of the routines (1% by default, at least one) are edited
out of band (their agent changes), as someone using the portal would.

* pure: ``reconciler.plan.planner.make_plan`` on in-memory desired/live data, with all routines
  equal, with the 1% differing, and with every routine differing. The difference between the
  all-equal and all-different times is what deepdiff costs per routine; docs/design.md
  ("Performance model") says deepdiff must run only for routines that differ. A separate,
  untimed run counts the DeepDiff calls with a wrapper that is installed for that run only and
  removed afterwards.
* engine: what ``reconciler plan`` does without the CLI around it (``reconciler.app.engine``:
  ``load_desired`` then ``plan`` through ``LocalBackend``), split into load (timed once: it is
  what ``bench_validate.py`` measures in detail) and list+plan.
* CLI: one ``python -m reconciler plan DIR --endpoint local:DB`` subprocess (interpreter start,
  imports and rendering included); ``--no-cli`` skips it.

Each in-process number is the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import deepdiff
from _common import (
    NOW,
    STACK,
    add_markdown_flag,
    add_schedule_flag,
    best_of,
    counts,
    show,
    timed,
    use_repeated_schedules,
    write_manifests,
)
from deepdiff import DeepDiff

from reconciler.app.engine import Settings, load_desired, plan
from reconciler.apply import apply_plan
from reconciler.live.local import LocalBackend
from reconciler.manifest.desired import to_desired
from reconciler.manifest.schema import validator_for
from reconciler.plan.model import Action
from reconciler.plan.options import PlanOptions
from reconciler.plan.planner import make_plan

DRIFTED_AGENT = "agent-edited-in-portal"
_READ_ONLY = ("name", "created_at", "updated_at")


@contextmanager
def counting_deepdiff() -> Iterator[mock.MagicMock]:
    """Count the ``DeepDiff`` calls ``reconciler.plan.diff`` makes, for one block only.

    ``mock.patch.object`` wraps the real class (results are unchanged) and puts it back on exit.
    """
    with mock.patch.object(deepdiff, "DeepDiff", wraps=DeepDiff) as spy:
        yield spy


def drifted(routine: dict[str, Any]) -> dict[str, Any]:
    """The routine with its agent changed (an out-of-band edit)."""
    edited = copy.deepcopy(routine)
    edited["action"]["agent_name"] = DRIFTED_AGENT
    return edited


def pick(count: int, share: float) -> set[int]:
    """Indices of ``share`` of ``count`` routines, spread evenly, at least one."""
    wanted = max(1, math.ceil(count * share))
    step = count / wanted
    return {int(i * step) for i in range(wanted)}


def measure(count: int, share: float, repeat: int, root: Path, cli: bool) -> list[object]:
    """One table row for ``count`` routines."""
    directory = root / f"n{count}"
    manifests = directory / "manifests"
    write_manifests(manifests, count)
    db = directory / "project.db"
    options = PlanOptions(stack=STACK, target=f"local:{db}")
    settings = Settings(paths=(str(manifests),), variables={}, now=NOW, options=options)
    engine_load, loaded = timed(lambda: load_desired(settings))
    assert loaded.ok, loaded.diagnostics[:3]
    assert len(loaded.routines) == count

    backend = LocalBackend(str(db))
    try:
        created = apply_plan(plan(settings, loaded, backend), backend)
        assert created.ok
        assert len(created.results) == count
        live_equal = backend.list_routines()
        differ = pick(count, share)
        by_index = sorted(live_equal, key=lambda r: str(r["name"]))
        for index in differ:
            edited = drifted(by_index[index])
            body = {k: v for k, v in edited.items() if k not in _READ_ONLY}
            backend.create_or_update(str(edited["name"]), body)
        live_some = backend.list_routines()
        live_all = [drifted(r) for r in live_equal]
        desired = [to_desired(r) for r in loaded.routines]

        # The untimed check: how many DeepDiff calls, and the plan the 1% case gives.
        with counting_deepdiff() as calls:
            some_plan = make_plan(desired, live_some, options)
        deepdiffs_some = calls.call_count
        updates = sum(1 for c in some_plan.changes if c.action is Action.UPDATE)
        assert updates == len(differ) == len(some_plan.pending), (updates, len(differ))
        with counting_deepdiff() as calls:
            make_plan(desired, live_equal, options)
        deepdiffs_equal = calls.call_count

        pure_equal = best_of(repeat, lambda: make_plan(desired, live_equal, options))
        pure_some = best_of(repeat, lambda: make_plan(desired, live_some, options))
        pure_all = best_of(repeat, lambda: make_plan(desired, live_all, options))

        engine_plan = best_of(repeat, lambda: plan(settings, loaded, backend))
        list_s = best_of(repeat, backend.list_routines)
    finally:
        backend.close()

    cli_s = run_cli(manifests, db, len(differ)) if cli else None
    per_diff_us = (pure_all - pure_equal) / count * 1e6
    return [
        count,
        len(differ),
        f"{deepdiffs_equal} / {deepdiffs_some}",
        f"{pure_equal:.3f}",
        f"{pure_some:.3f}",
        f"{pure_all:.3f}",
        f"{pure_equal / count * 1e6:.0f} / {per_diff_us:.0f}",
        f"{engine_load:.3f}",
        f"{list_s:.3f}",
        f"{engine_plan:.3f}",
        f"{engine_load + engine_plan:.3f}",
        "-" if cli_s is None else f"{cli_s:.2f}",
    ]


def run_cli(manifests: Path, db: Path, expected: int) -> float:
    """Seconds of one ``reconciler plan`` subprocess (exit 2: changes, as expected)."""
    env = {**os.environ, "NO_COLOR": "1"}
    command = [
        sys.executable,
        "-m",
        "reconciler",
        "plan",
        str(manifests),
        "--endpoint",
        f"local:{db}",
        "--stack",
        STACK,
        "--detailed-exitcode",
    ]
    seconds, done = timed(
        lambda: subprocess.run(
            command, cwd=manifests.parent, env=env, capture_output=True, text=True, check=False
        )
    )
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"0 to create, {expected} to update" in done.stdout, done.stdout[-2000:]
    return float(seconds)


def main() -> None:
    """Parse arguments, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routines", type=counts, default=[100, 1000, 5000], help="N values")
    parser.add_argument("--differ", type=float, default=0.01, help="share that differs (0-1)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--no-cli", dest="cli", action="store_false", help="skip the CLI run")
    add_schedule_flag(parser)
    add_markdown_flag(parser)
    args = parser.parse_args()
    use_repeated_schedules(args.repeated)
    started = time.perf_counter()
    validator_for("manifest")  # compile the schema once, as a warm process would have it
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as tmp:
        rows = [measure(n, args.differ, args.repeat, Path(tmp), args.cli) for n in args.routines]
    show(
        f"plan: {args.differ:.0%} of the routines differ (seconds; best of {args.repeat})",
        [
            "N",
            "differ",
            "DeepDiff calls eq/1%",
            "pure eq",
            "pure 1%",
            "pure all",
            "µs/routine eq / +diff",
            "engine load",
            "list",
            "engine plan",
            "engine total",
            "CLI",
        ],
        rows,
        markdown=args.markdown,
    )
    print(f"(whole run: {time.perf_counter() - started:.0f} s including setup)")


if __name__ == "__main__":
    main()
