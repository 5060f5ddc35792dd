"""The load a plan puts on each agent: runs per day before and after, and the busiest UTC
minute (how many routines fire in it), to spare an agent a thundering herd at 07:00
(docs/design.md, "Next fires and load forecast").

Pure: the routines of both sides in, numbers out. The busiest minute comes from the one firing
definition (``contract.firing``), each distinct (cron, zone) enumerated once; runs per day are
counted from the cron's time and day sets over the next 365 dates, which is the firing
definition's count but for the skipped and repeated local hours of daylight-saving days.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Final

from reconciler.contract.cron import CronError, parse_cron
from reconciler.contract.firing import schedule_firings
from reconciler.contract.zones import resolve_zone
from reconciler.plan.fires import clocked, enabled, timing_key

DEFAULT_HERD_THRESHOLD: Final = 20
RUNS_DAYS: Final = 365
MINUTE_WINDOWS: Final = (31, 7, 1)
"""Days searched for the busiest minute: the longest whose fires stay within the budget."""
MINUTE_BUDGET: Final = 1_000_000
NAMES_KEPT: Final = 5
_DAY: Final = 86_400

Routine = Mapping[str, Any]


@dataclass(frozen=True)
class Busiest:
    """The UTC minute in which most of an agent's routines fire (the earliest of a tie)."""

    at: int
    routines: int
    names: tuple[str, ...]
    """The first ``NAMES_KEPT`` of them, by name."""


@dataclass(frozen=True)
class AgentLoad:
    """One agent's load before and after the plan (``runs_*``: runs in the next 365 days)."""

    agent: str
    runs_before: int
    runs_after: int
    busiest_before: Busiest | None = None
    busiest_after: Busiest | None = None

    def herd(self, threshold: int) -> bool:
        """True when more than ``threshold`` routines fire in one minute after the plan."""
        return self.busiest_after is not None and self.busiest_after.routines > threshold


@dataclass(frozen=True)
class Forecast:
    """The load of every agent a pending change names."""

    threshold: int
    minute_days: int
    agents: tuple[AgentLoad, ...]
    runs_days: int = RUNS_DAYS

    def herds(self) -> list[AgentLoad]:
        """The agents above the threshold after the plan."""
        return [a for a in self.agents if a.herd(self.threshold)]


def agent_of(routine: Routine | None) -> str | None:
    """The agent a routine's action invokes (``agent_name``, else ``endpoint:ID``)."""
    action = (routine or {}).get("action")
    if not isinstance(action, dict):
        return None
    name, endpoint = action.get("agent_name"), action.get("agent_endpoint_id")
    if isinstance(name, str) and name:
        return name
    return f"endpoint:{endpoint}" if isinstance(endpoint, str) and endpoint else None


def forecast(
    before: Mapping[str, Routine],
    after: Mapping[str, Routine],
    agents: Iterable[str],
    now: int,
    threshold: int = DEFAULT_HERD_THRESHOLD,
) -> Forecast | None:
    """The load of ``agents`` with the routines of ``before`` and of ``after`` (by name);
    None when there is no agent to report."""
    wanted = sorted(set(agents))
    if not wanted:
        return None
    sides = [_by_agent(before, set(wanted)), _by_agent(after, set(wanted))]
    days = _window(sides, now)
    fires = _Fires(now, now + days * _DAY)
    loads = tuple(
        AgentLoad(
            agent,
            _runs(sides[0].get(agent, []), now),
            _runs(sides[1].get(agent, []), now),
            _busiest(sides[0].get(agent, []), fires),
            _busiest(sides[1].get(agent, []), fires),
        )
        for agent in wanted
    )
    return Forecast(threshold, days, loads)


Clocked = list[tuple[str, list[Mapping[str, Any]]]]


def _by_agent(routines: Mapping[str, Routine], wanted: set[str]) -> dict[str, Clocked]:
    """Enabled routines of the wanted agents with their clock triggers, by agent."""
    found: dict[str, Clocked] = {}
    for name, routine in routines.items():
        agent = agent_of(routine)
        triggers = list(clocked(routine).values())
        if agent in wanted and triggers and enabled(routine):
            found.setdefault(agent, []).append((name, triggers))
    return found


def _runs(routines: Clocked, now: int) -> int:
    return sum(yearly_runs(timing_key(t), now) for _, triggers in routines for t in triggers)


@lru_cache(maxsize=16_384)
def yearly_runs(key: tuple[Any, ...], now: int) -> int:
    """Fires of a trigger (``fires.timing_key``) in the next ``RUNS_DAYS`` days."""
    kind, cron, zone, at = key
    if kind == "timer":
        return int(isinstance(at, int) and now < at <= now + RUNS_DAYS * _DAY)
    try:
        schedule = parse_cron(str(cron))
        resolve_zone(str(zone))
    except (CronError, ValueError):
        return 0
    first = datetime.fromtimestamp(now, UTC).date().toordinal()
    matching = _matching_days(
        schedule.days_of_month, schedule.months, schedule.weekdays, schedule.day_and, first
    )
    return matching * len(schedule.seconds_of_day())


@lru_cache(maxsize=4096)
def _matching_days(
    days: frozenset[int], months: frozenset[int], weekdays: frozenset[int], both: bool, first: int
) -> int:
    """Dates of the ``RUNS_DAYS`` from ordinal ``first`` that the day fields match (cached per
    day fields: schedules share far fewer of them than cron expressions)."""
    count = 0
    for ordinal in range(first, first + RUNS_DAYS):
        day = date.fromordinal(ordinal)
        if day.month not in months:
            continue
        dom, dow = day.day in days, day.isoweekday() % 7 in weekdays
        count += (dom and dow) if both else (dom or dow)
    return count


def _window(sides: list[dict[str, Clocked]], now: int) -> int:
    """The longest of ``MINUTE_WINDOWS`` whose fires (each distinct trigger counted once) fit
    ``MINUTE_BUDGET``."""
    keys = {timing_key(t) for side in sides for rs in side.values() for _, ts in rs for t in ts}
    per_day = sum(yearly_runs(key, now) for key in keys) / RUNS_DAYS
    return next((d for d in MINUTE_WINDOWS if per_day * d <= MINUTE_BUDGET), MINUTE_WINDOWS[-1])


class _Fires:
    """Fire instants in ``(low, high]`` per distinct trigger, computed once."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.high = low, high
        self._cache: dict[tuple[Any, ...], list[int]] = {}

    def of(self, key: tuple[Any, ...]) -> list[int]:
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._compute(key)
        return found

    def _compute(self, key: tuple[Any, ...]) -> list[int]:
        kind, cron, zone, at = key
        if kind == "timer":
            inside = isinstance(at, int) and self.low < at <= self.high
            return [at - at % 60] if inside else []
        try:
            schedule, tz = parse_cron(str(cron)), resolve_zone(str(zone))
        except (CronError, ValueError):
            return []
        limit = (self.high - self.low) // 60 + 1
        return schedule_firings(schedule, tz, self.low, self.high, limit=limit)

    def fires_at(self, key: tuple[Any, ...], minute: int) -> bool:
        found = self.of(key)
        index = bisect_left(found, minute)
        return index < len(found) and found[index] == minute


def _busiest(routines: Clocked, fires: _Fires) -> Busiest | None:
    owners: dict[tuple[Any, ...], list[str]] = {}
    for name, triggers in routines:
        for trigger in triggers:
            owners.setdefault(timing_key(trigger), []).append(name)
    counts: Counter[int] = Counter()
    for key, names in owners.items():
        if len(names) == 1:
            counts.update(fires.of(key))
        else:
            for minute in fires.of(key):
                counts[minute] += len(names)
    if not counts:
        return None
    at, top = min(counts.items(), key=lambda item: (-item[1], item[0]))
    names = sorted({n for key, ns in owners.items() if fires.fires_at(key, at) for n in ns})
    return Busiest(at, top, tuple(names[:NAMES_KEPT]))
