"""Cron expressions of a routine's ``schedule`` trigger, and the service's minimum-cadence rule.

Only standard 5-field cron is accepted (minute hour day-of-month month day-of-week); value sets
come from ``cronsim``. Semantics follow Vixie/Debian cron, as cronsim implements them:

* day-of-week 0 and 7 are both Sunday; month and day names are three-letter English
  abbreviations, case-insensitive, allowed only in their own field;
* ``a/n`` (a single value with a step) means ``a-max/n``;
* day-of-month and day-of-week combine with OR when both are restricted, and with AND when
  either field *starts with* ``*`` (so ``*/2`` in either field gives AND, the classic cron quirk).

The service rejects a schedule that ever fires less than ``MIN_CRON_GAP_SECONDS`` apart. A
routine fires at every absolute minute whose wall-clock time in the trigger's zone matches the
cron, so daylight-saving transitions can bring two firings closer than the expression suggests
(see ``min_gap_seconds``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

from reconciler.contract.limits import MIN_CRON_GAP_SECONDS
from reconciler.contract.zones import resolve_zone

__all__ = [
    "CronError",
    "CronSchedule",
    "check_cron",
    "min_gap_seconds",
    "parse_cron",
]

_FIELD_ORDER: Final = "minute hour day-of-month month day-of-week"
_MONTH_NAMES: Final = (
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OCT",
    "NOV",
    "DEC",
)
_DAY_NAMES: Final = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MACROS: Final = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_FIELD_CHARS: Final = re.compile(r"[0-9A-Za-z*,/\-]+")
_LAST_OR_WEEKDAY: Final = re.compile(r"[0-9]*L|[0-9]*W|LW")
_MAX_DIGITS: Final = 4
_NEVER_FIRES_DAYS: Final = 4 * 365 + 1
_SCAN_DAYS: Final = 366
_SECONDS_PER_DAY: Final = 86_400
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_CRONSIM_ANCHOR: Final = datetime(2000, 1, 1)


class CronError(ValueError):
    """A cron expression is not valid standard 5-field cron; the message says why."""


@dataclass(frozen=True)
class _Field:
    """One cron field: its name, inclusive value range and (month / weekday) names."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0

    def value(self, token: str) -> int:
        """Parse one value token (number or name) or raise ``CronError``."""
        upper = token.upper()
        if upper in self.names:
            return self.names.index(upper) + self.name_base
        if token.isascii() and token.isdigit():
            number = int(token) if len(token) <= _MAX_DIGITS else self.high + 1
            if not self.low <= number <= self.high:
                raise CronError(
                    f"{self.name} field: {_short(token)} is out of range {self.low}-{self.high}"
                )
            return number
        raise CronError(self._bad_value(token))

    def _bad_value(self, token: str) -> str:
        upper = token.upper()
        if _LAST_OR_WEEKDAY.fullmatch(upper):
            return (
                f"{self.name} field: {token!r} uses the non-standard 'L'/'W' cron extension "
                "(last / nearest weekday), which is not supported"
            )
        if not token:
            return f"{self.name} field: a value is missing"
        allowed = f"a number {self.low}-{self.high}"
        if self.names:
            allowed += f" or a name {self.names[0]}-{self.names[-1]}"
        return f"{self.name} field: {_short(token)!r} is not valid; expected {allowed}"


_FIELDS: Final = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTH_NAMES, 1),
    _Field("day-of-week", 0, 7, _DAY_NAMES, 0),
)


@dataclass(frozen=True)
class CronSchedule:
    """A parsed standard cron expression.

    ``weekdays`` uses 0 = Sunday ... 6 = Saturday (a 7 in the expression is stored as 0).
    ``day_and`` is the day-combination rule: when True a date must match both day-of-month and
    day-of-week (one of them is then usually ``*``); when False it must match either.
    """

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    day_and: bool

    def matches_date(self, day: date) -> bool:
        """True if the routine fires on local calendar date ``day`` (at its times of day)."""
        if day.month not in self.months:
            return False
        dom = day.day in self.days_of_month
        dow = day.isoweekday() % 7 in self.weekdays
        return (dom and dow) if self.day_and else (dom or dow)

    def seconds_of_day(self) -> tuple[int, ...]:
        """Sorted local firing times of a day, as seconds after local midnight."""
        return tuple(sorted(3600 * h + 60 * m for h in self.hours for m in self.minutes))


def parse_cron(expr: str) -> CronSchedule:
    """Parse a standard 5-field cron expression; raise ``CronError`` (only) if it is invalid."""
    if not isinstance(expr, str):
        raise CronError(f"cron expression must be a string, got {type(expr).__name__}")
    return _parse(expr)


@lru_cache(maxsize=4096)
def _parse(expr: str) -> CronSchedule:
    """Cached (the result is immutable): manifests repeat a handful of schedules many times,
    and every rule that reads a schedule parses it."""
    fields = expr.split()
    _check_shape(expr, fields)
    for spec, text in zip(_FIELDS, fields, strict=True):
        _check_field(spec, text)
    return _from_cronsim(fields)


def _check_shape(expr: str, fields: Sequence[str]) -> None:
    """Reject empty input, ``@`` macros and a wrong number of fields."""
    if not fields:
        raise CronError("cron expression is empty")
    if fields[0].startswith("@"):
        macro = fields[0].lower()
        if macro in _MACROS:
            raise CronError(
                f"cron macro {macro!r} is not supported; write it as {_MACROS[macro]!r}"
            )
        raise CronError(f"cron macros such as {_short(expr.strip())!r} are not supported")
    if len(fields) != len(_FIELDS):
        message = (
            f"cron expression has {len(fields)} field{'s' if len(fields) != 1 else ''}; "
            f"exactly 5 are required ({_FIELD_ORDER})"
        )
        if len(fields) == 6:
            message += "; a seconds field is not supported"
        elif len(fields) == 7:
            message += "; seconds and year fields are not supported"
        raise CronError(message)


def _check_field(spec: _Field, text: str) -> None:
    """Validate one field's syntax and values, with a message naming the field."""
    for mark, meaning in (("?", "no specific value"), ("#", "nth weekday of the month")):
        if mark in text:
            raise CronError(
                f"{spec.name} field: {mark!r} ({meaning}) is a non-standard cron extension "
                "and is not supported"
            )
    if not _FIELD_CHARS.fullmatch(text):
        bad = next(ch for ch in text if not _FIELD_CHARS.fullmatch(ch))
        raise CronError(f"{spec.name} field: unexpected character {bad!r}")
    for item in text.split(","):
        _check_item(spec, item)


def _check_item(spec: _Field, item: str) -> None:
    """Validate one list item: ``*``, ``v``, ``a-b``, each optionally followed by ``/step``."""
    if not item:
        raise CronError(f"{spec.name} field: empty item in a list")
    base, slash, step = item.partition("/")
    if slash:
        _check_step(spec, step)
    if base == "*":
        return
    start, dash, end = base.partition("-")
    low = spec.value(start)
    if dash:
        high = spec.value(end)
        if high < low:
            raise CronError(
                f"{spec.name} field: range {base!r} goes backwards "
                "(wrap-around ranges are not supported)"
            )


def _check_step(spec: _Field, step: str) -> None:
    if not (step.isascii() and step.isdigit()):
        raise CronError(f"{spec.name} field: step {_short(step)!r} is not a positive number")
    if len(step) > _MAX_DIGITS:
        raise CronError(f"{spec.name} field: step {_short(step)} is too large")
    if int(step) == 0:
        raise CronError(f"{spec.name} field: step must be at least 1")


def _from_cronsim(fields: Sequence[str]) -> CronSchedule:
    """Build the value sets with cronsim.

    The month is parsed separately so that cronsim's "day cannot exist in these months" check
    (``0 0 30 2 *``) does not turn an expression that merely never fires into a syntax error;
    ``check_cron`` reports that case as "never fires".
    """
    minute, hour, dom, month, dow = fields
    try:
        days = CronSim(f"{minute} {hour} {dom} * {dow}", _CRONSIM_ANCHOR)
        months = CronSim(f"0 0 * {month} *", _CRONSIM_ANCHOR).months
    except (CronSimError, ValueError) as error:  # our own checks should have caught it first
        raise CronError(f"invalid cron expression {_short(' '.join(fields))!r}: {error}") from None
    return CronSchedule(
        expression=" ".join(fields),
        minutes=frozenset(days.minutes),
        hours=frozenset(days.hours),
        days_of_month=frozenset(days.days),
        months=frozenset(months),
        weekdays=frozenset(day % 7 for day in days.weekdays if isinstance(day, int)),
        day_and=bool(days.day_and),
    )


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


# --- firing times and gaps ---------------------------------------------------------------


@dataclass(frozen=True)
class _Scan:
    """What one pass over a window found: firing count and the closest consecutive pair."""

    count: int
    gap: int | None
    pair: tuple[int, int] | None


def min_gap_seconds(
    schedule: CronSchedule, zone: ZoneInfo, start: datetime, days: int = _SCAN_DAYS
) -> int | None:
    """Shortest time, in absolute seconds, between two consecutive firings in a window.

    The window is ``[start, start + days * 24h)`` in absolute time; ``start`` must be aware.
    The routine fires at every absolute instant (whole local minute) whose wall-clock time in
    ``zone`` matches the cron. So a local time that does not exist (the spring-forward gap)
    never fires, and an ambiguous local time (the fall-back overlap) fires at both instants.
    Returns None when the routine fires fewer than twice in the window.

    Exact and fast: an ordinary day (one UTC offset all day) contributes only its first and
    last firing plus the precomputed intra-day gap; only days with an offset change are
    resolved minute by minute. This relies on no zone having two offset changes that cancel
    out within one day, which holds for every zone in tzdata (closest pair: ~4 days apart).
    """
    return _scan(schedule, zone, start, days).gap


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
    schedules many times, and a year's scan is the most expensive rule there is."""
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
    scan = _scan(schedule, zone, start, _SCAN_DAYS)
    if scan.count == 0:
        # Sparse schedules (29 February) need the longer window both to fire and to show a gap.
        scan = _scan(schedule, zone, start, _NEVER_FIRES_DAYS)
    if scan.count == 0:
        return (f"cron expression {schedule.expression!r} never fires in the next 4 years",)
    if scan.gap is not None and scan.pair is not None and scan.gap < MIN_CRON_GAP_SECONDS:
        problems.append(_too_frequent_message(scan.gap, scan.pair, zone, time_zone))
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
    offset = _offset_seconds(moment)
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def _duration_text(seconds: int) -> str:
    if seconds % 60:
        return f"{seconds} seconds"
    minutes = seconds // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _scan(schedule: CronSchedule, zone: ZoneInfo, start: datetime, days: int) -> _Scan:
    """Count the firings in ``[start, start + days)`` and find the closest consecutive pair."""
    if start.tzinfo is None:
        raise ValueError("start must be a timezone-aware datetime")
    times = schedule.seconds_of_day()
    intra = _closest_adjacent(times)
    start_ts = start.timestamp()
    end_ts = start_ts + days * _SECONDS_PER_DAY
    events: list[int] = []
    count = 0
    intra_pair: tuple[int, int] | None = None
    for day in _local_dates(zone, start, days):
        if not schedule.matches_date(day):
            continue
        offset = constant_offset(day, zone)
        if offset is not None:
            base = naive_epoch(day) - offset
            if start_ts <= base + times[0] and base + times[-1] < end_ts:
                # An ordinary day fully inside the window: its edges plus the intra-day gap.
                count += len(times)
                events.extend((base + times[0], base + times[-1]))
                if intra is not None and intra_pair is None:
                    intra_pair = (base + times[intra], base + times[intra + 1])
                continue
            firings = [base + second for second in times]
        else:
            firings = resolve_day(day, times, zone)
        inside = [instant for instant in firings if start_ts <= instant < end_ts]
        count += len(inside)
        events.extend(inside)
    return _Scan(count, *_closest_pair(sorted(set(events)), intra_pair))


def _closest_adjacent(times: Sequence[int]) -> int | None:
    """Index ``i`` of the first smallest ``times[i + 1] - times[i]``, or None if one time."""
    if len(times) < 2:
        return None
    return min(range(len(times) - 1), key=lambda i: times[i + 1] - times[i])


def _closest_pair(
    events: Sequence[int], extra: tuple[int, int] | None
) -> tuple[int | None, tuple[int, int] | None]:
    """Smallest consecutive difference in ``events`` (or ``extra``); earliest pair on ties."""
    candidates = [*itertools.pairwise(events), *([extra] if extra is not None else [])]
    if not candidates:
        return None, None
    best = min(candidates, key=lambda pair: (pair[1] - pair[0], pair[0]))
    return best[1] - best[0], best


def _local_dates(zone: ZoneInfo, start: datetime, days: int) -> Iterator[date]:
    """Every local calendar date that can hold a firing of the window, with a day of slack."""
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = (start + timedelta(days=days)).astimezone(zone).date() + timedelta(days=1)
    for ordinal in range(first.toordinal(), last.toordinal() + 1):
        yield date.fromordinal(ordinal)


def naive_epoch(day: date) -> int:
    """Seconds from 1970-01-01 00:00 to ``day`` 00:00 on a naive (wall-clock) time line."""
    return (day.toordinal() - _EPOCH_ORDINAL) * _SECONDS_PER_DAY


def _offset_seconds(moment: datetime) -> int:
    offset = moment.utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def constant_offset(day: date, zone: ZoneInfo) -> int | None:
    """The UTC offset of local date ``day`` if it has one all day, else None.

    00:00 is read with ``fold=0`` (the earlier reading) and 23:59 with ``fold=1`` (the later),
    so a gap or overlap touching either end of the day also shows up as a difference.
    """
    morning = datetime(day.year, day.month, day.day, 0, 0, tzinfo=zone)
    night = datetime(day.year, day.month, day.day, 23, 59, tzinfo=zone, fold=1)
    offset = _offset_seconds(morning)
    return offset if offset == _offset_seconds(night) else None


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
            instant = midnight + second - _offset_seconds(local)
            if _offset_seconds(datetime.fromtimestamp(instant, zone)) == _offset_seconds(local):
                instants.add(instant)
    return sorted(instants)
