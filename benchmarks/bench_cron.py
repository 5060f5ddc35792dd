"""Median cost of ``reconciler.contract.cadence.check_cron`` for representative schedules.

    python benchmarks/bench_cron.py [--samples 200] [--now 2030-01-01T00:00:00Z]

``check_cron`` runs for every schedule trigger when manifests are validated (and again in the
local project / emulator on every PUT). It caches its verdict per (expression, zone, hour of
``now``), so a process pays the year-long scan once per distinct schedule and hour and a dictionary
lookup after that. Each case is called ``--samples`` times with the same ``now``, first with the
cache cleared before every call (the scan: median, fastest and slowest call in microseconds),
then with the cache filled (the lookup: median); the table also says whether the schedule is
accepted.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime

from _common import NOW, add_markdown_flag, median_us, show

from reconciler.contract.cadence import _check_cached, check_cron
from reconciler.contract.cron import _parse
from reconciler.contract.zones import resolve_zone

CASES: tuple[tuple[str, str, str], ...] = (
    ("*/5 * * * *", "UTC", "every 5 minutes, no DST"),
    ("*/5 * * * *", "Europe/Stockholm", "every 5 minutes, DST zone"),
    ("0 7 * * 1-5", "W. Europe Standard Time", "weekdays 07:00, Windows zone"),
    ("* * * * *", "UTC", "every minute: rejected (gap 1 min)"),
    ("* * * * *", "America/New_York", "every minute, DST zone: rejected"),
    ("0,59 1,3 * * *", "America/New_York", "rejected: 01:59 EST -> 03:00 EDT is 1 min"),
    ("0 0 29 2 *", "UTC", "29 February only: the 4-year scan"),
)


def measure(expr: str, zone: str, samples: int, now: datetime, *, cached: bool) -> list[float]:
    """``samples`` call durations in seconds (after one warm-up call).

    ``cached``: every call finds the verdict in the cache; otherwise the cache is cleared
    (untimed) before each call, so each one runs the scan.
    """
    check_cron(expr, zone, now=now)
    durations: list[float] = []
    for _ in range(samples):
        if not cached:
            _check_cached.cache_clear()
            _parse.cache_clear()
        start = time.perf_counter()
        check_cron(expr, zone, now=now)
        durations.append(time.perf_counter() - start)
    return durations


def main() -> None:
    """Parse arguments, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=200, help="calls per case")
    parser.add_argument(
        "--now",
        type=datetime.fromisoformat,
        default=datetime.fromtimestamp(NOW).astimezone(resolve_zone("UTC")),
        help="the 'now' the year-long scan starts from (ISO 8601)",
    )
    add_markdown_flag(parser)
    args = parser.parse_args()
    rows: list[list[object]] = []
    for expr, zone, what in CASES:
        durations = measure(expr, zone, max(1, args.samples), args.now, cached=False)
        hits = measure(expr, zone, max(1, args.samples), args.now, cached=True)
        problems = check_cron(expr, zone, now=args.now)
        rows.append(
            [
                f"`{expr}`" if args.markdown else expr,
                zone,
                what,
                "accepted" if not problems else "rejected",
                f"{median_us(durations):.0f}",
                f"{min(durations) * 1e6:.0f}",
                f"{max(durations) * 1e6:.0f}",
                f"{median_us(hits):.1f}",
            ]
        )
    show(
        f"check_cron, {args.samples} calls each, now={args.now.isoformat()}",
        [
            "cron",
            "time zone",
            "case",
            "verdict",
            "uncached median µs",
            "min µs",
            "max µs",
            "cached median µs",
        ],
        rows,
        markdown=args.markdown,
        left=4,
    )


if __name__ == "__main__":
    main()
