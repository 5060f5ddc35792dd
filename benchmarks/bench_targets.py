"""Measure every target of the performance issue, with growth tables over N.

    python benchmarks/bench_targets.py [--routines 1000,10000,50000] [--target-n 10000]
                                       [--repeat 3] [--latency 20] [--changes 1000]
                                       [--concurrency 16] [--only SECTIONS] [--quick]
                                       [--repeated] [--markdown]

Every measurement runs in a fresh child process, so one measurement's caches and heap never
leak into the next: ``python -m reconciler validate|plan`` for the CLI rows, this script's own
``--worker`` mode for the in-process rows, and ``python -m reconciler emulator`` (clock frozen)
as the service. A CLI child's wall time, CPU time (user + system) and peak RSS come from
``os.wait4`` of exactly that child (``ru_maxrss``, reported in MiB); a worker times its phase
with ``time.process_time()``; the emulator's CPU is ``utime + stime`` of ``/proc/PID/stat``
read before and after. Children run outside the repository (``python -m`` puts the current
directory first on ``sys.path``), so with ``PYTHONPATH=SNAPSHOT`` every child measures the
snapshot; the header prints the ``reconciler.__file__`` they import.

Bytecode: this machine sets ``PYTHONDONTWRITEBYTECODE=1``. Children run with it unset and with
``PYTHONPYCACHEPREFIX`` pointing at a private folder, filled by warm-up runs before anything is
timed, so every number is "with bytecode" (as an installed package has it); the one-file table
also shows the same command without bytecode (an empty prefix that is never written).

Sections (``--only``, comma-separated; all by default):

* ``growth``: for every N, the raw ``yaml.CSafeLoader`` parse of the manifest files (read +
  parse, CPU), load + validate + diff in process (``engine.load_desired``, then
  ``engine.plan`` against the live list read beforehand, untimed; CPU), ``reconciler validate``
  and ``reconciler plan --endpoint local:DB`` (wall, CPU, peak RSS). The local project holds
  the N routines, 1% of them edited out of band (their agent), so a plan has N/100 updates.
* ``list``: ``AzureBackend.list_routines`` of the N routines from the emulator (a copy of the
  same project), client CPU and wall at 0 ms (and at ``--latency`` for the target N), and the
  emulator's CPU per page.
* ``emulator``: ``reconciler plan --endpoint http://127.0.0.1:PORT/...`` at ``--latency`` ms per
  request (for N up to the target N; ``--emulator-all`` for every N).
* ``apply``: ``apply_plan`` of ``--changes`` creates through the azure backend at
  ``--concurrency``, ``--latency`` ms per request, each run against a fresh emulator: wall,
  client CPU per write (this worker's CPU during the apply / PUTs counted by the emulator) and
  emulator CPU per request.
* ``onefile``: ``reconciler validate one-file.yaml`` (one file of 50 routines) wall, with
  bytecode (after one warm-up run) and without.

Runs: the median of ``--repeat`` runs for N up to the target N, one run above it
(``--repeat-large``). The manifests are ``_common``'s (all-distinct schedules unless
``--repeated``). Machine load is reported: the load average, and the CPU that other processes
used while each section ran (``/proc/stat`` busy time minus this run's own CPU).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import (
    NOW,
    ROUTINES_PER_FILE,
    STACK,
    add_markdown_flag,
    add_schedule_flag,
    counters,
    counts,
    emulator_process,
    endpoint,
    pages,
    reset_counters,
    schedule_pairs,
    set_faults,
    show,
    use_repeated_schedules,
    write_manifests,
)

SCRIPT = Path(__file__).resolve()
SECTIONS = ("growth", "list", "emulator", "apply", "onefile")
DRIFT_SHARE = 0.01
DRIFTED_AGENT = "agent-edited-in-portal"
PUT_ROUTE = "PUT /routines/{name}"
LIST_ROUTE = "GET /routines"
MIB = 1024 * 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")
ONEFILE_RUNS = 5

# The limits.
LVD_LIMIT, LVD_STRETCH = 3.0, 2.0
PLAN_LIMIT = 1.2
WRITE_CPU_LIMIT_MS = 1.0
APPLY_LIMIT = 1.5
EMULATOR_CPU_LIMIT_MS = 1.0
LIST_LIMIT_S = 0.3
RSS_LIMITS_MB = {10_000: 120, 50_000: 400}
ONEFILE_LIMIT_S = 0.35


# --------------------------------------------------------------------------- child processes


@dataclass
class Child:
    """What one child process cost, from ``os.wait4``."""

    wall: float
    cpu: float
    peak_mb: float
    code: int
    out: str
    err: str


def run_child(
    command: Sequence[str], *, env: dict[str, str], cwd: Path, expect: Sequence[int] = (0,)
) -> Child:
    """Run ``command`` to completion; wall, CPU (user + system) and peak RSS of that child."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(command), cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        child = Child(
            wall,
            usage.ru_utime + usage.ru_stime,
            usage.ru_maxrss * 1024 / MIB,
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )
    if child.code not in expect:
        raise RuntimeError(
            f"{' '.join(command)} exited {child.code}:\n{child.out[-3000:]}\n{child.err[-3000:]}"
        )
    return child


def worker(kind: str, spec: dict[str, Any], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Run this script's ``--worker kind`` in a child; its JSON result plus the child's cost."""
    child = run_child(
        [sys.executable, str(SCRIPT), "--worker", kind, "--spec", json.dumps(spec)],
        env=env,
        cwd=cwd,
    )
    line = next(x for x in reversed(child.out.splitlines()) if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    result["child"] = {"wall": child.wall, "cpu": child.cpu, "peak_mb": child.peak_mb}
    return result


def reconciler_cli(*args: str) -> list[str]:
    """``python -m reconciler ARGS``."""
    return [sys.executable, "-m", "reconciler", *args]


def child_env(pycache: Path | None, *, bytecode: bool = True) -> dict[str, str]:
    """The environment of every child: no colour, bytecode in a private prefix (or none)."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if pycache is not None:
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def proc_cpu(pid: int) -> float:
    """``utime + stime`` of a running process (all its threads), in seconds."""
    text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def median(values: Sequence[float]) -> float:
    """The median (the middle run of an odd count)."""
    return float(statistics.median(values))


# --------------------------------------------------------------------------- machine load


def _busy_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the whole machine from /proc/stat."""
    first = Path("/proc/stat").read_text(encoding="ascii").splitlines()[0].split()[1:]
    values = [int(v) for v in first]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values[:8]) - idle, sum(values[:8])


def _own_cpu() -> float:
    """CPU seconds of this process and of every child waited for so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def wait_quiet(max_wait: float, threshold: float = 0.25) -> float:
    """Wait (up to ``max_wait`` s) until other processes use under ``threshold`` of one core
    over one second; returns the last sample (cores busy)."""
    deadline = time.monotonic() + max_wait
    while True:
        busy0, _ = _busy_jiffies()
        time.sleep(1.0)
        busy1, _ = _busy_jiffies()
        cores = (busy1 - busy0) / CLK_TCK
        if cores < threshold or time.monotonic() >= deadline:
            return cores
        time.sleep(2.0)


@dataclass
class Conditions:
    """Per section: seconds, our CPU, the other processes' CPU, load average at the end."""

    rows: list[list[object]] = field(default_factory=list)

    @contextmanager
    def section(self, name: str, quiet_wait: float) -> Iterator[None]:
        """Measure what else ran on the machine while ``name`` ran."""
        before_quiet = wait_quiet(quiet_wait) if quiet_wait > 0 else float("nan")
        busy0, _ = _busy_jiffies()
        own0 = _own_cpu()
        start = time.perf_counter()
        yield
        seconds = time.perf_counter() - start
        busy1, _ = _busy_jiffies()
        own = _own_cpu() - own0
        others = max(0.0, (busy1 - busy0) / CLK_TCK - own)
        self.rows.append(
            [
                name,
                f"{seconds:.0f}",
                f"{own:.1f}",
                f"{others:.1f}",
                f"{others / seconds:.0%}" if seconds else "-",
                f"{before_quiet:.0%}" if not math.isnan(before_quiet) else "-",
                " ".join(Path("/proc/loadavg").read_text(encoding="ascii").split()[:3]),
            ]
        )


# --------------------------------------------------------------------------- workers


def _settings(manifests: str, target: str) -> Any:
    from reconciler.app.engine import Settings  # noqa: PLC0415
    from reconciler.plan.options import PlanOptions  # noqa: PLC0415

    options = PlanOptions(stack=STACK, target=target)
    return Settings(paths=(manifests,), variables={}, now=NOW, options=options)


class _FrozenClock:
    """The store's clock pinned to ``NOW``: the fill's cron checks hit the cache the load
    filled (same hour), so filling costs the SQLite writes, not a second year-scan each."""

    def now(self) -> float:
        return float(NOW)


def work_fill(spec: dict[str, Any]) -> dict[str, Any]:
    """Create the manifests' routines in a local project, then edit 1% of them (their agent)."""
    from reconciler.app.engine import load_desired  # noqa: PLC0415
    from reconciler.live.local import PROJECT  # noqa: PLC0415
    from reconciler.manifest.desired import to_desired  # noqa: PLC0415
    from reconciler.plan.planner import make_plan  # noqa: PLC0415
    from reconciler.service.store import RoutineStore  # noqa: PLC0415

    settings = _settings(spec["manifests"], f"local:{spec['db']}")
    loaded = load_desired(settings)
    assert loaded.ok, loaded.diagnostics[:3]
    creates = make_plan([to_desired(r) for r in loaded.routines], [], settings.options).pending
    assert len(creates) == spec["count"], (len(creates), spec["count"])
    store = RoutineStore(spec["db"], clock=_FrozenClock())
    try:
        for change in creates:
            store.put(PROJECT, change.name, change.body or {})
        drifted = 0
        step = max(1, round(1 / DRIFT_SHARE))
        for change in creates[::step]:
            body = copy.deepcopy(change.body or {})
            body["action"]["agent_name"] = DRIFTED_AGENT
            store.put(PROJECT, change.name, body)
            drifted += 1
    finally:
        store.close()
    return {"count": len(creates), "drifted": drifted}


def work_parse(spec: dict[str, Any]) -> dict[str, Any]:
    """CPU of reading + ``yaml.load(text, CSafeLoader)`` of every manifest file, per run."""
    import yaml  # noqa: PLC0415

    files = sorted(Path(spec["manifests"]).glob("*.yaml"))
    cpu: list[float] = []
    for _ in range(spec["repeat"]):
        start = time.process_time()
        for path in files:
            yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        cpu.append(time.process_time() - start)
    return {"cpu": cpu, "files": len(files)}


class _Listed:
    """A backend whose list is the one read before the timing started."""

    def __init__(self, routines: list[dict[str, Any]], target: str) -> None:
        self.routines = routines
        self.target = target

    def list_routines(self) -> list[dict[str, Any]]:
        return self.routines


def work_lvd(spec: dict[str, Any]) -> dict[str, Any]:
    """load + validate (``load_desired``), then diff (``engine.plan`` on a list read untimed)."""
    from reconciler.app.engine import load_desired, plan  # noqa: PLC0415
    from reconciler.live.local import LocalBackend  # noqa: PLC0415
    from reconciler.plan.model import Action  # noqa: PLC0415

    settings = _settings(spec["manifests"], f"local:{spec['db']}")
    start = time.process_time()
    loaded = load_desired(settings)
    load_cpu = time.process_time() - start
    assert loaded.ok, loaded.diagnostics[:3]
    backend = LocalBackend(spec["db"], read_only=True)
    try:
        live = backend.list_routines()
    finally:
        backend.close()
    start = time.process_time()
    result = plan(settings, loaded, _Listed(live, settings.options.target))  # type: ignore[arg-type]
    diff_cpu = time.process_time() - start
    updates = sum(1 for c in result.changes if c.action is Action.UPDATE)
    assert updates == spec["drifted"] == len(result.pending), (updates, spec["drifted"])
    return {"load_cpu": load_cpu, "diff_cpu": diff_cpu, "routines": len(loaded.routines)}


def work_list(spec: dict[str, Any]) -> dict[str, Any]:
    """``AzureBackend.list_routines`` against a running emulator: client CPU and wall per read,
    emulator CPU and requests per read, for each latency."""
    from reconciler.live.azure import AzureBackend  # noqa: PLC0415

    url, pid = spec["url"], spec["pid"]
    backend = AzureBackend(endpoint(url), environ={})
    out: dict[str, Any] = {}
    try:
        backend.get("warm-up")  # open the connection outside the timing
        for latency in spec["latencies"]:
            set_faults(url, latency_ms=latency)
            runs = []
            for _ in range(spec["repeat"]):
                reset_counters(url)
                emu0, cpu0, wall0 = proc_cpu(pid), time.process_time(), time.perf_counter()
                found = backend.list_routines()
                wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
                emu = proc_cpu(pid) - emu0
                seen = counters(url)
                assert len(found) == spec["count"], (len(found), spec["count"])
                del found
                calls = int(seen["routes"].get(LIST_ROUTE, 0))
                runs.append({"wall": wall, "cpu": cpu, "emu": emu, "calls": calls})
            out[str(latency)] = runs
        set_faults(url)
    finally:
        backend.close()
    return out


def work_apply(spec: dict[str, Any]) -> dict[str, Any]:
    """``apply_plan`` of k creates through the azure backend to an empty emulator."""
    from reconciler.app.engine import load_desired  # noqa: PLC0415
    from reconciler.apply import apply_plan  # noqa: PLC0415
    from reconciler.live.azure import AzureBackend  # noqa: PLC0415
    from reconciler.manifest.desired import to_desired  # noqa: PLC0415
    from reconciler.plan.planner import make_plan  # noqa: PLC0415

    url, pid = spec["url"], spec["pid"]
    settings = _settings(spec["manifests"], "emulator")
    loaded = load_desired(settings)
    assert loaded.ok, loaded.diagnostics[:3]
    planned = make_plan([to_desired(r) for r in loaded.routines], [], settings.options)
    assert len(planned.pending) == spec["changes"]
    backend = AzureBackend(endpoint(url), environ={})
    try:
        backend.get("warm-up")  # open a connection and fetch the token outside the timing
        set_faults(url, latency_ms=spec["latency"])
        reset_counters(url)
        emu0, cpu0, wall0 = proc_cpu(pid), time.process_time(), time.perf_counter()
        result = apply_plan(planned, backend, concurrency=spec["concurrency"])
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        emu = proc_cpu(pid) - emu0
        seen = counters(url)
        set_faults(url)
    finally:
        backend.close()
    return {
        "wall": wall,
        "cpu": cpu,
        "emu": emu,
        "ok": result.count("ok"),
        "puts": int(seen["routes"].get(PUT_ROUTE, 0)),
        "requests": int(seen["total"]),
        "routes": seen["routes"],
    }


def work_imports(_spec: dict[str, Any]) -> dict[str, Any]:
    """Import what the other workers and children import (warms the bytecode prefix)."""
    import reconciler  # noqa: PLC0415
    import reconciler.app.engine  # noqa: PLC0415
    import reconciler.apply  # noqa: PLC0415
    import reconciler.cli.main  # noqa: PLC0415
    import reconciler.emulator.server  # noqa: PLC0415
    import reconciler.live.azure  # noqa: PLC0415
    import reconciler.live.local  # noqa: PLC0415

    return {"file": reconciler.__file__}


WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "fill": work_fill,
    "parse": work_parse,
    "lvd": work_lvd,
    "list": work_list,
    "apply": work_apply,
    "imports": work_imports,
}


def run_worker(kind: str, spec_text: str) -> None:
    """``--worker``: run one measurement and print its JSON result."""
    result = WORKERS[kind](json.loads(spec_text))
    import reconciler  # noqa: PLC0415

    result["reconciler"] = reconciler.__file__
    result["self_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MIB
    print("RESULT " + json.dumps(result))


# --------------------------------------------------------------------------- the measurements


@dataclass
class Run:
    """Arguments and shared state of one benchmark run."""

    args: argparse.Namespace
    root: Path
    env: dict[str, str]
    results: dict[str, Any] = field(default_factory=dict)

    def reps(self, count: int) -> int:
        """Runs for N: ``--repeat`` up to the target N, ``--repeat-large`` above."""
        return self.args.repeat if count <= self.args.target_n else self.args.repeat_large

    def manifests(self, count: int) -> Path:
        return self.root / f"n{count}" / "manifests"

    def db(self, count: int) -> Path:
        return self.root / f"n{count}" / "project.db"


def prepare(run: Run) -> None:
    """Manifests and filled local projects for every N (in parallel: nothing here is timed)."""
    for count in run.args.routines:
        write_manifests(run.manifests(count), count)
        pairs = schedule_pairs(count)
        run.results.setdefault("pairs", {})[count] = (len(pairs), len(set(pairs)))
    one = run.root / "one"
    one.mkdir()
    shutil.copy(
        sorted(run.manifests(min(run.args.routines)).glob("*.yaml"))[0], one / "one-file.yaml"
    )
    if {"growth", "list", "emulator"} & run.args.only:

        def fill(count: int) -> dict[str, Any]:
            spec = {
                "manifests": str(run.manifests(count)),
                "db": str(run.db(count)),
                "count": count,
            }
            return worker("fill", spec, run.env, run.root)

        with ThreadPoolExecutor(max_workers=2) as pool:
            filled = dict(zip(run.args.routines, pool.map(fill, run.args.routines), strict=True))
        run.results["drifted"] = {n: r["drifted"] for n, r in filled.items()}
    # Warm the bytecode prefix: every module the timed children import is compiled here.
    run.results["imports"] = worker("imports", {}, run.env, run.root)["reconciler"]
    run_child(reconciler_cli("validate", str(one / "one-file.yaml")), env=run.env, cwd=run.root)
    run_child(reconciler_cli("plan", "--help"), env=run.env, cwd=run.root)


def measure_growth(run: Run, count: int) -> dict[str, Any]:
    """parse, load+validate+diff, validate CLI and plan CLI (local) for ``count`` routines."""
    reps = run.reps(count)
    manifests, db = str(run.manifests(count)), str(run.db(count))
    drifted = run.results["drifted"][count]
    parse = worker("parse", {"manifests": manifests, "repeat": max(3, reps)}, run.env, run.root)
    lvd = [
        worker("lvd", {"manifests": manifests, "db": db, "drifted": drifted}, run.env, run.root)
        for _ in range(reps)
    ]
    validate = [
        run_child(reconciler_cli("validate", manifests), env=run.env, cwd=run.root)
        for _ in range(reps)
    ]
    plan_args = ["plan", manifests, "--endpoint", f"local:{db}", "--stack", STACK]
    plans = [
        run_child(
            reconciler_cli(*plan_args, "--detailed-exitcode"),
            env=run.env,
            cwd=run.root,
            expect=(2,),
        )
        for _ in range(reps)
    ]
    assert f"0 to create, {drifted} to update" in plans[0].out, plans[0].out[-2000:]
    return {
        "reps": reps,
        "parse_cpu": median(parse["cpu"]),
        "load_cpu": median([r["load_cpu"] for r in lvd]),
        "diff_cpu": median([r["diff_cpu"] for r in lvd]),
        "lvd_cpu": median([r["load_cpu"] + r["diff_cpu"] for r in lvd]),
        "validate": _child_medians(validate),
        "plan_local": _child_medians(plans),
    }


def _child_medians(children: Sequence[Child]) -> dict[str, float]:
    return {
        "wall": median([c.wall for c in children]),
        "cpu": median([c.cpu for c in children]),
        "peak_mb": median([c.peak_mb for c in children]),
        "peak_max_mb": max(c.peak_mb for c in children),
    }


def copy_project(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite project (the emulator gets its own file)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def measure_remote(run: Run, count: int) -> dict[str, Any]:
    """list through the azure backend, and plan through the emulator, for ``count`` routines."""
    args = run.args
    reps = run.reps(count)
    db = run.root / f"n{count}" / "emulator.db"
    copy_project(run.db(count), db)
    out: dict[str, Any] = {}
    with emulator_process(db) as (url, pid):
        if "list" in args.only:
            latencies = [0, args.latency] if count == args.target_n else [0]
            spec = {
                "url": url,
                "pid": pid,
                "count": count,
                "latencies": latencies,
                "repeat": max(3, reps) if count <= args.target_n else reps,
            }
            out["list"] = worker("list", spec, run.env, run.root)
        if "emulator" in args.only and (count <= args.target_n or args.emulator_all):
            set_faults(url, latency_ms=args.latency)
            command = reconciler_cli(
                "plan",
                str(run.manifests(count)),
                "--endpoint",
                endpoint(url),
                "--stack",
                STACK,
                "--detailed-exitcode",
            )
            plans = []
            for _ in range(reps):
                reset_counters(url)
                plans.append(run_child(command, env=run.env, cwd=run.root, expect=(2,)))
                calls = counters(url)["routes"].get(LIST_ROUTE, 0)
                assert calls == pages(count), (calls, pages(count))
            set_faults(url)
            out["plan_emulator"] = _child_medians(plans)
    return out


def measure_apply(run: Run) -> dict[str, Any]:
    """``--repeat`` applies of ``--changes`` creates, each against a fresh emulator."""
    args = run.args
    folder = run.root / "apply"
    write_manifests(folder / "manifests", args.changes)
    runs = []
    for number in range(max(1, args.repeat)):
        with emulator_process(folder / f"emu-{number}.db") as (url, pid):
            spec = {
                "url": url,
                "pid": pid,
                "manifests": str(folder / "manifests"),
                "changes": args.changes,
                "latency": args.latency,
                "concurrency": args.concurrency,
            }
            result = worker("apply", spec, run.env, run.root)
        assert result["ok"] == args.changes, result
        runs.append(result)
    return {
        "runs": runs,
        "wall": median([r["wall"] for r in runs]),
        "cpu_per_write_ms": median([r["cpu"] / r["puts"] * 1000 for r in runs]),
        "emu_per_request_ms": median([r["emu"] / r["requests"] * 1000 for r in runs]),
        "puts": median([r["puts"] for r in runs]),
        "requests": median([r["requests"] for r in runs]),
        "routes": runs[0]["routes"],
    }


def measure_onefile(run: Run) -> dict[str, Any]:
    """``reconciler validate one-file.yaml``: with bytecode (one warm-up, then the median of 5)
    and without (an empty, never-written bytecode prefix; median of 3)."""
    command = reconciler_cli("validate", str(run.root / "one" / "one-file.yaml"))
    run_child(command, env=run.env, cwd=run.root)  # warm-up
    warm = [run_child(command, env=run.env, cwd=run.root) for _ in range(ONEFILE_RUNS)]
    cold_env = child_env(run.root / "no-pycache", bytecode=False)
    cold = [run_child(command, env=cold_env, cwd=run.root) for _ in range(3)]
    version = [
        run_child(reconciler_cli("--version"), env=run.env, cwd=run.root)
        for _ in range(ONEFILE_RUNS)
    ]
    return {
        "warm": _child_medians(warm),
        "warm_all": [c.wall for c in warm],
        "cold": _child_medians(cold),
        "version": _child_medians(version),
    }


# --------------------------------------------------------------------------- tables


def verdict(passed: bool | None) -> str:
    """pass / FAIL / - (not measured)."""
    return "-" if passed is None else ("pass" if passed else "FAIL")


def _mb(value: float) -> str:
    return f"{value:.0f}"


def growth_tables(run: Run, markdown: bool) -> None:
    """Time and peak memory over N."""
    growth = run.results.get("growth", {})
    remote = run.results.get("remote", {})
    time_rows, memory_rows = [], []
    for count in run.args.routines:
        pairs = run.results["pairs"][count]
        g, r = growth.get(count), remote.get(count, {})
        listed = _list_summary(r.get("list"), 0)
        pe = r.get("plan_emulator")
        if g is not None:
            time_rows.append(
                [
                    count,
                    f"{pairs[0]} / {pairs[1]}",
                    g["reps"],
                    f"{g['parse_cpu']:.2f}",
                    f"{g['load_cpu']:.2f} + {g['diff_cpu']:.2f} = {g['lvd_cpu']:.2f}",
                    f"{g['lvd_cpu'] / g['parse_cpu']:.1f}x",
                    f"{g['lvd_cpu'] / count * 1e6:.0f}",
                    f"{g['validate']['wall']:.2f} / {g['validate']['cpu']:.2f}",
                    f"{g['plan_local']['wall']:.2f} / {g['plan_local']['cpu']:.2f}",
                    "-" if listed is None else f"{listed['cpu']:.2f} / {listed['wall']:.2f}",
                    "-" if pe is None else f"{pe['wall']:.2f} / {pe['cpu']:.2f}",
                ]
            )
            memory_rows.append(
                [
                    count,
                    _mb(g["validate"]["peak_mb"]),
                    _mb(g["plan_local"]["peak_mb"]),
                    f"{g['plan_local']['peak_mb'] * MIB / count / 1024:.1f}",
                    "-" if pe is None else _mb(pe["peak_mb"]),
                ]
            )
    if time_rows:
        show(
            "growth: time (seconds; CPU = user + system; median of 'runs')",
            [
                "N",
                "schedules / distinct (cron, zone)",
                "runs",
                "CSafeLoader parse CPU",
                "load + diff = load+validate+diff CPU",
                "lvd / parse",
                "lvd µs/routine",
                "validate CLI wall / CPU",
                "plan CLI local wall / CPU",
                "list 0 ms client CPU / wall",
                f"plan CLI emulator @{run.args.latency} ms wall / CPU",
            ],
            time_rows,
            markdown=markdown,
        )
        show(
            "growth: peak RSS (MiB, ru_maxrss of the child; median of 'runs')",
            [
                "N",
                "validate CLI",
                "plan CLI local",
                "plan local KiB/routine",
                f"plan CLI emulator @{run.args.latency} ms",
            ],
            memory_rows,
            markdown=markdown,
        )


def _list_summary(result: dict[str, Any] | None, latency: int) -> dict[str, float] | None:
    if result is None or str(latency) not in result:
        return None
    runs = result[str(latency)]
    return {
        "cpu": median([x["cpu"] for x in runs]),
        "wall": median([x["wall"] for x in runs]),
        "emu_per_call_ms": median([x["emu"] / x["calls"] * 1000 for x in runs]),
        "calls": runs[0]["calls"],
        "runs": len(runs),
    }


def target_tables(run: Run, markdown: bool) -> list[list[object]]:
    """One table per target; returns the summary rows."""
    summary: list[list[object]] = []
    for table in (_lvd_target, _plan_target, _apply_target, _list_target, _rss_target, _one_target):
        summary += table(run, markdown)
    return summary


def _lvd_target(run: Run, markdown: bool) -> list[list[object]]:
    growth = run.results.get("growth", {})
    rows, summary = [], []
    for count, g in growth.items():
        for what, cpu, wall in (
            ("load+validate+diff (in process)", g["lvd_cpu"], None),
            ("reconciler validate (CLI)", g["validate"]["cpu"], g["validate"]["wall"]),
        ):
            ratio = cpu / g["parse_cpu"]
            is_target = count == run.args.target_n
            passed = ratio <= LVD_LIMIT if is_target else None
            stretch = ratio <= LVD_STRETCH if is_target else None
            wall_text = "" if wall is None else f" (wall {wall:.2f}, {wall / g['parse_cpu']:.1f}x)"
            rows.append(
                [
                    count,
                    what,
                    f"{cpu:.2f}{wall_text}",
                    f"{g['parse_cpu']:.2f}",
                    f"{ratio:.1f}x",
                    f"<= {LVD_LIMIT:.0f}x (stretch {LVD_STRETCH:.0f}x)",
                    f"{verdict(passed)} / stretch {verdict(stretch)}" if is_target else "info",
                ]
            )
            if is_target:
                summary.append(
                    [
                        f"{what}, N={count}, CPU vs CSafeLoader parse",
                        f"<= {LVD_LIMIT:.0f}x (2x)",
                        f"{cpu:.2f} s / {g['parse_cpu']:.2f} s",
                        f"{ratio:.1f}x",
                        verdict(passed),
                    ]
                )
    if rows:
        show(
            "target: load + validate + diff (and reconciler validate) <= 3x the raw "
            "yaml.CSafeLoader parse of the same files (CPU s)",
            ["N", "what", "CPU s", "parse CPU s", "ratio", "target", "verdict"],
            rows,
            markdown=markdown,
            left=2,
        )
    return summary


def _plan_target(run: Run, markdown: bool) -> list[list[object]]:
    remote = run.results.get("remote", {})
    latency = run.args.latency
    rows, summary = [], []
    for count, r in remote.items():
        pe = r.get("plan_emulator")
        if pe is None:
            continue
        floor = pages(count) * latency / 1000
        bound = max(floor, pe["cpu"])
        ratio = pe["wall"] / bound
        is_target = count == run.args.target_n
        passed = ratio <= PLAN_LIMIT if is_target else None
        listed = _list_summary(r.get("list"), latency)
        rows.append(
            [
                count,
                f"{pe['wall']:.2f}",
                f"{floor:.2f}",
                f"{pe['cpu']:.2f}",
                "-" if listed is None else f"{listed['wall']:.2f}",
                f"{ratio:.2f}",
                f"<= {PLAN_LIMIT}",
                verdict(passed) if is_target else "info",
            ]
        )
        if is_target:
            summary.append(
                [
                    f"plan wall through the emulator, N={count}, {latency} ms",
                    f"<= {PLAN_LIMIT} x max(list floor, CPU)",
                    f"{pe['wall']:.2f} s (floor {floor:.2f}, CPU {pe['cpu']:.2f})",
                    f"{ratio:.2f}",
                    verdict(passed),
                ]
            )
    if rows:
        show(
            f"target: reconciler plan wall through the emulator at {latency} ms <= {PLAN_LIMIT} x "
            "max(list floor, local CPU); list floor = ceil(N/100) x latency",
            [
                "N",
                "plan wall s",
                "list floor s",
                "plan CPU s",
                "list alone wall s",
                "wall / max(floor, CPU)",
                "target",
                "verdict",
            ],
            rows,
            markdown=markdown,
        )
    return summary


def _apply_target(run: Run, markdown: bool) -> list[list[object]]:
    applied = run.results.get("apply")
    if applied is None:
        return []
    args = run.args
    floor = math.ceil(args.changes / args.concurrency) * 2 * args.latency / 1000
    cases = [
        (
            "client CPU per write (ms)",
            f"{applied['cpu_per_write_ms']:.2f}",
            f"<= {WRITE_CPU_LIMIT_MS}",
            applied["cpu_per_write_ms"] / WRITE_CPU_LIMIT_MS,
        ),
        (
            f"apply wall (s), floor ceil({args.changes}/{args.concurrency}) x 2 x {args.latency} "
            f"ms = {floor:.2f} s",
            f"{applied['wall']:.2f}",
            f"<= {APPLY_LIMIT} x floor = {APPLY_LIMIT * floor:.2f}",
            applied["wall"] / floor / APPLY_LIMIT,
        ),
        (
            "emulator CPU per request (ms)",
            f"{applied['emu_per_request_ms']:.2f}",
            f"<= {EMULATOR_CPU_LIMIT_MS}",
            applied["emu_per_request_ms"] / EMULATOR_CPU_LIMIT_MS,
        ),
    ]
    rows = [
        [what, value, limit, f"{ratio:.2f}", verdict(ratio <= 1)]
        for what, value, limit, ratio in cases
    ]
    show(
        f"target: apply {args.changes} creates through the azure backend, concurrency "
        f"{args.concurrency}, {args.latency} ms per request (median of {len(applied['runs'])} "
        f"runs, a fresh emulator each; {applied['puts']:.0f} PUTs, {applied['requests']:.0f} "
        f"requests: {json.dumps(applied['routes'])})",
        ["what", "measured", "target", "measured / target", "verdict"],
        rows,
        markdown=markdown,
    )
    where = f"{args.changes} creates, conc {args.concurrency}, {args.latency} ms"
    return [[f"{row[0]}, {where}", row[2], row[1], row[3], row[4]] for row in rows]


def _list_target(run: Run, markdown: bool) -> list[list[object]]:
    remote = run.results.get("remote", {})
    rows, summary = [], []
    for count, r in remote.items():
        for latency in sorted({0, run.args.latency}):
            listed = _list_summary(r.get("list"), latency)
            if listed is None:
                continue
            is_target = count == run.args.target_n and latency == 0
            scaled = LIST_LIMIT_S * count / 10_000
            passed = listed["cpu"] <= scaled if is_target else None
            rows.append(
                [
                    count,
                    latency,
                    listed["calls"],
                    listed["runs"],
                    f"{listed['cpu']:.3f}",
                    f"{listed['wall']:.3f}",
                    f"{listed['emu_per_call_ms']:.1f}",
                    f"<= {LIST_LIMIT_S} at 10,000 ({scaled:.3f} pro rata)",
                    f"{listed['cpu'] / scaled:.2f}",
                    verdict(passed) if is_target else "info",
                ]
            )
            if is_target:
                summary.append(
                    [
                        f"list deserialisation (client CPU of list_routines), N={count}",
                        f"<= {scaled:.3f} s",
                        f"{listed['cpu']:.3f} s",
                        f"{listed['cpu'] / scaled:.2f}",
                        verdict(passed),
                    ]
                )
    if rows:
        show(
            "target: list deserialisation <= 0.3 s for 10,000 routines (client CPU of "
            "AzureBackend.list_routines against the emulator; median)",
            [
                "N",
                "latency ms",
                "list calls",
                "runs",
                "client CPU s",
                "wall s",
                "emulator CPU ms/page",
                "target",
                "CPU / target",
                "verdict",
            ],
            rows,
            markdown=markdown,
        )
    return summary


def _rss_target(run: Run, markdown: bool) -> list[list[object]]:
    growth = run.results.get("growth", {})
    rows, summary = [], []
    for count, g in growth.items():
        limit = RSS_LIMITS_MB.get(count)
        peak = g["plan_local"]["peak_mb"]
        passed = None if limit is None else peak <= limit
        rows.append(
            [
                count,
                _mb(peak),
                _mb(g["plan_local"]["peak_max_mb"]),
                "-" if limit is None else f"<= {limit}",
                "-" if limit is None else f"{peak / limit:.2f}",
                verdict(passed) if limit else "info",
            ]
        )
        if limit is not None:
            summary.append(
                [
                    f"peak RSS of reconciler plan (local project), N={count}",
                    f"<= {limit} MiB",
                    f"{peak:.0f} MiB",
                    f"{peak / limit:.2f}",
                    verdict(passed),
                ]
            )
    for count in RSS_LIMITS_MB:
        if count not in growth:
            summary.append(
                [f"peak RSS of reconciler plan (local project), N={count}", "", "not run", "", "-"]
            )
    if rows:
        show(
            "target: peak RSS of `reconciler plan DIR --endpoint local:DB` (MiB, ru_maxrss; the "
            "project holds the N routines)",
            ["N", "median MiB", "max MiB", "target MiB", "ratio", "verdict"],
            rows,
            markdown=markdown,
        )
    return summary


def _one_target(run: Run, markdown: bool) -> list[list[object]]:
    one = run.results.get("onefile")
    if one is None:
        return []
    warm, cold, version = one["warm"], one["cold"], one["version"]
    ratio = warm["wall"] / ONEFILE_LIMIT_S
    rows = [
        [
            "with bytecode (after one warm-up run)",
            f"{warm['wall']:.3f}",
            f"{warm['cpu']:.3f}",
            _mb(warm["peak_mb"]),
            f"<= {ONEFILE_LIMIT_S}",
            f"{ratio:.2f}",
            verdict(ratio <= 1),
        ],
        [
            "without bytecode (empty pycache prefix, never written)",
            f"{cold['wall']:.3f}",
            f"{cold['cpu']:.3f}",
            _mb(cold["peak_mb"]),
            "-",
            "-",
            "info",
        ],
        [
            "`reconciler --version`, with bytecode",
            f"{version['wall']:.3f}",
            f"{version['cpu']:.3f}",
            _mb(version["peak_mb"]),
            "-",
            "-",
            "info",
        ],
    ]
    show(
        f"target: `reconciler validate one-file.yaml` ({ROUTINES_PER_FILE} routines) <= "
        f"{ONEFILE_LIMIT_S} s wall with bytecode (median of {ONEFILE_RUNS}; "
        f"PYTHONDONTWRITEBYTECODE unset; runs: "
        f"{', '.join(f'{w:.3f}' for w in one['warm_all'])})",
        ["run", "wall s", "CPU s", "peak MiB", "target s", "ratio", "verdict"],
        rows,
        markdown=markdown,
    )
    return [
        [
            "reconciler validate one-file.yaml, wall with bytecode",
            f"<= {ONEFILE_LIMIT_S} s",
            f"{warm['wall']:.3f} s (no bytecode {cold['wall']:.3f} s)",
            f"{ratio:.2f}",
            verdict(ratio <= 1),
        ]
    ]


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Sections: " + ", ".join(SECTIONS) + ". See the module docstring for details.",
    )
    parser.add_argument(
        "--routines", type=counts, default=None, help="N values (default 1000,10000,50000)"
    )
    parser.add_argument(
        "--target-n", type=int, default=None, help="N the targets are judged at (10000)"
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="runs per measurement up to the target N (3)"
    )
    parser.add_argument("--repeat-large", type=int, default=1, help="runs above the target N (1)")
    parser.add_argument("--latency", type=int, default=20, help="ms per emulator request (20)")
    parser.add_argument("--changes", type=int, default=None, help="creates in the apply run (1000)")
    parser.add_argument("--concurrency", type=int, default=16, help="apply concurrency (16)")
    parser.add_argument(
        "--only",
        type=lambda text: set(text.split(",")),
        default=set(SECTIONS),
        help=f"comma-separated sections to run ({','.join(SECTIONS)})",
    )
    parser.add_argument(
        "--emulator-all",
        action="store_true",
        help="plan through the emulator above the target N too",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: N 200,1000,2000, targets at 1000, 200 creates, 1 run each",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=30.0,
        help="before each section, wait up to this many s for other processes to use under 25%% "
        "of one core (0: do not wait)",
    )
    parser.add_argument("--tmp", default=None, help="work folder (default: /dev/shm when present)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    add_schedule_flag(parser)
    add_markdown_flag(parser)
    args = parser.parse_args()
    unknown = args.only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    quick = args.quick
    if args.routines is None:
        args.routines = [200, 1000, 2000] if quick else [1000, 10_000, 50_000]
    args.routines = sorted(set(args.routines))
    if args.target_n is None:
        args.target_n = 1000 if quick else 10_000
    if args.repeat is None:
        args.repeat = 1 if quick else 3
    if args.changes is None:
        args.changes = 200 if quick else 1000
    return args


def header(run: Run) -> None:
    """What is measured, and on what."""
    args = run.args
    print(
        f"bench_targets: reconciler from {run.results['imports']}; "
        f"Python {sys.version.split()[0]}; {os.cpu_count()} CPUs; "
        f"load average at start {run.results['load_start']}"
    )
    schedules = "repeated (5 crons x 4 zones)" if args.repeated else "all-distinct"
    print(
        f"N = {', '.join(map(str, args.routines))}; targets judged at N = {args.target_n}; "
        f"runs per measurement: {args.repeat} (N <= {args.target_n}), {args.repeat_large} above; "
        f"schedules {schedules}; latency {args.latency} ms; work folder {run.root}"
    )
    print()


def main() -> None:
    """Parse arguments, measure, print the tables."""
    args = parse_args()
    if args.worker:
        run_worker(args.worker, args.spec)
        return
    use_repeated_schedules(args.repeated)
    started = time.perf_counter()
    base = args.tmp or ("/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
    conditions = Conditions()
    with tempfile.TemporaryDirectory(prefix="bench-targets-", dir=base) as tmp:
        root = Path(tmp)
        run = Run(args, root, child_env(root / "pycache"))
        run.results["load_start"] = " ".join(
            Path("/proc/loadavg").read_text(encoding="ascii").split()[:3]
        )
        with conditions.section("setup (manifests, fill, warm-up; not timed)", 0):
            prepare(run)
        if "growth" in args.only:
            for count in args.routines:
                with conditions.section(f"growth N={count}", args.quiet_wait):
                    run.results.setdefault("growth", {})[count] = measure_growth(run, count)
        if {"list", "emulator"} & args.only:
            for count in args.routines:
                with conditions.section(f"list/emulator N={count}", args.quiet_wait):
                    run.results.setdefault("remote", {})[count] = measure_remote(run, count)
        if "apply" in args.only:
            with conditions.section("apply", args.quiet_wait):
                run.results["apply"] = measure_apply(run)
        if "onefile" in args.only:
            with conditions.section("one file", args.quiet_wait):
                run.results["onefile"] = measure_onefile(run)
        header(run)
        growth_tables(run, args.markdown)
        summary = target_tables(run, args.markdown)
    show(
        "summary: every target",
        ["target", "limit", "measured", "ratio", "verdict"],
        summary,
        markdown=args.markdown,
    )
    show(
        "measurement conditions (CPU seconds; 'others' = /proc/stat busy time minus this run's)",
        [
            "section",
            "s",
            "own CPU",
            "others CPU",
            "others / wall",
            "others before start",
            "loadavg at end",
        ],
        conditions.rows,
        markdown=args.markdown,
    )
    print(f"(whole run: {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
