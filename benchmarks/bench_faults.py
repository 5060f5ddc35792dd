"""Soak: apply through a failing service, then kill -9 mid-apply, and count what went wrong.

    python benchmarks/bench_faults.py [--changes 500] [--rate 0.3] [--drop 0.05]
                                      [--retry-after 1] [--concurrency 16]
                                      [--kills 10] [--kill-changes 300] [--seed 9]

Part 1, through the ``azure`` backend (the real SDK, product retry settings) to the emulator in
a child process: plan and apply ``--changes`` creates, then as many updates, while ``--rate`` of
the requests are answered 429 or 503 (half each, with ``Retry-After``) and ``--drop`` of them
have their connection dropped, before or after the write committed (at random). Afterwards,
with the faults off, a fresh plan must have nothing to do. Counted: failed and conflicting
changes, lost changes (desired routines the project does not match afterwards), duplicated
results (a change reported twice) and routines listed twice, the retries apply reported, and
the faults the emulator injected.

Part 2, the CLI on the embedded project: a 300-change apply (creates, updates and prune
deletes, next to routines nobody owns and routines of another stack) is killed with SIGKILL at
``--kills`` random moments; each time ``apply`` is re-run until it exits 0. Counted: reruns,
whether the project converged (a fresh plan has no changes), whether anything not owned was
deleted, and SQLite's ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _common import (
    NOW,
    STACK,
    add_markdown_flag,
    add_schedule_flag,
    counters,
    emulator,
    endpoint,
    reset_counters,
    set_faults,
    show,
    use_repeated_schedules,
    write_manifests,
)

from reconciler.app.engine import Settings, load_desired, plan
from reconciler.apply import ApplyResult, apply_plan
from reconciler.live.azure import AzureBackend
from reconciler.live.base import Backend
from reconciler.live.local import LocalBackend
from reconciler.plan.model import Plan
from reconciler.plan.options import PlanOptions

FOREIGN = 20


def _settings(manifests: Path, target: str, *, prune: bool = False) -> Settings:
    options = PlanOptions(stack=STACK, target=target, prune=prune, max_deletes=10_000)
    return Settings(paths=(str(manifests),), variables={}, now=NOW, options=options)


def _plan(manifests: Path, backend: Backend, *, prune: bool = False) -> Plan:
    settings = _settings(manifests, backend.target, prune=prune)
    loaded = load_desired(settings)
    assert loaded.ok, loaded.diagnostics[:3]
    return plan(settings, loaded, backend)


def _rewrite(manifests: Path, marker: str) -> None:
    """Change every routine's description (an update for each)."""
    for path in manifests.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("for the benchmarks.", f"for the benchmarks ({marker})."))


def _count(result: ApplyResult, manifests: Path, backend: Backend) -> dict[str, int]:
    names = Counter(r.name for r in result.results)
    listed = Counter(str(r["name"]) for r in backend.list_routines())
    after = _plan(manifests, backend)
    return {
        "failed": result.count("failed") + result.count("skipped"),
        "conflicts": result.count("conflict"),
        "lost": len(after.pending),
        "duplicated": sum(n - 1 for n in names.values()) + sum(n - 1 for n in listed.values()),
        "retries": sum(r.retries for r in result.results),
    }


def soak(args: argparse.Namespace, root: Path) -> list[list[object]]:
    """Part 1: creates, then updates, through the failing emulator."""
    manifests = root / "soak"
    write_manifests(manifests, args.changes)
    faults = {
        "rate_429": args.rate / 2,
        "rate_503": args.rate / 2,
        "drop_rate": args.drop,
        "drop_mode": "random",
        "retry_after": args.retry_after,
        "seed": args.seed,
    }
    rows: list[list[object]] = []
    with emulator(root / "soak.db") as url:
        backend = AzureBackend(endpoint(url), environ={})
        try:
            for phase in ("create", "update"):
                if phase == "update":
                    _rewrite(manifests, "v2")
                reset_counters(url)
                set_faults(url, **faults)
                started = time.perf_counter()
                planned = _plan(manifests, backend)
                result = apply_plan(planned, backend, concurrency=args.concurrency)
                seconds = time.perf_counter() - started
                injected = sum(counters(url)["faults"].values())
                set_faults(url)
                counted = _count(result, manifests, backend)
                rows.append(
                    [phase, len(planned.pending), *counted.values(), injected, f"{seconds:.1f}"]
                )
        finally:
            backend.close()
    return rows


def _cli(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "AZURE_"))}
    env["NO_COLOR"] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _apply_args(manifests: Path, db: Path) -> list[str]:
    return [
        "apply", str(manifests), "--auto-approve", "--prune", "--max-deletes", "10000",
        "--stack", STACK, "--endpoint", f"local:{db}",
    ]  # fmt: skip


def _seed(root: Path, changes: int) -> tuple[Path, Path, set[str]]:
    """A project holding the old state plus routines nobody owns / another stack owns, and the
    new manifests: a third of ``changes`` each of creates, updates and deletes."""
    third = changes // 3
    old, new = root / "old", root / "new"
    write_manifests(old, 2 * third)
    write_manifests(new, 3 * third)
    for path in new.glob("*.yaml"):  # routines 0..third-1 are dropped from git: deletes
        text = path.read_text(encoding="utf-8")
        for index in range(third):
            text = text.replace(f"bench-routine-{index:05d}", f"gone-{index:05d}")
        path.write_text(text, encoding="utf-8")
    _rewrite(new, "changed")
    db = root / "seed.db"
    assert _cli(*_apply_args(old, db), cwd=root).wait(timeout=300) == 0
    backend = LocalBackend(str(db))
    foreign = set()
    for index in range(FOREIGN):
        for name, description in (
            (f"unowned-{index}", "made by hand"),
            (f"other-{index}", f"[managed-by=reconciler v=1 stack=other name=other-{index}]"),
        ):
            body = {**_wire(), "description": description}
            backend.create_or_update(name, body)
            foreign.add(name)
    backend.close()
    return db, new, foreign


def _wire() -> dict[str, Any]:
    return {
        "triggers": {"t": {"type": "timer", "at": 1_930_000_000}},
        "action": {"type": "invoke_agent_responses_api", "agent_name": "a"},
    }


def kills(args: argparse.Namespace, root: Path) -> list[list[object]]:
    """Part 2: kill -9 at random points of a 300-change apply, then re-run until it succeeds."""
    seed_db, manifests, foreign = _seed(root, args.kill_changes)
    probe = root / "probe.db"
    shutil.copy(seed_db, probe)
    started = time.perf_counter()
    assert _cli(*_apply_args(manifests, probe), cwd=root).wait(timeout=300) == 0
    full = time.perf_counter() - started
    chance = random.Random(args.seed)
    rows: list[list[object]] = []
    for point in range(args.kills):
        db = root / f"kill-{point}.db"
        shutil.copy(seed_db, db)
        at = chance.uniform(0.2, full)
        child = _cli(*_apply_args(manifests, db), cwd=root)
        time.sleep(at)
        child.send_signal(signal.SIGKILL)
        child.wait()
        reruns = 0
        while reruns < 5:
            reruns += 1
            if _cli(*_apply_args(manifests, db), cwd=root).wait(timeout=300) == 0:
                break
        rows.append([point + 1, f"{at:.2f}", *_after_kill(db, manifests, foreign), reruns])
    rows.append(["(uninterrupted)", f"{full:.2f}", "", "", "", 0])
    return rows


def _after_kill(db: Path, manifests: Path, foreign: set[str]) -> list[object]:
    backend = LocalBackend(str(db))
    try:
        converged = not _plan(manifests, backend, prune=True).pending
        names = {str(r["name"]) for r in backend.list_routines()}
    finally:
        backend.close()
    with sqlite3.connect(db) as conn:
        integrity = str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    return ["yes" if converged else "NO", len(foreign - names), integrity]


def main() -> None:
    """Parse arguments, run both parts, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=500, help="creates, then updates")
    parser.add_argument("--rate", type=float, default=0.3, help="share answered 429/503")
    parser.add_argument("--drop", type=float, default=0.05, help="share of dropped connections")
    parser.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds")
    parser.add_argument("--concurrency", type=int, default=16, help="apply concurrency")
    parser.add_argument("--kills", type=int, default=10, help="kill -9 points (0: skip)")
    parser.add_argument("--kill-changes", type=int, default=300, help="changes of that apply")
    parser.add_argument("--seed", type=int, default=9, help="fault and kill-point seed")
    add_schedule_flag(parser)
    add_markdown_flag(parser)
    args = parser.parse_args()
    use_repeated_schedules(args.repeated)
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        root = Path(tmp)
        rows = soak(args, root) if args.changes else []
        killed = kills(args, root) if args.kills else []
    columns = ["phase", "changes", "failed", "conflicts", "lost", "duplicated", "retries"]
    show(
        f"apply through the emulator: {args.rate:.0%} 429/503 (Retry-After {args.retry_after} s), "
        f"{args.drop:.0%} dropped connections before or after commit, concurrency "
        f"{args.concurrency}, product retry settings",
        [*columns, "faults injected", "wall s"],
        rows,
        markdown=args.markdown,
    )
    show(
        f"kill -9 during a {args.kill_changes}-change apply on the embedded project, then re-run",
        ["kill", "at s", "converged", "unowned deleted", "integrity_check", "reruns"],
        killed,
        markdown=args.markdown,
    )


if __name__ == "__main__":
    main()
