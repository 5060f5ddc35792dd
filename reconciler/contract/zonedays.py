"""The local dates of a cadence window, grouped by how their firings are found (``closest``).

Almost every local date has one UTC offset all day, the same as the dates around it: such dates
come in runs (``PlainDates``) whose firings are plain arithmetic. Only the dates next to
an offset change (found once per zone, ``localtime.offset_changes``) are read from the zone one
by one, exactly as the firing definition reads them (``localtime.constant_offset``); a date
whose offset changes during the day also carries the change, so that its firings follow from
it (``resolved_runs``) without reading every local time twice.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from reconciler.contract.localtime import (
    SECONDS_PER_DAY,
    OffsetChange,
    constant_offset,
    offset_at,
    offset_changes,
    ordinal_epoch,
)

_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_MARGIN_DAYS: Final = 1  # dates this close to a change's local times are read from the zone


@dataclass(frozen=True)
class PlainDates:
    """Local dates ``first..last`` (proleptic ordinals, inclusive), each at ``offset`` all day,
    none of them next to an offset change."""

    first: int
    last: int
    offset: int


@dataclass(frozen=True)
class ExactDate:
    """A local date (ordinal) next to an offset change, with the offset ``constant_offset``
    reads for it (None: it changes during the day). For such a date ``change`` is the only
    change near it, or None if there is not exactly one (then it is resolved time by time)."""

    day: int
    offset: int | None
    change: OffsetChange | None = None


Piece = PlainDates | ExactDate


Run = tuple[int, int, int]
"""Firings ``base + times[a:b]`` of one date at one UTC offset, as ``(base, a, b)``."""


@lru_cache(maxsize=4096)
def window_pieces(zone: ZoneInfo, first: int, last: int) -> tuple[Piece, ...]:
    """Local dates ``first..last`` of ``zone`` in order: runs of plain dates and exact ones."""
    low = ordinal_epoch(first) - 2 * SECONDS_PER_DAY
    changes = offset_changes(zone, low, ordinal_epoch(last) + 3 * SECONDS_PER_DAY)
    initial = changes[0].before if changes else offset_at(zone, low)
    pieces: list[Piece] = []
    cursor = first
    for day in _near_dates(changes, first, last):
        if day > cursor:
            pieces.append(PlainDates(cursor, day - 1, _offset_in_force(cursor, changes, initial)))
        pieces.append(_exact(zone, day, changes))
        cursor = day + 1
    if cursor <= last:
        pieces.append(PlainDates(cursor, last, _offset_in_force(cursor, changes, initial)))
    return tuple(pieces)


def resolved_runs(day: int, change: OffsetChange, count: int, times: Sequence[int]) -> list[Run]:
    """The firings of date ``day`` that holds ``change``, one run per offset.

    A local time fires at each instant that reads back as it: before the change with the old
    offset, from the change on with the new one. So a skipped time fires never and a repeated
    one twice, as ``localtime.resolve_day`` finds by reading the zone for every time.
    """
    midnight = ordinal_epoch(day)
    before_end = bisect_left(times, change.at + change.before - midnight)
    after_start = bisect_left(times, change.at + change.after - midnight)
    return [
        (midnight - change.before, 0, before_end),
        (midnight - change.after, after_start, count),
    ]


def _near_dates(changes: Sequence[OffsetChange], first: int, last: int) -> list[int]:
    """The dates in ``first..last`` within ``_MARGIN_DAYS`` of a change's local times."""
    near: set[int] = set()
    for change in changes:
        earliest = change.at + min(change.before, change.after)
        latest = change.at + max(change.before, change.after)
        low = earliest // SECONDS_PER_DAY + _EPOCH_ORDINAL - _MARGIN_DAYS
        high = latest // SECONDS_PER_DAY + _EPOCH_ORDINAL + _MARGIN_DAYS
        near.update(range(max(low, first), min(high, last) + 1))
    return sorted(near)


def _offset_in_force(day: int, changes: Sequence[OffsetChange], initial: int) -> int:
    """The offset of a date far from every change: that after the last change before it."""
    offset = initial
    midnight = ordinal_epoch(day)
    for change in changes:
        if change.at + max(change.before, change.after) <= midnight:
            offset = change.after
    return offset


def _exact(zone: ZoneInfo, day: int, changes: Sequence[OffsetChange]) -> ExactDate:
    offset = constant_offset(date.fromordinal(day), zone)
    if offset is not None:
        return ExactDate(day, offset)
    midnight = ordinal_epoch(day)
    near = [
        c for c in changes if midnight - SECONDS_PER_DAY < c.at < midnight + 2 * SECONDS_PER_DAY
    ]
    return ExactDate(day, None, near[0] if len(near) == 1 else None)
