"""When a changed routine fires next, and the daylight-saving changes ahead that move its UTC
time, skip a fire or repeat one (docs/design.md, "Next fires and load forecast").

Every instant comes from the one firing definition (``contract.firing``): a skipped local time
(the spring-forward gap) does not fire, a repeated one (the fall-back overlap) fires twice.
Pure: routines in, data out; the views format it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo

from reconciler.contract.cron import CronError, CronSchedule, parse_cron
from reconciler.contract.firing import MAX_FIRINGS, firings, schedule_firings
from reconciler.contract.localtime import OffsetChange, offset_changes
from reconciler.contract.zones import resolve_zone
from reconciler.plan.redact import REDACTED

NEXT_COUNT: Final = 3
DST_HORIZON: Final = 365 * 86_400
"""How far ahead daylight-saving changes are looked for: the next 12 months."""
CLOCKED: Final = frozenset({"schedule", "timer"})
_TIMING: Final = ("type", "cron_expression", "time_zone", "at")
_DAY: Final = 86_400


@dataclass(frozen=True)
class FireSide:
    """The next fires of one side (before or after) of a trigger."""

    time_zone: str | None
    """The trigger's zone as written (IANA or Windows); None for a timer (shown in UTC)."""
    fires: tuple[int, ...]
    """Unix seconds, in order; empty when it never fires again (or the routine is disabled)."""
    enabled: bool = True


@dataclass(frozen=True)
class DstShift:
    """A change of the zone's UTC offset within the next 12 months that matters to a schedule:
    it fires on both sides of it (so its UTC time moves), or skips or repeats a fire that day."""

    at: int
    offset_before: int
    offset_after: int
    skipped: tuple[str, ...] = ()
    """Local times (``HH:MM``) that do not exist that day, so do not fire."""
    repeated: tuple[str, ...] = ()
    """Local times that happen twice that day, so fire twice."""

    @property
    def moves_seconds(self) -> int:
        """How far the UTC time of the same local time moves (negative: earlier)."""
        return self.offset_before - self.offset_after


@dataclass(frozen=True)
class TriggerFires:
    """A trigger's next fires: ``before`` only when its timing (type, cron, zone or ``at``)
    changes; ``dst`` for a schedule in a zone with daylight-saving changes ahead."""

    after: FireSide
    before: FireSide | None = None
    dst: tuple[DstShift, ...] = ()


def routine_fires(
    before: Mapping[str, Any] | None, after: Mapping[str, Any], now: int
) -> dict[str, TriggerFires]:
    """The next fires of each schedule and timer trigger of ``after`` (a canonical routine),
    with the trigger's ``before`` fires when its timing changes."""
    after_triggers = clocked(after)
    before_triggers = clocked(before) if before is not None else {}
    paired_by_position = len(_triggers(after)) == 1 and len(_triggers(before)) == 1
    result: dict[str, TriggerFires] = {}
    for name, trigger in after_triggers.items():
        earlier = before_triggers.get(name)
        if earlier is None and paired_by_position and before_triggers:
            earlier = next(iter(before_triggers.values()))  # the one trigger, renamed
        side = fire_side(trigger, enabled(after), now)
        prior = None
        if earlier is not None and timing_key(earlier) != timing_key(trigger):
            prior = fire_side(earlier, enabled(before), now)
        shifts = dst_shifts(trigger, now) if side.enabled else ()
        result[name] = TriggerFires(side, prior, shifts)
    return result


def clocked(routine: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """The routine's triggers that fire on a clock (schedule, timer), by name; one whose
    timing is redacted (declared sensitive) is left out, so no time shows it."""
    return {
        k: v
        for k, v in _triggers(routine).items()
        if v.get("type") in CLOCKED and REDACTED not in timing_key(v)
    }


def enabled(routine: Mapping[str, Any] | None) -> bool:
    """False only when the routine says ``enabled: false`` (absent is the default, true)."""
    return routine is not None and routine.get("enabled") is not False


def fire_side(trigger: Mapping[str, Any], is_enabled: bool, now: int) -> FireSide:
    """The next ``NEXT_COUNT`` fires of ``trigger`` after ``now`` (none when disabled)."""
    zone = trigger.get("time_zone") if trigger.get("type") == "schedule" else None
    zone_name = zone if isinstance(zone, str) else None
    if not is_enabled:
        return FireSide(zone_name, (), enabled=False)
    return FireSide(zone_name, next_fires(timing_key(trigger), now))


@lru_cache(maxsize=8192)
def next_fires(key: tuple[Any, ...], now: int) -> tuple[int, ...]:
    """Cached per distinct timing (``timing_key``) and ``now``: many routines share a schedule."""
    trigger = dict(zip(_TIMING, key, strict=True))
    return tuple(firings(trigger, now, float("inf"), limit=NEXT_COUNT))


def dst_shifts(
    trigger: Mapping[str, Any], now: int, horizon: int = DST_HORIZON
) -> tuple[DstShift, ...]:
    """The offset changes of a schedule's zone in ``(now, now + horizon]`` that move its UTC
    time, skip a fire or repeat one."""
    if trigger.get("type") != "schedule":
        return ()
    cron, zone = str(trigger.get("cron_expression")), str(trigger.get("time_zone"))
    return _dst_shifts(cron, zone, now, horizon)


@lru_cache(maxsize=4096)
def _dst_shifts(cron: str, zone_name: str, now: int, horizon: int) -> tuple[DstShift, ...]:
    try:
        schedule = parse_cron(cron)
        zone = resolve_zone(zone_name)
    except (CronError, ValueError):
        return ()
    end = now + horizon
    changes = offset_changes(zone, now + 1, end + 1)
    found: list[DstShift] = []
    for index, change in enumerate(changes):
        start = changes[index - 1].at if index else now
        until = changes[index + 1].at if index + 1 < len(changes) else end
        shift = _shift(schedule, zone, change, (start, until))
        if shift is not None:
            found.append(shift)
    return tuple(found)


def _shift(
    schedule: CronSchedule, zone: ZoneInfo, change: OffsetChange, period: tuple[int, int]
) -> DstShift | None:
    """The change as it concerns ``schedule``; ``period``: from the previous change (or now)
    to the next one (or the horizon)."""
    days = sorted({_local_date(change.at - 1, zone), _local_date(change.at, zone)})
    around = schedule_firings(
        schedule, zone, change.at - 2 * _DAY, change.at + 2 * _DAY, limit=MAX_FIRINGS
    )
    seen = Counter(_wall(instant, zone) for instant in around)
    times = schedule.seconds_of_day()
    expected = [(d, _clock(t)) for d in days if schedule.matches_date(d) for t in times]
    skipped = tuple(clock for day, clock in expected if seen[(day, clock)] == 0)
    repeated = tuple(clock for day, clock in expected if seen[(day, clock)] > 1)
    start, until = period
    fires_before = schedule_firings(schedule, zone, start, change.at - 1, limit=1)
    fires_after = schedule_firings(schedule, zone, change.at - 1, until, limit=1)
    if not (fires_before and fires_after) and not skipped and not repeated:
        return None
    return DstShift(change.at, change.before, change.after, skipped, repeated)


def timing_key(trigger: Mapping[str, Any]) -> tuple[Any, ...]:
    """What decides when a trigger fires (hashable: anything odd becomes text, which never
    fires)."""
    values = (trigger.get(field) for field in _TIMING)
    return tuple(v if v is None or isinstance(v, str | int) else repr(v) for v in values)


def _triggers(routine: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    triggers = (routine or {}).get("triggers")
    if not isinstance(triggers, dict):
        return {}
    return {str(k): v for k, v in triggers.items() if isinstance(v, dict)}


def _local_date(instant: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(instant, zone).date()


def _wall(instant: int, zone: ZoneInfo) -> tuple[date, str]:
    moment = datetime.fromtimestamp(instant, zone)
    return moment.date(), f"{moment.hour:02d}:{moment.minute:02d}"


def _clock(second: int) -> str:
    hour, minute = divmod(second // 60, 60)
    return f"{hour:02d}:{minute:02d}"
