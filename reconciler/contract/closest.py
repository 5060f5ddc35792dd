"""The closest pair of consecutive firings of a schedule in a window, computed per run of dates.

Equal, for every window, to reading every local date (``localtime.constant_offset``) and
resolving the days with an offset change (``localtime.resolve_day``), which is what the firing
definition (``firing``) does; ``tests/test_cron.py`` keeps that reference scan and compares.
Past two cached tables (per window and zone, per window and day fields), the work per
schedule is a handful of steps per run of dates, not one per date:

* the dates that match the day fields come from a per-window calendar (``matching_dates``);
* a run of plain dates (one offset, all firings inside the window, ``zonedays``) contributes
  its first and last firings, one day's closest pair of times (the same every day) and the
  closest pair across midnight, at the smallest distance between consecutive matching dates;
* a date next to an offset change or at an edge of the window contributes its firings as
  runs ``base + times[a:b]``: the run's ends and its closest pair of times.

Leaving out the firings in between only removes pairs that are never the answer: each is at
least as far apart as the closest pair of its own run, which is kept, and later on a tie.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from reconciler.contract.cron import CronSchedule
from reconciler.contract.localtime import SECONDS_PER_DAY, ordinal_epoch, resolve_day
from reconciler.contract.zonedays import ExactDate, PlainDates, Run, resolved_runs, window_pieces

_DayKey = tuple[frozenset[int], frozenset[int], frozenset[int], bool]


@dataclass(frozen=True)
class Scan:
    """What a window holds: its firing count and the closest consecutive pair (earliest)."""

    count: int
    gap: int | None
    pair: tuple[int, int] | None


@dataclass(frozen=True)
class DayTimes:
    """A schedule's local firing times of a day (seconds after midnight, ascending), the gaps
    between them, the first smallest gap and every index of the smallest gap."""

    seconds: tuple[int, ...]
    gaps: tuple[int, ...]
    closest: int | None
    closest_all: tuple[int, ...]


@dataclass(frozen=True)
class MatchingDates:
    """The dates (ordinals, ascending) of a window that match a schedule's day fields, and the
    distance in days from each to the next."""

    ordinals: tuple[int, ...]
    gaps: tuple[int, ...]

    def __contains__(self, day: int) -> bool:
        at = bisect_left(self.ordinals, day)
        return at < len(self.ordinals) and self.ordinals[at] == day


def scan(schedule: CronSchedule, zone: ZoneInfo, start: datetime, days: int) -> Scan:
    """Count the firings in ``[start, start + days)`` and find the closest consecutive pair."""
    if start.tzinfo is None:
        raise ValueError("start must be a timezone-aware datetime")
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = (start + timedelta(days=days)).astimezone(zone).date() + timedelta(days=1)
    start_ts = start.timestamp()
    found = _Found(day_times(schedule), start_ts, start_ts + days * SECONDS_PER_DAY)
    dates = matching_dates(schedule, first.toordinal(), last.toordinal())
    for piece in window_pieces(zone, first.toordinal(), last.toordinal()):
        if isinstance(piece, PlainDates):
            found.add_plain(piece, dates)
        else:
            found.add_exact(piece, dates, zone)
    return found.result()


def day_times(schedule: CronSchedule) -> DayTimes:
    """``schedule.seconds_of_day()`` and its gaps (cached)."""
    return _day_times(schedule.minutes, schedule.hours)


@lru_cache(maxsize=1024)
def _day_times(minutes: frozenset[int], hours: frozenset[int]) -> DayTimes:
    seconds = tuple(sorted(3600 * h + 60 * m for h in hours for m in minutes))
    gaps = tuple(b - a for a, b in itertools.pairwise(seconds))
    if not gaps:
        return DayTimes(seconds, gaps, None, ())
    smallest = min(gaps)
    every = tuple(k for k, gap in enumerate(gaps) if gap == smallest)
    return DayTimes(seconds, gaps, every[0], every)


def matching_dates(schedule: CronSchedule, first: int, last: int) -> MatchingDates:
    """The dates in ``first..last`` on which ``schedule`` fires (``CronSchedule.matches_date``)."""
    key = (schedule.days_of_month, schedule.months, schedule.weekdays, schedule.day_and)
    return _matching_dates(key, first, last)


@lru_cache(maxsize=1024)
def _matching_dates(key: _DayKey, first: int, last: int) -> MatchingDates:
    days_of_month, months, weekdays, day_and = key
    ordinals = tuple(
        ordinal
        for ordinal, month, day, weekday in _calendar(first, last)
        if month in months
        and (
            (day in days_of_month and weekday in weekdays)
            if day_and
            else (day in days_of_month or weekday in weekdays)
        )
    )
    return MatchingDates(ordinals, tuple(b - a for a, b in itertools.pairwise(ordinals)))


@lru_cache(maxsize=64)
def _calendar(first: int, last: int) -> tuple[tuple[int, int, int, int], ...]:
    """(ordinal, month, day, weekday with 0 = Sunday) of every date in ``first..last``."""
    dates = (date.fromordinal(ordinal) for ordinal in range(first, last + 1))
    return tuple((d.toordinal(), d.month, d.day, d.isoweekday() % 7) for d in dates)


@dataclass
class _Found:
    """The firings collected so far: chosen instants, candidate pairs and the count."""

    times: DayTimes
    start: float
    end: float
    count: int = 0
    events: list[int] = field(default_factory=list)
    pairs: list[tuple[int, int]] = field(default_factory=list)

    def add_plain(self, piece: PlainDates, dates: MatchingDates) -> None:
        """A run of dates with one offset: the dates with every firing inside in bulk, the
        others (at the window's edges) one by one."""
        offset, seconds = piece.offset, self.times.seconds
        low, high = piece.first, piece.last
        while low <= piece.last and ordinal_epoch(low) - offset + seconds[0] < self.start:
            low += 1
        while high >= piece.first and ordinal_epoch(high) - offset + seconds[-1] >= self.end:
            high -= 1
        partial = {*range(piece.first, low), *range(high + 1, piece.last + 1)}
        for day in sorted(day for day in partial if day in dates):
            self.add_run((ordinal_epoch(day) - offset, 0, len(seconds)))
        if low <= high:
            self._add_full_days(
                offset, bisect_left(dates.ordinals, low), bisect_right(dates.ordinals, high), dates
            )

    def add_exact(self, piece: ExactDate, dates: MatchingDates, zone: ZoneInfo) -> None:
        """One date next to an offset change, as the firing definition reads it."""
        day, seconds = piece.day, self.times.seconds
        if day not in dates:
            return
        if piece.offset is not None:
            self.add_run((ordinal_epoch(day) - piece.offset, 0, len(seconds)))
        elif piece.change is not None:
            for run in resolved_runs(day, piece.change, len(seconds), seconds):
                self.add_run(run)
        else:
            inside = [
                i
                for i in resolve_day(date.fromordinal(day), seconds, zone)
                if self.start <= i < self.end
            ]
            self.count += len(inside)
            self.events.extend(inside)

    def add_run(self, run: Run) -> None:
        """Firings ``base + seconds[a:b]`` (those inside the window): the ends and the closest
        pair of times of the run."""
        base, a, b = run
        seconds = self.times.seconds
        low = max(a, bisect_left(seconds, self.start - base))
        high = min(b, bisect_left(seconds, self.end - base))
        if high <= low:
            return
        self.count += high - low
        self.events += (base + seconds[low], base + seconds[high - 1])
        if high - low > 2:
            closest = self._closest_time(low, high)
            self.pairs.append((base + seconds[closest], base + seconds[closest + 1]))

    def _add_full_days(self, offset: int, i: int, j: int, dates: MatchingDates) -> None:
        """Matching dates ``ordinals[i:j]``, all at ``offset`` with every firing inside."""
        if j <= i:
            return
        seconds, closest = self.times.seconds, self.times.closest
        self.count += (j - i) * len(seconds)
        first = ordinal_epoch(dates.ordinals[i]) - offset
        last = ordinal_epoch(dates.ordinals[j - 1]) - offset
        self.events += (
            first + seconds[0],
            first + seconds[-1],
            last + seconds[0],
            last + seconds[-1],
        )
        if closest is not None:
            self.pairs.append((first + seconds[closest], first + seconds[closest + 1]))
        if j - i >= 2:
            gaps = dates.gaps[i : j - 1]
            k = i + gaps.index(min(gaps))
            night = ordinal_epoch(dates.ordinals[k]) - offset
            morning = ordinal_epoch(dates.ordinals[k + 1]) - offset
            self.pairs.append((night + seconds[-1], morning + seconds[0]))

    def _closest_time(self, low: int, high: int) -> int:
        """Index ``k`` in ``low..high-2`` of the first smallest ``seconds[k + 1] - seconds[k]``:
        the first of the day's smallest gaps in the range if there is one, else a search."""
        every = self.times.closest_all
        at = bisect_left(every, low)
        if at < len(every) and every[at] < high - 1:
            return every[at]
        gaps = self.times.gaps[low : high - 1]
        return low + gaps.index(min(gaps))

    def result(self) -> Scan:
        events = sorted(set(self.events))
        candidates = [*itertools.pairwise(events), *self.pairs]
        if not candidates:
            return Scan(self.count, None, None)
        best = min(candidates, key=lambda pair: (pair[1] - pair[0], pair[0]))
        return Scan(self.count, best[1] - best[0], best)
