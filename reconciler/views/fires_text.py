"""Next fires and the load forecast in words, for the text and markdown plans:
``Mon 2026-12-07 07:00 JST (2026-12-06 22:00 UTC)``."""

from __future__ import annotations

from datetime import UTC, datetime, timezone
from zoneinfo import ZoneInfo

from reconciler.plan.fires import DstShift, FireSide, TriggerFires
from reconciler.plan.forecast import AgentLoad, Busiest, Forecast
from reconciler.plan.model import Change
from reconciler.plan.previews_json import per_day, zone_of


def moment(instant: int, zone: ZoneInfo | timezone) -> str:
    """``Mon 2026-12-07 07:00 JST (2026-12-06 22:00 UTC)``; UTC once when the zone is UTC."""
    local = datetime.fromtimestamp(instant, zone)
    clock = "%H:%M:%S" if local.second else "%H:%M"
    text = local.strftime(f"%a %Y-%m-%d {clock} ") + (local.tzname() or "")
    if local.utcoffset() == UTC.utcoffset(None) and local.tzname() in ("UTC", "GMT", "Z"):
        return text
    utc = datetime.fromtimestamp(instant, UTC).strftime(f"%Y-%m-%d {clock} UTC")
    return f"{text} ({utc})"


def side_text(side: FireSide) -> str:
    """The side's fires, or why there are none."""
    if not side.enabled:
        return "none (the routine is disabled)"
    if not side.fires:
        return "none (it does not fire again)"
    zone = zone_of(side.time_zone)
    return ", ".join(moment(t, zone) for t in side.fires)


def fire_lines(change: Change) -> list[str]:
    """``next: ...`` per clock trigger (``next before:`` / ``next after:`` when its timing
    changes) and one ``dst: ...`` line when daylight-saving changes lie ahead."""
    lines: list[str] = []
    named = len(change.next_fires) > 1
    for name, item in change.next_fires.items():
        label = f"next ({name})" if named else "next"
        if item.before is None:
            lines.append(f"{label}: {side_text(item.after)}")
        else:
            lines.append(f"{label} before: {side_text(item.before)}")
            lines.append(f"{label} after:  {side_text(item.after)}")
        if item.dst:
            lines.append(f"{'dst' if not named else f'dst ({name})'}: {dst_text(item)}")
    return lines


def dst_text(item: TriggerFires) -> str:
    """``Sun 2027-03-28 CET -> CEST: UTC times 1h earlier, 02:30 skipped; ...``."""
    zone = zone_of(item.after.time_zone)
    return "; ".join(_shift_text(shift, zone) for shift in item.dst)


def _shift_text(shift: DstShift, zone: ZoneInfo | timezone) -> str:
    before = datetime.fromtimestamp(shift.at - 1, zone)
    after = datetime.fromtimestamp(shift.at, zone)
    moves = shift.moves_seconds
    way = "earlier" if moves < 0 else "later"
    text = (
        f"{after.strftime('%a %Y-%m-%d')} {before.tzname()} -> {after.tzname()}: "
        f"UTC times {_duration(abs(moves))} {way}"
    )
    if shift.skipped:
        text += f", {', '.join(shift.skipped)} skipped (does not exist that day)"
    if shift.repeated:
        text += f", {', '.join(shift.repeated)} fire{'s' if len(shift.repeated) == 1 else ''} twice"
    return text


def _duration(seconds: int) -> str:
    hours, minutes = divmod(seconds // 60, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes or not hours else "")


def forecast_title(result: Forecast) -> str:
    """The heading of the forecast."""
    return (
        f"Load forecast per agent (runs per day over the next {result.runs_days} days; "
        f"busiest UTC minute over the next {result.minute_days} days):"
    )


def runs_text(load: AgentLoad, result: Forecast) -> str:
    """``0.71 -> 1.71 runs/day``."""
    before = _rate(per_day(load.runs_before, result.runs_days))
    after = _rate(per_day(load.runs_after, result.runs_days))
    return f"{before} -> {after} runs/day"


def busiest_text(load: AgentLoad) -> str:
    """``1 routine (Mon 2026-12-07 06:00 UTC) -> 3 routines (Mon 2026-12-07 06:00 UTC)``."""
    return f"{_busy(load.busiest_before)} -> {_busy(load.busiest_after)}"


def load_line(load: AgentLoad, result: Forecast) -> str:
    """One agent: runs per day and the busiest minute, and the herd warning."""
    text = f"{load.agent}: {runs_text(load, result)}; busiest minute: {busiest_text(load)}"
    if load.herd(result.threshold):
        text += f"  (above the herd threshold of {result.threshold})"
    return text


def _rate(value: float) -> str:
    return f"{value:.2f}" if value >= 0.1 or value == 0 else f"{value:.3f}"


def _busy(busiest: Busiest | None) -> str:
    if busiest is None:
        return "none"
    when = datetime.fromtimestamp(busiest.at, UTC).strftime("%a %Y-%m-%d %H:%M UTC")
    return f"{busiest.routines} routine{'' if busiest.routines == 1 else 's'} ({when})"
