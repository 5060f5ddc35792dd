"""Shared helpers for the hand-run benchmarks: synthetic manifests, timing, tables, emulator admin.

Not a test module and not part of the package: the scripts next to this file import it as
``_common`` (``python benchmarks/<name>.py`` puts this directory first on ``sys.path``).
"""

from __future__ import annotations

import argparse
import importlib.resources
import itertools
import json
import math
import re
import statistics
import subprocess
import sys
import time
import urllib.request
import zoneinfo
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from rich.console import Console
from rich.table import Table

ROUTINES_PER_FILE: Final = 50
# 2030-01-01T00:00:00Z: every generated timer lies after it, so results do not depend on today.
NOW: Final = 1_893_456_000
STACK: Final = "bench"

# The old, repeated schedules (``--repeated``): 5 cron expressions x 4 zones, ~20 distinct pairs,
# so the cron cache hides what a distinct schedule costs.
_CRONS: Final = ("*/5 * * * *", "0 7 * * 1-5", "30 6 * * MON", "15,45 */2 * * *", "0 0 1 * *")
_ZONES: Final = ("UTC", "Europe/Stockholm", "W. Europe Standard Time", "America/New_York")

_MIN_GAP_MINUTES: Final = 5  # the service's rule (limits.MIN_CRON_GAP_SECONDS), in minutes
# tzdata entries that are not places, and the zones whose daylight-saving shift is not a whole
# hour (Lord Howe: 30 minutes). With whole-hour shifts at a whole local hour, a minute set whose
# circular gap is >= 5 minutes never fires closer than 5 minutes, across DST changes included.
_ODD_ZONES: Final = frozenset(
    {"Factory", "localtime", "posixrules", "Australia/Lord_Howe", "Australia/LHI"}
)
# Windows names (CLDR, as ``reconciler.contract.zones.resolve_zone`` accepts them).
_WINDOWS_ZONES: Final = (
    "AUS Eastern Standard Time",
    "Central European Standard Time",
    "Central Standard Time",
    "China Standard Time",
    "E. South America Standard Time",
    "Eastern Standard Time",
    "GMT Standard Time",
    "India Standard Time",
    "Mountain Standard Time",
    "New Zealand Standard Time",
    "Pacific Standard Time",
    "Romance Standard Time",
    "Singapore Standard Time",
    "South Africa Standard Time",
    "Tokyo Standard Time",
    "UTC",
    "W. Europe Standard Time",
)


def _iana_zones() -> list[str]:
    """``zoneinfo.available_timezones()`` sorted, without the odd ones, and only names the tzdata
    package lists (so the set does not depend on the machine's /usr/share/zoneinfo)."""
    names = set(zoneinfo.available_timezones()) - _ODD_ZONES
    try:
        listed = importlib.resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
        names &= set(listed.split())
    except (ModuleNotFoundError, OSError):  # pragma: no cover - tzdata is a dependency
        pass
    return sorted(names)


SCHEDULE_ZONES: Final = (*_iana_zones(), *(z for z in _WINDOWS_ZONES if z != "UTC"))


def _circular_gap(values: Sequence[int], size: int) -> int:
    """Smallest distance between neighbours of ``values`` on a circle of ``size``."""
    ordered = sorted(set(values))
    if len(ordered) == 1:
        return size
    gaps = [b - a for a, b in itertools.pairwise(ordered)]
    return min(*gaps, size - ordered[-1] + ordered[0])


def _minute_fields() -> tuple[str, ...]:
    """Minute fields (values, lists, steps, stepped ranges) whose circular gap is >= 5 minutes."""
    found: dict[str, list[int]] = {str(m): [m] for m in range(60)}
    for step, count in ((30, 2), (20, 3), (15, 4)):
        for first in range(step):
            values = [first + step * i for i in range(count)]
            found[",".join(map(str, values))] = values
    for first in range(0, 60, 7):  # irregular lists, as people write them
        values = sorted({first, (first + 17) % 60, (first + 41) % 60})
        found[",".join(map(str, values))] = values
    for step in (5, 6, 10, 12, 15, 20, 30):
        found[f"*/{step}"] = list(range(0, 60, step))
        for first in range(1, step):
            found[f"{first}/{step}"] = list(range(first, 60, step))
    for low, high, step in itertools.product((0, 5, 10, 15), (30, 45, 50), (5, 10, 15)):
        found[f"{low}-{high}/{step}"] = list(range(low, high + 1, step))
    return tuple(
        text for text, values in found.items() if _circular_gap(values, 60) >= _MIN_GAP_MINUTES
    )


def _hour_fields() -> tuple[str, ...]:
    fields = ["*", *(str(h) for h in range(24))]
    for step, count in ((12, 2), (8, 3), (6, 4)):
        fields += [",".join(str(first + step * i) for i in range(count)) for first in range(step)]
    for low, length in itertools.product((0, 5, 6, 7, 8, 9, 10, 12, 18), (3, 5, 8, 9, 10, 11)):
        if low + length <= 23:
            fields.append(f"{low}-{low + length}")
    for step in (2, 3, 4, 6, 8, 12):
        fields.append(f"*/{step}")
        fields += [f"{first}/{step}" for first in range(1, min(step, 4))]
    fields += [f"{a}-{b}/{k}" for a, b, k in itertools.product((6, 7, 8), (18, 20, 22), (2, 3))]
    return tuple(dict.fromkeys(fields))


_DOW: Final = (
    *("1-5", "MON-FRI", "0,6", "SAT,SUN", "1,3,5", "MON,WED,FRI", "2,4", "TUE,THU"),
    *("1-4", "2-6", "MON-THU", "TUE-SAT", "*/2", "1-5/2", "7", "0-4"),
    *(str(d) for d in range(7)),
    *("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"),
)
_DOM: Final = (
    *(str(d) for d in range(1, 29)),
    *("1,15", "1,16", "10,20", "5,20", "1-7", "8-14", "15-21", "22-28", "1-10", "11-20"),
    *("*/2", "*/3", "*/7", "2/2", "1-15", "16-28"),
)
_MONTHS: Final = ("1-3", "4-6", "*/3", "JAN,APR,JUL,OCT", "6-8", "MAR-NOV", "2-12/2", "1,7")
_MONTHS += ("JAN-JUN", "SEP-DEC", "*/2", "12", "1")


def _day_fields() -> tuple[str, ...]:
    """``day-of-month month day-of-week``, at most one of the two day fields restricted (both
    restricted gets a warning: cron ORs them), day-of-month <= 28 when the month is restricted."""
    fields = ["* * *"]
    fields += [f"* * {dow}" for dow in _DOW]
    fields += [f"{dom} * *" for dom in _DOM]
    fields += [f"* {month} *" for month in _MONTHS]
    for month in ("1-6", "7-12", "*/3", "MAR-OCT"):
        fields += [f"* {month} {dow}" for dow in ("1-5", "MON", "SAT,SUN")]
        fields += [f"{dom} {month} *" for dom in ("1", "15", "1,15", "1-7")]
    return tuple(dict.fromkeys(fields))


_MINUTE_FIELDS: Final = _minute_fields()
_HOUR_FIELDS: Final = _hour_fields()
_DAY_FIELDS: Final = _day_fields()
_CRON_SPACE: Final = len(_MINUTE_FIELDS) * len(_HOUR_FIELDS) * len(_DAY_FIELDS)
# s -> (s * _SCRAMBLE + 12345) % _CRON_SPACE is a bijection (the factor is coprime to the space),
# so the s-th schedule's cron is different from every other one for s < _CRON_SPACE (~2 million).
_SCRAMBLE: Final = next(p for p in (1_000_003, 999_983, 999_979) if math.gcd(p, _CRON_SPACE) == 1)
_ZONE_STEP: Final = next(p for p in (211, 223, 227) if math.gcd(p, len(SCHEDULE_ZONES)) == 1)

_repeated = False


def use_repeated_schedules(repeated: bool) -> None:
    """Generate the old ~20 (cron, zone) pairs (``--repeated``) instead of all-distinct ones."""
    global _repeated  # noqa: PLW0603 - one switch for every generator below
    _repeated = repeated


def add_schedule_flag(parser: argparse.ArgumentParser) -> None:
    """``--repeated``: the old 5 crons x 4 zones instead of all-distinct schedules."""
    parser.add_argument(
        "--repeated",
        action="store_true",
        help="repeat 5 cron expressions over 4 zones (~20 distinct pairs, the cron cache hides "
        "their cost) instead of giving every schedule trigger its own (cron, zone)",
    )


def schedule(ordinal: int) -> tuple[str, str]:
    """The ``ordinal``-th schedule trigger's (cron expression, time zone).

    All-distinct by default: the minute, hour and day fields are drawn from ~200 x ~100 x ~110
    valid variants (values, lists, ranges, steps, names) by a bijective scramble of
    ``ordinal``, so no two ordinals below ~2 million share a cron expression; the zone cycles
    over every IANA zone and a few Windows names.
    """
    key = (ordinal * _SCRAMBLE + 12345) % _CRON_SPACE
    key, minute = divmod(key, len(_MINUTE_FIELDS))
    day, hour = divmod(key, len(_HOUR_FIELDS))
    cron = f"{_MINUTE_FIELDS[minute]} {_HOUR_FIELDS[hour]} {_DAY_FIELDS[day]}"
    return cron, SCHEDULE_ZONES[(ordinal * _ZONE_STEP + 7) % len(SCHEDULE_ZONES)]


def routine_schedule(index: int) -> tuple[str, str]:
    """(cron, zone) of synthetic routine ``index`` (one with a schedule trigger: index % 5 is 0
    or 2), all-distinct or, with ``--repeated``, the old pairs."""
    if _repeated:
        return _CRONS[index // 5 % len(_CRONS)], _ZONES[index % len(_ZONES)]
    # Routines 0, 2, 5, 7, 10, ... have schedule triggers; number them 0, 1, 2, ...
    return schedule(index // 5 * 2 + (index % 5 != 0))


def schedule_pairs(count: int) -> list[tuple[str, str]]:
    """(cron, zone) of every schedule trigger among the first ``count`` synthetic routines."""
    return [routine_schedule(i) for i in range(count) if i % 5 in (0, 2)]


def routine_yaml(index: int) -> str:
    """One valid routine as a YAML list item; the trigger and action types rotate with ``index``.

    Triggers cycle schedule / timer / github_issue / custom (schedules twice as
    often); actions alternate between the two action types.
    """
    name = f"bench-routine-{index:05d}"
    kind = ("schedule", "timer", "schedule", "github_issue", "custom")[index % 5]
    lines = [
        f"  - name: {name}",
        f"    description: Synthetic routine number {index} for the benchmarks.",
    ]
    if index % 7 == 0:
        lines.append("    enabled: false")
    lines.append("    triggers:")
    lines.append(f"      t{index % 3}:")
    if kind == "schedule":
        cron, zone = routine_schedule(index)
        lines += [
            "        type: schedule",
            f'        cron_expression: "{cron}"',
            f'        time_zone: "{zone}"',
        ]
    elif kind == "timer":
        day = 1 + index % 28
        lines += ["        type: timer", f'        at: "2031-03-{day:02d}T09:{index % 60:02d}:00Z"']
    elif kind == "github_issue":
        lines += [
            "        type: github_issue",
            "        connection_id: github-platform-connection",
            "        owner: contoso",
            f"        repository: repo-{index % 40}",
            f"        issue_event: {'opened' if index % 2 else 'closed'}",
        ]
    else:
        lines += [
            "        type: custom",
            "        provider: contoso-release-pipeline",
            "        event_name: deployment.finished",
            "        parameters:",
            f"          environment: env-{index % 3}",
            f"          shard: {index % 16}",
        ]
    lines.append("    action:")
    if index % 2 == 0:
        lines += [
            "      type: invoke_agent_responses_api",
            f"      agent_name: agent-{index % 10}",
            f"      input: Summarize the telemetry of shard {index}.",
            f"      conversation: conv-{index}",
        ]
    else:
        lines += [
            "      type: invoke_agent_invocations_api",
            f"      agent_name: agent-{index % 10}",
            "      input:",
            f"        shard: {index}",
            "        regions: [eu-west, eu-north]",
            f"      session_id: session-{index}",
        ]
    return "\n".join(lines) + "\n"


def manifest_texts(count: int, per_file: int = ROUTINES_PER_FILE) -> list[str]:
    """``count`` routines as manifest texts of at most ``per_file`` routines each."""
    texts: list[str] = []
    for first in range(0, count, per_file):
        items = [routine_yaml(i) for i in range(first, min(first + per_file, count))]
        texts.append("routines:\n" + "\n".join(items))
    return texts


def write_manifests(directory: Path, count: int, per_file: int = ROUTINES_PER_FILE) -> list[Path]:
    """Write the manifests under ``directory`` (one file per ``per_file`` routines)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for number, text in enumerate(manifest_texts(count, per_file)):
        path = directory / f"routines-{number:04d}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def wire_body(index: int) -> dict[str, Any]:
    """A valid create body (what ``apply`` would PUT, without ownership); triggers rotate.

    The schedule triggers (every 4th body) are all-distinct like the manifests', or
    ``*/5 * * * *`` UTC with ``--repeated``.
    """
    cron, zone = ("*/5 * * * *", "UTC") if _repeated else schedule(index // 4)
    triggers: list[dict[str, Any]] = [
        {"type": "schedule", "cron_expression": cron, "time_zone": zone},
        {"type": "timer", "at": 1_930_000_000 + index},  # 2031
        {
            "type": "github_issue",
            "connection_id": "github-platform-connection",
            "owner": "contoso",
            "repository": f"repo-{index % 40}",
            "issue_event": "opened",
        },
        {"type": "custom", "provider": "contoso", "parameters": {"shard": index % 16}},
    ]
    action: dict[str, Any] = (
        {"type": "invoke_agent_responses_api", "agent_name": f"agent-{index % 10}", "input": "go"}
        if index % 2 == 0
        else {"type": "invoke_agent_invocations_api", "agent_name": f"agent-{index % 10}"}
    )
    return {
        "description": f"Synthetic routine number {index} for the benchmarks.",
        "enabled": True,
        "triggers": {"t": triggers[index % len(triggers)]},
        "action": action,
    }


def _integers(text: str, minimum: int) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values or any(v < minimum for v in values):
        raise argparse.ArgumentTypeError(f"every value must be an integer >= {minimum}")
    return values


def counts(text: str) -> list[int]:
    """``--routines 100,1000`` -> ``[100, 1000]`` (positive integers)."""
    return _integers(text, 1)


def latencies(text: str) -> list[int]:
    """``--latency 0,50`` -> ``[0, 50]`` (milliseconds, zero allowed)."""
    return _integers(text, 0)


def best_of(repeat: int, run: Callable[[], Any]) -> float:
    """The fastest of ``repeat`` runs of ``run``, in seconds (the least noisy estimate)."""
    return min(timed(run)[0] for _ in range(max(1, repeat)))


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def median_us(samples: Sequence[float]) -> float:
    """Median of ``samples`` (seconds) in microseconds."""
    return statistics.median(samples) * 1e6


def pages(count: int, page_size: int = 100) -> int:
    """``ceil(count / page_size)``, at least 1 (an empty project still costs one list call)."""
    return max(1, math.ceil(count / page_size))


def add_markdown_flag(parser: argparse.ArgumentParser) -> None:
    """``--markdown``: print the table as GitHub markdown (as pasted into README.md)."""
    parser.add_argument(
        "--markdown", action="store_true", help="print a markdown table instead of a box table"
    )


def show(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    markdown: bool,
    left: int = 1,
) -> None:
    """Print a table: rich box drawing, or GitHub markdown (the first ``left`` columns are text)."""
    cells = [[str(cell) for cell in row] for row in rows]
    if markdown:
        print(f"**{title}**\n")
        print("| " + " | ".join(columns) + " |")
        print("|" + "|".join(":--" if i < left else "--:" for i in range(len(columns))) + "|")
        for row in cells:
            print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
        print()
        return
    table = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index < left else "right")
    for row in cells:
        table.add_row(*row)
    Console(width=180).print(table)


# -- the emulator's admin API (no auth); the same calls tests/emulator_fixtures.py makes --


def admin(base_url: str, method: str, path: str, body: Any = None) -> Any:
    """Call ``/_emulator/<path>`` and return its JSON."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(
        f"{base_url}/_emulator/{path}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # loopback emulator only
        return json.loads(response.read())


def set_faults(base_url: str, **config: Any) -> None:
    """Replace the emulator's fault configuration (latency_ms, rate_429, retry_after...)."""
    admin(base_url, "PUT", "faults", config)


def reset_counters(base_url: str) -> None:
    """Zero the request and fault counters."""
    admin(base_url, "POST", "counters/reset")


def counters(base_url: str) -> dict[str, Any]:
    """``{"routes": {...}, "statuses": {...}, "faults": {...}, "total": N}``."""
    return dict(admin(base_url, "GET", "counters"))


@contextmanager
def emulator(db: Path, *, in_process: bool = False, ticking: bool = False) -> Iterator[str]:
    """A running emulator on ``db``; yields its base URL (``http://127.0.0.1:PORT``).

    By default it runs as ``python -m reconciler emulator`` in a child process, so the service
    side does not compete with the client for this process's GIL (a real project is remote);
    ``in_process`` uses ``reconciler.emulator.server.Emulator`` in this process instead. Either
    way the emulated clock is frozen (speed 0) unless ``ticking``: the trigger ticker (every
    0.2 s) then has nothing to fire during the measurement.
    """
    speed = 1.0 if ticking else 0.0
    if in_process:
        from reconciler.emulator.server import Emulator  # noqa: PLC0415

        with Emulator(db, clock_speed=speed) as running:
            yield running.url
        return
    with emulator_process(db, ticking=ticking) as (url, _pid):
        yield url


@contextmanager
def emulator_process(db: Path, *, ticking: bool = False) -> Iterator[tuple[str, int]]:
    """``python -m reconciler emulator`` on ``db`` in a child process; yields (URL, pid).

    The child runs in ``db``'s folder, not in the current directory: ``python -m`` puts the
    current directory first on ``sys.path``, so started from the repository root it would
    import the working tree even when ``PYTHONPATH`` points at a snapshot.
    """
    command = [
        sys.executable,
        "-m",
        "reconciler",
        "emulator",
        "--port",
        "0",
        "--db",
        str(db.resolve()),
        "--clock-speed",
        "1" if ticking else "0",
    ]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=db.resolve().parent)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if match is None:
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield match.group(1), child.pid
    finally:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def endpoint(base_url: str) -> str:
    """The project endpoint the azure backend takes."""
    return f"{base_url}/api/projects/_project"
