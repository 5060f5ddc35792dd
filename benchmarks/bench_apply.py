"""Apply k creates through the ``azure`` backend (the real SDK) to the emulator, with latency.

    python benchmarks/bench_apply.py [--changes 200] [--latency 50] [--concurrency 1,4,8,16]
                                     [--rate-429 0.1] [--throttled-concurrency 8]

The plan is the real one: k synthetic manifest routines planned against an empty project (k
creates). Each run gets a fresh emulator that sleeps ``--latency`` ms in every request, and
``reconciler.apply.apply_plan`` runs the plan at each concurrency; the table shows wall seconds,
throughput and the requests the emulator counted. The last row repeats the default concurrency
with ``--rate-429`` of the requests answered 429 with ``Retry-After: 0``: every change must still
succeed, through azure-core's RetryPolicy (docs/design.md, "Performance model"), and the
counters show how many retries that took. Retry settings are the product defaults
(``RECONCILER_RETRY_*`` unset). The emulator runs in a child process (``--in-process``: in this
one) with its clock frozen.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    NOW,
    STACK,
    add_markdown_flag,
    add_schedule_flag,
    counters,
    counts,
    emulator,
    endpoint,
    latencies,
    reset_counters,
    set_faults,
    show,
    timed,
    use_repeated_schedules,
    write_manifests,
)

from reconciler.app.engine import Settings, load_desired
from reconciler.apply import DEFAULT_CONCURRENCY, apply_plan
from reconciler.live.azure import AzureBackend
from reconciler.manifest.desired import to_desired
from reconciler.plan.model import Action, Plan
from reconciler.plan.options import PlanOptions
from reconciler.plan.planner import make_plan

PUT_ROUTE = "PUT /routines/{name}"


def creates(changes: int, root: Path) -> Plan:
    """The plan that creates ``changes`` synthetic routines in an empty project."""
    manifests = root / "manifests"
    write_manifests(manifests, changes)
    options = PlanOptions(stack=STACK, target="emulator")
    settings = Settings(paths=(str(manifests),), variables={}, now=NOW, options=options)
    loaded = load_desired(settings)
    assert loaded.ok, loaded.diagnostics[:3]
    plan = make_plan([to_desired(r) for r in loaded.routines], [], options)
    assert [c.action for c in plan.pending] == [Action.CREATE] * changes
    return plan


def run(
    plan: Plan, db: Path, concurrency: int, faults: dict[str, Any], in_process: bool
) -> list[object]:
    """Apply ``plan`` to a fresh emulator at ``concurrency``; one table row."""
    k = len(plan.pending)
    with emulator(db, in_process=in_process) as url:
        backend = AzureBackend(endpoint(url), environ={})
        try:
            backend.get("warm-up")  # open a connection and fetch the token outside the timing
            set_faults(url, **faults)
            reset_counters(url)
            seconds, result = timed(lambda: apply_plan(plan, backend, concurrency=concurrency))
            seen = counters(url)
            set_faults(url)
            listed = len(backend.list_routines())
        finally:
            backend.close()
    slowest = max(r.seconds for r in result.results)
    puts = int(seen["routes"].get(PUT_ROUTE, 0))
    throttled = int(seen["statuses"].get("429", 0))
    return [
        concurrency,
        faults.get("latency_ms", 0),
        f"{faults.get('rate_429', 0):.0%}",
        f"{result.count('ok')}/{k}",
        listed,
        puts,
        throttled,
        puts - k,
        f"{seconds:.2f}",
        f"{k / seconds:.1f}",
        f"{seconds / k * 1000 * concurrency:.0f}",
        f"{slowest:.2f}",
    ]


def main() -> None:
    """Parse arguments, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=200, help="k creates")
    parser.add_argument("--latency", type=int, default=50, help="ms injected per request")
    parser.add_argument("--concurrency", type=counts, default=[1, 4, 8, 16], help="levels")
    parser.add_argument("--rate-429", type=float, default=0.1, help="share answered 429 (0: skip)")
    parser.add_argument(
        "--throttled-concurrency", type=int, default=DEFAULT_CONCURRENCY, help="for the 429 run"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the emulator in this process (shares the GIL)",
    )
    add_schedule_flag(parser)
    add_markdown_flag(parser)
    args = parser.parse_args()
    use_repeated_schedules(args.repeated)
    latencies(str(args.latency))  # validates: >= 0
    started = time.perf_counter()
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as tmp:
        root = Path(tmp)
        plan = creates(args.changes, root)
        for number, concurrency in enumerate(args.concurrency):
            faults = {"latency_ms": args.latency}
            rows.append(run(plan, root / f"emu-{number}.db", concurrency, faults, args.in_process))
        if args.rate_429 > 0:
            faults = {
                "latency_ms": args.latency,
                "rate_429": args.rate_429,
                "retry_after": 0,
                "seed": 429,
            }
            rows.append(
                run(plan, root / "emu-429.db", args.throttled_concurrency, faults, args.in_process)
            )
    show(
        f"apply {args.changes} creates through the azure backend (a fresh emulator per row, "
        f"{'in this process' if args.in_process else 'child process'})",
        [
            "concurrency",
            "latency ms",
            "429 rate",
            "ok",
            "listed after",
            "PUTs",
            "429s",
            "retries",
            "wall s",
            "changes/s",
            "ms/change/worker",
            "slowest change s",
        ],
        rows,
        markdown=args.markdown,
    )
    print(f"(whole run: {time.perf_counter() - started:.0f} s including setup)")


if __name__ == "__main__":
    main()
