"""Timer ``at`` values: the forms people write, resolved to the wire's unix seconds.

Accepted forms: an integer (unix seconds, UTC), an ISO 8601 date-time with an offset
(``2026-09-01T09:00:00Z``), a local date-time plus a time zone (``2026-09-01T09:00:00`` with
``time_zone: Europe/Stockholm``), or a duration from now (``30m``, ``2h``, ``1d``, ``1h30m``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from reconciler.contract.zones import resolve_zone

TimerForm = Literal["epoch", "iso", "local", "duration"]

_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNIT_SECONDS = (604800, 86400, 3600, 60, 1)
_MAX_DURATION = 10 * 365 * 86400
DURATION_TEXT_MAX = 16


@dataclass(frozen=True)
class TimerAt:
    """A resolved timer: the wire timestamp, the form it was written in and the text."""

    epoch: int
    form: TimerForm
    text: str


def parse_duration(text: str) -> int | None:
    """Seconds in a duration such as ``30m`` or ``1h30m``; None if ``text`` is not one."""
    if len(text) > DURATION_TEXT_MAX:
        return None
    match = _DURATION.match(text)
    if match is None or not any(match.groups()):
        return None
    return sum(int(g or 0) * unit for g, unit in zip(match.groups(), _UNIT_SECONDS, strict=True))


def resolve_at(value: int | str, time_zone: str | None, now: int) -> TimerAt:
    """Resolve a timer ``at`` to unix seconds; raises ValueError with a one-line reason."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("must be unix seconds, an ISO 8601 date-time or a duration like 30m")
    if isinstance(value, int):
        _reject_zone_for(time_zone, "an integer timestamp")
        return TimerAt(value, "epoch", str(value))
    seconds = parse_duration(value)
    if seconds is not None:
        _reject_zone_for(time_zone, "a duration")
        if seconds == 0 or seconds > _MAX_DURATION:
            raise ValueError(f"duration {value!r} must be more than 0 and at most 10 years")
        return TimerAt(now + seconds, "duration", value)
    return _resolve_datetime(value, time_zone)


def _reject_zone_for(time_zone: str | None, form: str) -> None:
    if time_zone is not None:
        raise ValueError(f"time_zone applies only to a local date-time, not to {form}")


def _resolve_datetime(text: str, time_zone: str | None) -> TimerAt:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a date-time or a duration: use unix seconds, ISO 8601 "
            "(2026-09-01T09:00:00Z), a local time with time_zone, or a duration like 30m"
        ) from None
    if moment.tzinfo is not None:
        _reject_zone_for(time_zone, "a date-time with a UTC offset")
        return TimerAt(int(moment.timestamp()), "iso", text)
    if time_zone is None:
        raise ValueError(
            f"{text!r} has no UTC offset: add one (e.g. Z or +02:00) or set time_zone on the timer"
        )
    return TimerAt(_local_epoch(moment, time_zone), "local", text)


def _local_epoch(moment: datetime, time_zone: str) -> int:
    zone = resolve_zone(time_zone)
    first = moment.replace(tzinfo=zone, fold=0)
    round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != moment:
        raise ValueError(
            f"{moment.isoformat()} does not exist in {time_zone} (clocks skip it for daylight "
            f"saving); the next valid time is {round_trip.isoformat()}"
        )
    return int(first.timestamp())


def format_epoch(epoch: int) -> str:
    """UTC ISO 8601 text of a unix timestamp, for messages and plans."""
    return (datetime(1970, 1, 1) + timedelta(seconds=epoch)).isoformat() + "Z"
