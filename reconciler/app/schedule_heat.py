"""The heat map of ``reconciler schedule --output html``: fires per day and hour of the window,
for all agents and for each of the busiest, in UTC and in a chosen zone, with the chosen zone's
offset changes (daylight saving) marked. Pure data; ``views/schedule_html.py`` draws it.

A row is a calendar day of the window in the panel's zone and a cell one wall-clock hour, so a
fire counts once, in the hour it happens: on a spring-forward day the skipped local hour has no
fires and is marked ``skipped``; on a fall-back day the repeated hour holds the fires of both
passes and is marked ``repeated``. In the UTC panel the hour of each change is marked
``instant``. A cell the window does not reach is ``inside=False``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from reconciler.app.schedule import (
    AgentLoad,
    OffsetChange,
    Schedule,
    Timed,
    Window,
    offset_at,
    offset_changes,
)
from reconciler.contract.zones import resolve_zone
from reconciler.diagnostics import ReconcilerError

MAX_HTML_DAYS: Final = 62
MAX_AGENTS: Final = 12
HOUR: Final = 3600
_UTC: Final = ZoneInfo("UTC")
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_UTC_KEYS: Final = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "UCT"})

MarkKind = Literal["skipped", "repeated", "instant"]


@dataclass(frozen=True)
class Mark:
    """An offset change that touches a cell: its local hour is ``skipped`` or ``repeated``, or
    (in the UTC panel) the change happens in it (``instant``)."""

    kind: MarkKind
    change: OffsetChange


@dataclass(frozen=True)
class Cell:
    """One wall-clock hour of one day."""

    hour: int
    count: int
    inside: bool
    mark: Mark | None = None


@dataclass(frozen=True)
class Day:
    """One calendar day of a panel: 24 cells."""

    day: date
    cells: tuple[Cell, ...]

    @property
    def marked(self) -> bool:
        """True when an offset change touches the day."""
        return any(cell.mark for cell in self.cells)


@dataclass(frozen=True)
class Panel:
    """A grid of days by hours in one zone."""

    zone_name: str
    zone: ZoneInfo
    days: tuple[Day, ...]

    @property
    def peak(self) -> int:
        """The largest count of any cell."""
        return max((cell.count for day in self.days for cell in day.cells), default=0)


@dataclass(frozen=True)
class Grid:
    """The fires of one agent (``None``: of all agents), one panel per zone."""

    agent: str | None
    fires: int
    routines: int
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class HeatMap:
    """Everything the HTML page shows."""

    schedule: Schedule
    zone_name: str
    zone: ZoneInfo
    changes: tuple[OffsetChange, ...]
    grids: tuple[Grid, ...]
    hidden: tuple[AgentLoad, ...]


def chosen_zone(name: str) -> ZoneInfo:
    """The ``--zone`` value as a zone; a ``ReconcilerError`` naming the flag otherwise."""
    try:
        return resolve_zone(name)
    except ValueError as err:
        raise ReconcilerError(f"--zone: {err}") from None


def check_html_days(days: int) -> None:
    """A ``ReconcilerError`` when the page would have more than ``MAX_HTML_DAYS`` rows."""
    if days > MAX_HTML_DAYS:
        raise ReconcilerError(
            f"--output html shows one row per day, at most {MAX_HTML_DAYS} days; "
            f"--days {days} is more",
            hint="choose fewer --days, or use -o text, json or markdown (up to 366 days)",
        )


def heat_map(schedule: Schedule, zone_name: str) -> HeatMap:
    """The heat map of ``schedule`` in UTC and in ``zone_name`` (one panel when that is UTC)."""
    check_html_days(schedule.window.days)
    zone = chosen_zone(zone_name)
    changes = tuple(offset_changes(zone, schedule.window))
    zones = [("UTC", _UTC)] if zone.key in _UTC_KEYS else [("UTC", _UTC), (zone_name, zone)]
    layout = [(name, z, _marks(z, changes)) for name, z in zones]
    loads = schedule.agents()
    grids = [_grid(None, schedule.timed, schedule.window, layout)]
    for load in loads[:MAX_AGENTS]:
        own = [t for t in schedule.timed if t.agent == load.agent]
        grids.append(_grid(load.agent, own, schedule.window, layout))
    return HeatMap(schedule, zone_name, zone, changes, tuple(grids), tuple(loads[MAX_AGENTS:]))


_Marks = dict[tuple[date, int], Mark]
_Layout = Sequence[tuple[str, ZoneInfo, _Marks]]


def _marks(zone: ZoneInfo, changes: Sequence[OffsetChange]) -> _Marks:
    return _instant_marks(changes) if zone is _UTC else _local_marks(changes)


def _grid(agent: str | None, timed: Sequence[Timed], window: Window, layout: _Layout) -> Grid:
    fires = [at for item in timed for at in item.fires]
    panels = tuple(_panel(name, zone, fires, window, marks) for name, zone, marks in layout)
    return Grid(agent, len(fires), len({t.routine for t in timed}), panels)


def _panel(name: str, zone: ZoneInfo, fires: Iterable[int], window: Window, marks: _Marks) -> Panel:
    counts = _counts(fires, zone, window)
    first = _local(window.start, zone).date()
    last = _local(window.end - 1, zone).date()
    days = []
    for ordinal in range(first.toordinal(), last.toordinal() + 1):
        day = date.fromordinal(ordinal)
        cells = tuple(
            Cell(hour, counts[(day, hour)], _inside(day, hour, zone, window),
                 marks.get((day, hour)))
            for hour in range(24)
        )  # fmt: skip
        days.append(Day(day, cells))
    return Panel(name, zone, tuple(days))


def _local(moment: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(moment, UTC).astimezone(zone)


def _counts(fires: Iterable[int], zone: ZoneInfo, window: Window) -> Counter[tuple[date, int]]:
    """Fires per (local date, hour): the zone's offset is constant between its changes in the
    window, so a fire's local hour is integer arithmetic (no datetime per fire)."""
    changes = offset_changes(zone, window)
    starts = [change.at for change in changes]
    offsets = [offset_at(zone, window.start), *(change.after for change in changes)]
    hours = Counter((at + offsets[bisect_right(starts, at)]) // HOUR for at in fires)
    return Counter({_hour_key(index): count for index, count in hours.items()})


def _hour_key(index: int) -> tuple[date, int]:
    """(date, hour) of the ``index``-th hour since 1970-01-01 00:00 on a wall-clock line."""
    days, hour = divmod(index, 24)
    return date.fromordinal(_EPOCH_ORDINAL + days), hour


def _hour_of(moment: int, zone: ZoneInfo) -> tuple[date, int]:
    local = _local(moment, zone)
    return local.date(), local.hour


def _inside(day: date, hour: int, zone: ZoneInfo, window: Window) -> bool:
    """True when the wall-clock hour overlaps the window."""
    begins = int(datetime(day.year, day.month, day.day, hour, tzinfo=zone).timestamp())
    return begins + HOUR > window.start and begins < window.end


def _local_marks(changes: Iterable[OffsetChange]) -> _Marks:
    """The local hours each change skips (clocks forward) or repeats (clocks back)."""
    marks: _Marks = {}
    for change in changes:
        before = _wall(change.at, change.before)
        after = _wall(change.at, change.after)
        kind: MarkKind = "skipped" if after > before else "repeated"
        low, high = min(before, after), max(before, after)
        hour = low.replace(minute=0, second=0)
        while hour < high:
            marks[(hour.date(), hour.hour)] = Mark(kind, change)
            hour += timedelta(hours=1)
    return marks


def _instant_marks(changes: Iterable[OffsetChange]) -> _Marks:
    """The UTC hour in which each change happens."""
    return {_hour_of(change.at, _UTC): Mark("instant", change) for change in changes}


def _wall(moment: int, offset: int) -> datetime:
    """The naive wall-clock time of ``moment`` at UTC offset ``offset``."""
    return datetime(1970, 1, 1) + timedelta(seconds=moment + offset)
