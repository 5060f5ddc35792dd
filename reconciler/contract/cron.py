"""Cron expressions of a routine's ``schedule`` trigger, and the service's minimum-cadence rule.

Only standard 5-field cron is accepted (minute hour day-of-month month day-of-week); value sets
come from ``cronsim``. Semantics follow Vixie/Debian cron, as cronsim implements them:

* day-of-week 0 and 7 are both Sunday; month and day names are three-letter English
  abbreviations, case-insensitive, allowed only in their own field;
* ``a/n`` (a single value with a step) means ``a-max/n``;
* day-of-month and day-of-week combine with OR when both are restricted, and with AND when
  either field *starts with* ``*`` (so ``*/2`` in either field gives AND, the classic cron quirk).

When a schedule fires is ``firing``; the five-minute cadence rule is ``cadence``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Final

from cronsim import CronSim, CronSimError

__all__ = ["CronError", "CronSchedule", "parse_cron"]

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
