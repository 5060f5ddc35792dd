"""How ``reconciler schedule`` writes times, offsets and offset changes (text, markdown, HTML)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from reconciler.app.schedule import OffsetChange, Schedule

_MINUTE = "%a %Y-%m-%d %H:%M"


def local(moment: int, zone: ZoneInfo) -> datetime:
    """``moment`` (unix seconds) in ``zone``."""
    return datetime.fromtimestamp(moment, UTC).astimezone(zone)


def utc_minute(moment: int) -> str:
    """``Mon 2026-03-09 06:00``: the UTC time of ``moment``."""
    return local(moment, ZoneInfo("UTC")).strftime(_MINUTE)


def zone_minute(moment: int, zone: ZoneInfo) -> str:
    """``Mon 2026-03-09 07:00 CET``: the time of ``moment`` in ``zone``, with its abbreviation."""
    when = local(moment, zone)
    return f"{when.strftime(_MINUTE)} {when.tzname() or offset(_offset(when))}"


def iso_utc(moment: int) -> str:
    """``2026-03-09T06:00:00Z``."""
    return local(moment, ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_local(moment: int, zone: ZoneInfo) -> str:
    """``2026-03-09T07:00:00+01:00``: ISO 8601 with the zone's offset."""
    return local(moment, zone).isoformat()


def offset(seconds: int) -> str:
    """``UTC+01:00``, ``UTC-03:30``, ``UTC+00:00``."""
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    return f"UTC{sign}{hours:02d}:{rest // 60:02d}"


def _offset(when: datetime) -> int:
    found = when.utcoffset()
    return 0 if found is None else int(found.total_seconds())


def _span(seconds: int) -> str:
    hours, rest = divmod(abs(seconds), 3600)
    minutes = rest // 60
    return (
        f"{hours} h" if not minutes else f"{hours} h {minutes} min" if hours else f"{minutes} min"
    )


def change_words(change: OffsetChange) -> str:
    """``clocks go forward 1 h at 02:00 local on Sun 2026-03-29 (01:00 UTC; UTC+01:00 to
    UTC+02:00): 02:00-03:00 does not happen``."""
    before = datetime(1970, 1, 1) + timedelta(seconds=change.at + change.before)
    after = datetime(1970, 1, 1) + timedelta(seconds=change.at + change.after)
    forward = change.after > change.before
    direction = "forward" if forward else "back"
    low, high = (before, after) if forward else (after, before)
    what = "does not happen" if forward else "happens twice"
    return (
        f"clocks go {direction} {_span(change.after - change.before)} at "
        f"{before.strftime('%H:%M')} local on {before.strftime('%a %Y-%m-%d')} "
        f"({local(change.at, ZoneInfo('UTC')).strftime('%H:%M')} UTC; "
        f"{offset(change.before)} to {offset(change.after)}): "
        f"{low.strftime('%H:%M')}-{high.strftime('%H:%M')} {what}"
    )


def window_words(schedule: Schedule) -> str:
    """``from Mon 2026-03-09 00:00 UTC to Mon 2026-03-16 00:00 UTC (7 days)``."""
    window = schedule.window
    days = "1 day" if window.days == 1 else f"{window.days} days"
    return f"from {utc_minute(window.start)} UTC to {utc_minute(window.end)} UTC ({days})"


def plural(count: int, word: str) -> str:
    """``1 fire``, ``2,016 fires``."""
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def counts_words(schedule: Schedule) -> str:
    """``21 fires of 3 routines (2 agents)``."""
    routines, agents = plural(schedule.routines, "routine"), len(schedule.agents())
    return f"{plural(schedule.total, 'fire')} of {routines} ({plural(agents, 'agent')})"
