"""The fires of every declared routine in a window (``reconciler schedule``; docs/design.md,
"Schedule preview").

Pure data from the one firing definition (``contract.firing.firings``): a schedule fires at every
minute whose wall-clock time in its zone matches the cron expression (a skipped local hour never
fires, a repeated one fires twice), a timer once at its instant. The window is ``[start, end)``.
Nothing here prints; a window that is too large is a ``ReconcilerError``.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

from reconciler.contract import localtime
from reconciler.contract.firing import firings
from reconciler.contract.zones import resolve_zone
from reconciler.diagnostics import ReconcilerError
from reconciler.manifest.loader import DesiredRoutine

MAX_DAYS: Final = 366
MAX_FIRES: Final = 1_000_000
DAY: Final = 86_400
_FIRST_YEAR: Final = 1971
_LAST_YEAR: Final = 9000


@dataclass(frozen=True)
class Window:
    """``days`` days from ``start`` (unix seconds, inclusive) to ``end`` (exclusive)."""

    start: int
    days: int

    @property
    def end(self) -> int:
        """The first instant after the window."""
        return self.start + self.days * DAY


@dataclass(frozen=True)
class Timed:
    """One routine's time trigger (a schedule or a timer) and its fires in the window."""

    routine: str
    trigger: str
    kind: str
    agent: str
    zone: ZoneInfo
    zone_name: str
    """As declared (an IANA or Windows name; ``UTC`` for a timer declared without one)."""
    rule: str
    """The cron expression, or the timer's ``at`` as written."""
    fires: tuple[int, ...]


@dataclass(frozen=True)
class Fire:
    """One fire: its instant and the trigger it belongs to."""

    at: int
    timed: Timed


@dataclass(frozen=True)
class Quiet:
    """A declared routine without a fire in the window, and why."""

    routine: str
    reason: str


@dataclass(frozen=True)
class OffsetChange:
    """A change of a zone's UTC offset (daylight saving) at ``at``, and who it moves."""

    zone: str
    at: int
    before: int
    after: int
    routines: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentLoad:
    """How often one agent is invoked in the window, by how many routines."""

    agent: str
    fires: int
    routines: int


@dataclass(frozen=True)
class Schedule:
    """Every declared routine's fires in one window."""

    window: Window
    timed: tuple[Timed, ...]
    quiet: tuple[Quiet, ...]
    changes: tuple[OffsetChange, ...]
    busiest_zone: str

    @property
    def total(self) -> int:
        """The number of fires in the window."""
        return sum(len(t.fires) for t in self.timed)

    @property
    def routines(self) -> int:
        """The number of declared routines."""
        return len({t.routine for t in self.timed} | {q.routine for q in self.quiet})

    def rows(self, limit: int) -> list[Fire]:
        """The first ``limit`` fires in time order (then routine name)."""
        streams = [_keyed(t, i) for i, t in enumerate(self.timed)]
        merged: Iterator[tuple[int, str, int]] = heapq.merge(*streams)
        return [Fire(at, self.timed[i]) for at, _, i in _take(merged, limit)]

    def agents(self) -> list[AgentLoad]:
        """Per agent: fires and routines, the busiest first."""
        fires: Counter[str] = Counter()
        routines: dict[str, set[str]] = {}
        for timed in self.timed:
            fires[timed.agent] += len(timed.fires)
            routines.setdefault(timed.agent, set()).add(timed.routine)
        ordered = sorted(fires, key=lambda agent: (-fires[agent], agent))
        return [AgentLoad(a, fires[a], len(routines[a])) for a in ordered]


def _keyed(timed: Timed, index: int) -> Iterator[tuple[int, str, int]]:
    for at in timed.fires:
        yield at, timed.routine, index


def _take(items: Iterator[tuple[int, str, int]], limit: int) -> list[tuple[int, str, int]]:
    taken: list[tuple[int, str, int]] = []
    for item in items:
        if len(taken) >= limit:
            break
        taken.append(item)
    return taken


def parse_start(text: str | None, now: int) -> int:
    """The window's start: ``now`` (None), or an ISO date (midnight UTC) or date-time (UTC
    unless it names an offset); a ``ReconcilerError`` naming ``--from`` otherwise."""
    if text is None:
        return now
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ReconcilerError(
            f"--from {text!r} is not a date: use an ISO date or date-time such as 2026-03-09, "
            "2026-03-09T07:00 (UTC) or 2026-03-09T07:00+01:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not _FIRST_YEAR <= moment.astimezone(UTC).year <= _LAST_YEAR:
        raise ReconcilerError(f"--from {text!r}: choose a year from {_FIRST_YEAR} to {_LAST_YEAR}")
    return int(moment.timestamp())


def make_schedule(routines: Sequence[DesiredRoutine], window: Window) -> Schedule:
    """The fires of ``routines`` in ``window``; a ``ReconcilerError`` above ``MAX_FIRES``."""
    timed: list[Timed] = []
    quiet: list[Quiet] = []
    budget = MAX_FIRES
    for routine in routines:
        found, reason = _routine_fires(routine, window, budget + 1)
        budget -= sum(len(t.fires) for t in found)
        if budget < 0:
            raise ReconcilerError(
                f"the {window.days}-day window holds more than {MAX_FIRES:,} fires",
                hint="choose fewer --days, or fewer manifests",
            )
        timed += [t for t in found if t.fires]
        if reason or not any(t.fires for t in found):
            quiet.append(Quiet(routine.name, reason or "no fire in this window"))
    return Schedule(
        window=window,
        timed=tuple(timed),
        quiet=tuple(quiet),
        changes=tuple(_changes(timed, window)),
        busiest_zone=busiest_zone(timed),
    )


def _routine_fires(
    routine: DesiredRoutine, window: Window, limit: int
) -> tuple[list[Timed], str | None]:
    spec = routine.spec
    if not spec.enabled:
        return [], "disabled"
    action = spec.action
    agent = action.agent_name or action.agent_endpoint_id or ""
    found: list[Timed] = []
    kinds: list[str] = []
    for name, trigger in spec.triggers.items():
        data = trigger.model_dump(exclude_none=True)
        kinds.append(str(data.get("type")))
        if data.get("type") == "timer":
            data["at"] = routine.timers[name].epoch
            rule = routine.timers[name].text
        elif data.get("type") == "schedule":
            rule = str(data.get("cron_expression"))
        else:
            continue
        zone_name = str(data.get("time_zone") or "UTC")
        instants = firings(data, window.start - 1, window.end - 1, limit=limit)
        zone = resolve_zone(zone_name)
        found.append(Timed(spec.name, name, str(data["type"]), agent, zone, zone_name, rule,
                           tuple(instants)))  # fmt: skip
    if not found:
        return [], f"{' and '.join(sorted(set(kinds)))} trigger: fires on events, not on a clock"
    return found, None


def busiest_zone(timed: Iterable[Timed]) -> str:
    """The zone most of the scheduled routines use (``UTC`` when none does)."""
    counts = Counter(t.zone_name for t in timed if t.kind == "schedule")
    if not counts:
        return "UTC"
    return min(counts, key=lambda name: (-counts[name], name))


def _changes(timed: Sequence[Timed], window: Window) -> Iterator[OffsetChange]:
    """The offset changes of every zone a schedule fires in, with the routines they move."""
    users: dict[str, set[str]] = {}
    zones: dict[str, ZoneInfo] = {}
    for item in timed:
        if item.kind == "schedule":
            users.setdefault(item.zone.key, set()).add(item.routine)
            zones[item.zone.key] = item.zone
    for key in sorted(zones):
        for change in offset_changes(zones[key], window):
            yield OffsetChange(
                key, change.at, change.before, change.after, tuple(sorted(users[key]))
            )


def offset_changes(zone: ZoneInfo, window: Window) -> list[OffsetChange]:
    """Every instant in the window where ``zone``'s UTC offset changes (``contract.localtime``)."""
    return [
        OffsetChange(zone.key, change.at, change.before, change.after)
        for change in localtime.offset_changes(zone, window.start, window.end)
    ]


def offset_at(zone: ZoneInfo, moment: int) -> int:
    """``zone``'s UTC offset at ``moment``, in seconds."""
    return localtime.offset_at(zone, moment)
