"""The service's minimum-cadence rule: no two consecutive firings less than
``MIN_CRON_GAP_SECONDS`` apart, daylight-saving changes included (docs/design.md, "When a
schedule fires"). The firing definition itself is ``firing``; this module computes the closest
pair fast, and a property test keeps the two equal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from reconciler.contract.closest import scan
from reconciler.contract.cron import CronError, CronSchedule, parse_cron
from reconciler.contract.limits import MIN_CRON_GAP_SECONDS
from reconciler.contract.localtime import offset_seconds
from reconciler.contract.zones import resolve_zone

_NEVER_FIRES_DAYS: Final = 4 * 365 + 1
_SCAN_DAYS: Final = 366


def min_gap_seconds(
    schedule: CronSchedule, zone: ZoneInfo, start: datetime, days: int = _SCAN_DAYS
) -> int | None:
    """Shortest time, in absolute seconds, between two consecutive firings in a window.

    The window is ``[start, start + days * 24h)`` in absolute time; ``start`` must be aware.
    The routine fires at every absolute instant (whole local minute) whose wall-clock time in
    ``zone`` matches the cron. So a local time that does not exist (the spring-forward gap)
    never fires, and an ambiguous local time (the fall-back overlap) fires at both instants.
    Returns None when the routine fires fewer than twice in the window.

    Exact and fast (``closest.scan``): the zone's offset changes are found once per window,
    a run of ordinary dates (one offset, all firings inside) is summed up from the matching
    dates and the times of a day, and only the dates next to a change or at an edge of the
    window are read one by one. This relies on no zone changing its offset twice within a
    day, which holds for every zone in tzdata (closest pair: ~4 days apart).
    """
    return scan(schedule, zone, start, days).gap


def check_cron(expr: str, time_zone: str, *, now: datetime | None = None) -> list[str]:
    """Problems the service would reject a schedule for; an empty list means it is fine.

    Checks the syntax, the time zone, that the schedule fires at least once in the next four
    years, and that no two consecutive firings within a year from ``now`` (default: the
    current time; a naive value is taken as UTC) are less than ``MIN_CRON_GAP_SECONDS`` apart.
    """
    hour = int(_aware(now).timestamp()) // 3600 * 3600
    return list(_check_cached(expr, time_zone, hour))


@lru_cache(maxsize=4096)
def _check_cached(expr: str, time_zone: str, hour: int) -> tuple[str, ...]:
    """``check_cron`` for a window that starts on the hour: manifests repeat a handful of
    schedules many times, and even the fast scan costs more than every other rule."""
    problems: list[str] = []
    schedule: CronSchedule | None = None
    zone: ZoneInfo | None = None
    try:
        schedule = parse_cron(expr)
    except CronError as error:
        problems.append(str(error))
    try:
        zone = resolve_zone(time_zone)
    except ValueError as error:
        problems.append(str(error))
    if schedule is None or zone is None:
        return tuple(problems)
    start = datetime.fromtimestamp(hour, UTC)
    found = scan(schedule, zone, start, _SCAN_DAYS)
    if found.count == 0:
        # Sparse schedules (29 February) need the longer window both to fire and to show a gap.
        found = scan(schedule, zone, start, _NEVER_FIRES_DAYS)
    if found.count == 0:
        return (f"cron expression {schedule.expression!r} never fires in the next 4 years",)
    if found.gap is not None and found.pair is not None and found.gap < MIN_CRON_GAP_SECONDS:
        problems.append(_too_frequent_message(found.gap, found.pair, zone, time_zone))
    return tuple(problems)


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _too_frequent_message(gap: int, pair: tuple[int, int], zone: ZoneInfo, label: str) -> str:
    first, second = (datetime.fromtimestamp(instant, zone) for instant in pair)
    first_text = first.strftime("%Y-%m-%d %H:%M")
    second_text = second.strftime("%H:%M" if second.date() == first.date() else "%Y-%m-%d %H:%M")
    if first.utcoffset() != second.utcoffset():
        first_text += f" ({_offset_text(first)})"
        second_text += f" ({_offset_text(second)})"
    return (
        f"fires every {_duration_text(gap)} at its closest (e.g. {first_text} and {second_text} "
        f"{label}); the service requires at least {_duration_text(MIN_CRON_GAP_SECONDS)} "
        "between runs"
    )


def _offset_text(moment: datetime) -> str:
    offset = offset_seconds(moment)
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def _duration_text(seconds: int) -> str:
    if seconds % 60:
        return f"{seconds} seconds"
    minutes = seconds // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
