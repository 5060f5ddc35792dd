"""Shared helpers for the hand-run benchmarks: synthetic manifests, timing, tables, emulator admin.

Not a test module and not part of the package: the scripts next to this file import it as
``_common`` (``python benchmarks/<name>.py`` puts this directory first on ``sys.path``).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import subprocess
import sys
import time
import urllib.request
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

_CRONS: Final = ("*/5 * * * *", "0 7 * * 1-5", "30 6 * * MON", "15,45 */2 * * *", "0 0 1 * *")
_ZONES: Final = ("UTC", "Europe/Stockholm", "W. Europe Standard Time", "America/New_York")


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
        lines += [
            "        type: schedule",
            f'        cron_expression: "{_CRONS[index // 5 % len(_CRONS)]}"',
            f"        time_zone: {_ZONES[index % len(_ZONES)]}",
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
    """A valid create body (what ``apply`` would PUT, without ownership); triggers rotate."""
    triggers: list[dict[str, Any]] = [
        {"type": "schedule", "cron_expression": "*/5 * * * *", "time_zone": "UTC"},
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
    command = [
        sys.executable,
        "-m",
        "reconciler",
        "emulator",
        "--port",
        "0",
        "--db",
        str(db),
        "--clock-speed",
        str(speed),
    ]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if match is None:
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield match.group(1)
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
