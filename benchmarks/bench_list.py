"""Read live state through the ``azure`` backend (the real SDK) from the emulator.

    python benchmarks/bench_list.py [--routines 250,1000,2500] [--latency 0,50] [--repeat 3]

For each N a fresh emulator project is filled with N routines (through ``LocalBackend`` on the
same SQLite file, before the emulator starts: setup is not what is measured; triggers rotate
schedule/timer/github_issue/custom), then
``AzureBackend.list_routines`` reads them all with the emulator injecting each latency (ms per
request). The emulator's counters give the list calls each read made: docs/design.md
("Performance model") says ``ceil(N / 100)``, never one GET per routine. Seconds are the best
of ``--repeat`` reads; the calls column is checked to be the same for every read. The emulator
runs in a child process (``--in-process``: in this one) with its clock frozen; see
``_common.emulator``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _common import (
    add_markdown_flag,
    add_schedule_flag,
    counters,
    counts,
    emulator,
    endpoint,
    latencies,
    pages,
    reset_counters,
    set_faults,
    show,
    timed,
    use_repeated_schedules,
    wire_body,
)

from reconciler.live.azure import AzureBackend
from reconciler.live.local import LocalBackend

LIST_ROUTE = "GET /routines"


def fill(db: Path, count: int) -> None:
    """Create ``count`` routines in the project file the emulator will serve."""
    backend = LocalBackend(str(db))
    try:
        for index in range(count):
            backend.create_or_update(f"listed-{index:05d}", wire_body(index))
    finally:
        backend.close()


def measure(count: int, root: Path, args: argparse.Namespace) -> list[list[object]]:
    """Rows for ``count`` routines, one per latency."""
    db = root / f"list-{count}.db"
    fill(db, count)
    rows: list[list[object]] = []
    with emulator(db, in_process=args.in_process, ticking=args.ticking) as url:
        backend = AzureBackend(endpoint(url), environ={})
        try:
            backend.get("listed-00000")  # open the connection, get the token
            for latency in args.latency:
                set_faults(url, latency_ms=latency)
                times: list[float] = []
                seen: set[tuple[int, int, int]] = set()
                for _ in range(max(1, args.repeat)):
                    reset_counters(url)
                    seconds, found = timed(backend.list_routines)
                    after = counters(url)
                    times.append(seconds)
                    seen.add((len(found), after["routes"].get(LIST_ROUTE, 0), int(after["total"])))
                seconds = min(times)
                [(listed, calls, total)] = seen  # every read made the same requests
                assert listed == count, (listed, count)
                rows.append(
                    [
                        count,
                        latency,
                        calls,
                        pages(count),
                        "yes" if calls == pages(count) and total == calls else "NO",
                        f"{seconds:.3f}",
                        f"{seconds / calls * 1000:.1f}",
                        f"{seconds / count * 1e6:.0f}",
                    ]
                )
        finally:
            backend.close()
    return rows


def main() -> None:
    """Parse arguments, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--routines", type=counts, default=[250, 1000, 2500], help="N values")
    parser.add_argument("--latency", type=latencies, default=[0, 50], help="ms per request")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many reads")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the emulator in this process (shares the GIL)",
    )
    parser.add_argument(
        "--ticking",
        action="store_true",
        help="let the emulated clock run (its trigger ticker then fires due routines 5x/s)",
    )
    add_schedule_flag(parser)
    add_markdown_flag(parser)
    args = parser.parse_args()
    use_repeated_schedules(args.repeated)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-list-") as tmp:
        rows = [row for n in args.routines for row in measure(n, Path(tmp), args)]
    show(
        f"list through the azure backend and the emulator "
        f"({'in this process' if args.in_process else 'child process'}"
        f"{', clock running' if args.ticking else ''}; best of {args.repeat})",
        [
            "N",
            "latency ms",
            "list calls",
            "ceil(N/100)",
            "only list calls",
            "seconds",
            "ms/call",
            "µs/routine",
        ],
        rows,
        markdown=args.markdown,
    )
    print(f"(whole run: {time.perf_counter() - started:.0f} s including setup)")


if __name__ == "__main__":
    main()
