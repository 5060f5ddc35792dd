"""When a trigger fires: the one definition the validator, the store, the emulator and plan
previews share (docs/design.md, "When a schedule fires").

A ``schedule`` fires at every absolute minute whose wall-clock time in the trigger's zone matches
the cron expression. So across a daylight-saving change a local time that does not exist (the
spring-forward gap) never fires, and a local time that happens twice (the fall-back overlap)
fires twice, an hour apart. The service does not publish its behaviour; this is the strictest
reading for the five-minute cadence rule (repeated hours give the closest pairs), and the
cadence check (``cadence.min_gap_seconds``) is property-tested against it. A ``timer`` fires once
at ``at``. Event triggers (``github_issue``, ``custom``) have no times.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from reconciler.contract.cron import CronError, CronSchedule, parse_cron
from reconciler.contract.localtime import constant_offset, naive_epoch, resolve_day
from reconciler.contract.zones import resolve_zone

MAX_FIRINGS: Final = 100_000
_SEARCH_DAYS: Final = 4 * 366 + 1  # a 29 February schedule fires within four years


def firings(
    trigger: Mapping[str, Any], after: float, until: float, *, limit: int = MAX_FIRINGS
) -> list[int]:
    """Fire instants (unix seconds) of ``trigger`` in ``(after, until]``, at most ``limit``.

    ``until`` may be ``float('inf')``: a schedule is then searched for up to four years ahead.
    A trigger that cannot fire (an event trigger, an invalid cron or zone) has none.
    """
    kind = trigger.get("type")
    if kind == "timer":
        at = trigger.get("at")
        return [at] if isinstance(at, int) and after < at <= until and limit > 0 else []
    if kind != "schedule":
        return []
    try:
        schedule = parse_cron(str(trigger.get("cron_expression")))
        zone = resolve_zone(str(trigger.get("time_zone")))
    except (CronError, ValueError):
        return []
    return schedule_firings(schedule, zone, after, until, limit=limit)


def next_firing(trigger: Mapping[str, Any], after: float) -> int | None:
    """The first firing strictly after ``after`` (None: it never fires again)."""
    found = firings(trigger, after, float("inf"), limit=1)
    return found[0] if found else None


def schedule_firings(
    schedule: CronSchedule, zone: ZoneInfo, after: float, until: float, *, limit: int
) -> list[int]:
    """The firings of a parsed schedule in ``(after, until]``, in order."""
    found: list[int] = []
    horizon = min(until, after + _SEARCH_DAYS * 86_400)
    for day in _dates(zone, after, horizon):
        if not schedule.matches_date(day):
            continue
        for instant in _day_firings(schedule, zone, day):
            if instant > horizon:
                return found
            if instant > after:
                found.append(instant)
                if len(found) >= limit:
                    return found
    return found


def _day_firings(schedule: CronSchedule, zone: ZoneInfo, day: date) -> list[int]:
    times = schedule.seconds_of_day()
    offset = constant_offset(day, zone)
    if offset is None:
        return resolve_day(day, times, zone)
    base = naive_epoch(day) - offset
    return [base + second for second in times]


def _dates(zone: ZoneInfo, after: float, until: float) -> Iterator[date]:
    """Local dates from the one holding ``after`` (a day early: offsets reach back) on."""
    first = datetime.fromtimestamp(after, zone).date() - timedelta(days=1)
    last = datetime.fromtimestamp(until, zone).date() + timedelta(days=1)
    for ordinal in range(first.toordinal(), last.toordinal() + 1):
        yield date.fromordinal(ordinal)
