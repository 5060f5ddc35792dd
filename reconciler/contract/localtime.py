"""Local wall-clock time against absolute time in a zone: the day arithmetic that the cadence
check (``cadence``) and the firing definition (``firing``) share."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

SECONDS_PER_DAY: Final = 86_400
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()


def local_dates(zone: ZoneInfo, start: datetime, days: int) -> Iterator[date]:
    """Every local calendar date that can hold a firing of the window, with a day of slack."""
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = (start + timedelta(days=days)).astimezone(zone).date() + timedelta(days=1)
    for ordinal in range(first.toordinal(), last.toordinal() + 1):
        yield date.fromordinal(ordinal)


def naive_epoch(day: date) -> int:
    """Seconds from 1970-01-01 00:00 to ``day`` 00:00 on a naive (wall-clock) time line."""
    return (day.toordinal() - _EPOCH_ORDINAL) * SECONDS_PER_DAY


def offset_seconds(moment: datetime) -> int:
    offset = moment.utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def constant_offset(day: date, zone: ZoneInfo) -> int | None:
    """The UTC offset of local date ``day`` if it has one all day, else None.

    00:00 is read with ``fold=0`` (the earlier reading) and 23:59 with ``fold=1`` (the later),
    so a gap or overlap touching either end of the day also shows up as a difference.
    """
    morning = datetime(day.year, day.month, day.day, 0, 0, tzinfo=zone)
    night = datetime(day.year, day.month, day.day, 23, 59, tzinfo=zone, fold=1)
    offset = offset_seconds(morning)
    return offset if offset == offset_seconds(night) else None


def resolve_day(day: date, times: Sequence[int], zone: ZoneInfo) -> list[int]:
    """Exact firing instants of a day with an offset change.

    Each local time is tried with ``fold=0`` and ``fold=1``; an instant is kept only if it
    reads back as that wall-clock time (so nonexistent times vanish and ambiguous ones fire
    twice).
    """
    midnight = naive_epoch(day)
    instants: set[int] = set()
    for second in times:
        hour, minute = divmod(second // 60, 60)
        for fold in (0, 1):
            local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone, fold=fold)
            instant = midnight + second - offset_seconds(local)
            if offset_seconds(datetime.fromtimestamp(instant, zone)) == offset_seconds(local):
                instants.add(instant)
    return sorted(instants)
