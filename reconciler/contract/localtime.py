"""Local wall-clock time against absolute time in a zone: the day arithmetic that the cadence
check (``cadence``) and the firing definition (``firing``) share."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Final, NamedTuple
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
    return ordinal_epoch(day.toordinal())


def ordinal_epoch(ordinal: int) -> int:
    """``naive_epoch`` of the date with proleptic Gregorian ordinal ``ordinal``."""
    return (ordinal - _EPOCH_ORDINAL) * SECONDS_PER_DAY


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


class OffsetChange(NamedTuple):
    """A change of a zone's UTC offset from ``before`` to ``after`` at unix second ``at``."""

    at: int
    before: int
    after: int


_BLOCK_SECONDS: Final = 1 << 22  # offset changes are found and cached ~48 days at a time
_MIN_INSTANT: Final = -62_135_510_400  # 0001-01-02 00:00 UTC: datetime's range, with a day spare
_MAX_INSTANT: Final = 253_402_128_000  # 9999-12-30 00:00 UTC


def offset_at(zone: ZoneInfo, instant: int) -> int:
    """The UTC offset in force at unix second ``instant``."""
    return offset_seconds(datetime.fromtimestamp(instant, zone))


def offset_changes(zone: ZoneInfo, low: int, high: int) -> list[OffsetChange]:
    """Every change of ``zone``'s UTC offset at an instant in ``[low, high)``, in order.

    The offset is read once a day and each change is bisected to the second, so this relies on
    no zone changing its offset twice within a day (closest pair in tzdata: ~4 days apart).
    """
    found: list[OffsetChange] = []
    for block in range((low - 1) // _BLOCK_SECONDS, high // _BLOCK_SECONDS + 1):
        found.extend(c for c in _block_changes(zone, block) if low <= c.at < high)
    return found


@lru_cache(maxsize=16_384)
def _block_changes(zone: ZoneInfo, block: int) -> tuple[OffsetChange, ...]:
    """The offset changes at instants in ``(block, block + 1] * _BLOCK_SECONDS``."""
    low = max(block * _BLOCK_SECONDS, _MIN_INSTANT)
    high = min((block + 1) * _BLOCK_SECONDS, _MAX_INSTANT)
    if high <= low:
        return ()
    probes = [*range(low, high, SECONDS_PER_DAY), high]
    offsets = [datetime.fromtimestamp(probe, zone).utcoffset() for probe in probes]
    return tuple(
        _bisect_change(zone, probes[i], probes[i + 1], offset_at(zone, probes[i]))
        for i in range(len(probes) - 1)
        if offsets[i] != offsets[i + 1]
    )


def _bisect_change(zone: ZoneInfo, low: int, high: int, before: int) -> OffsetChange:
    """The first second in ``(low, high]`` whose offset is not ``before`` (that of ``low``)."""
    after = offset_at(zone, high)
    while high - low > 1:
        middle = (low + high) // 2
        offset = offset_at(zone, middle)
        if offset == before:
            low = middle
        else:
            high, after = middle, offset
    return OffsetChange(high, before, after)
