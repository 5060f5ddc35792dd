"""Next fires and the load forecast in JSON: the public plan document's form (ISO 8601 times
with their offset, read back for ``reconciler render``) and the saved plan file's lossless one
(unix seconds, every field)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from reconciler.contract.zones import resolve_zone
from reconciler.plan.fires import DstShift, FireSide, TriggerFires
from reconciler.plan.forecast import AgentLoad, Busiest, Forecast

# --- the public plan document --------------------------------------------------------------


def zone_of(name: str | None) -> ZoneInfo | timezone:
    """The zone a side is shown in: the trigger's own, UTC for a timer (or an unknown name)."""
    if name is None:
        return UTC
    try:
        return resolve_zone(name)
    except ValueError:
        return UTC


def iso(instant: int, zone: ZoneInfo | timezone) -> str:
    """``2026-12-07T07:00:00+09:00``."""
    return datetime.fromtimestamp(instant, zone).isoformat()


def offset_text(seconds: int) -> str:
    """``+09:00``, ``-03:30``."""
    sign, value = ("-", -seconds) if seconds < 0 else ("+", seconds)
    hours, rest = divmod(value // 60, 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def fires_to_json(item: TriggerFires) -> dict[str, Any]:
    """``{after, before?, dst?}``: each side its zone, whether the routine is enabled, and its
    fires; each daylight-saving change its instant, offsets and skipped or repeated times."""
    result: dict[str, Any] = {"after": _side_json(item.after)}
    if item.before is not None:
        result["before"] = _side_json(item.before)
    if item.dst:
        zone = zone_of(item.after.time_zone)
        result["dst"] = [
            {
                "at": iso(s.at, zone),
                "offset_before": offset_text(s.offset_before),
                "offset_after": offset_text(s.offset_after),
                "skipped": list(s.skipped),
                "repeated": list(s.repeated),
            }
            for s in item.dst
        ]
    return result


def _side_json(side: FireSide) -> dict[str, Any]:
    zone = zone_of(side.time_zone)
    return {
        "time_zone": side.time_zone,
        "enabled": side.enabled,
        "fires": [iso(t, zone) for t in side.fires],
    }


def fires_from_json(data: dict[str, Any]) -> TriggerFires:
    """What ``fires_to_json`` wrote."""
    before = data.get("before")
    return TriggerFires(
        _side_from(data["after"]),
        None if before is None else _side_from(before),
        tuple(
            DstShift(
                _instant(s["at"]),
                _offset(s["offset_before"]),
                _offset(s["offset_after"]),
                tuple(s.get("skipped", [])),
                tuple(s.get("repeated", [])),
            )
            for s in data.get("dst", [])
        ),
    )


def _side_from(data: dict[str, Any]) -> FireSide:
    fires = tuple(_instant(t) for t in data.get("fires", []))
    return FireSide(data.get("time_zone"), fires, bool(data.get("enabled", True)))


def _instant(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def _offset(text: str) -> int:
    moment = datetime.fromisoformat(f"2000-01-01T00:00:00{text}")
    return int((moment.utcoffset() or timedelta()).total_seconds())


def forecast_to_json(result: Forecast | None) -> dict[str, Any] | None:
    """Per agent: runs per day (the next 365 days) before and after, the busiest UTC minute
    before and after (its time, how many routines, the first names), and ``herd``."""
    if result is None:
        return None
    return {
        "runs_per_day_days": result.runs_days,
        "busiest_minute_days": result.minute_days,
        "herd_threshold": result.threshold,
        "agents": [_load_json(a, result) for a in result.agents],
    }


def _load_json(load: AgentLoad, result: Forecast) -> dict[str, Any]:
    return {
        "agent": load.agent,
        "runs_per_day": {
            "before": per_day(load.runs_before, result.runs_days),
            "after": per_day(load.runs_after, result.runs_days),
        },
        "runs": {"before": load.runs_before, "after": load.runs_after},
        "busiest_minute": {
            "before": _busiest_json(load.busiest_before),
            "after": _busiest_json(load.busiest_after),
        },
        "herd": load.herd(result.threshold),
    }


def per_day(runs: int, days: int) -> float:
    """Runs per day, to three decimals."""
    return round(runs / days, 3)


def _busiest_json(busiest: Busiest | None) -> dict[str, Any] | None:
    if busiest is None:
        return None
    return {"at": iso(busiest.at, UTC), "routines": busiest.routines, "names": list(busiest.names)}


def forecast_from_json(data: dict[str, Any] | None) -> Forecast | None:
    """What ``forecast_to_json`` wrote."""
    if data is None:
        return None
    return Forecast(
        int(data["herd_threshold"]),
        int(data["busiest_minute_days"]),
        tuple(
            AgentLoad(
                str(a["agent"]),
                int(a["runs"]["before"]),
                int(a["runs"]["after"]),
                _busiest_from(a["busiest_minute"]["before"]),
                _busiest_from(a["busiest_minute"]["after"]),
            )
            for a in data["agents"]
        ),
        int(data["runs_per_day_days"]),
    )


def _busiest_from(data: dict[str, Any] | None) -> Busiest | None:
    if data is None:
        return None
    return Busiest(_instant(data["at"]), int(data["routines"]), tuple(data.get("names", [])))


# --- the saved plan file (lossless) --------------------------------------------------------


def encode_fires(fires: dict[str, TriggerFires]) -> dict[str, Any]:
    """Every field, unix seconds."""
    return {name: asdict(item) for name, item in fires.items()}


def decode_fires(data: dict[str, Any]) -> dict[str, TriggerFires]:
    """What ``encode_fires`` wrote."""
    return {
        str(name): TriggerFires(
            _side(item["after"]),
            None if item["before"] is None else _side(item["before"]),
            tuple(
                DstShift(
                    int(s["at"]),
                    int(s["offset_before"]),
                    int(s["offset_after"]),
                    tuple(s["skipped"]),
                    tuple(s["repeated"]),
                )
                for s in item["dst"]
            ),
        )
        for name, item in data.items()
    }


def _side(data: dict[str, Any]) -> FireSide:
    return FireSide(data["time_zone"], tuple(data["fires"]), bool(data["enabled"]))


def encode_forecast(result: Forecast | None) -> dict[str, Any] | None:
    """Every field."""
    return None if result is None else asdict(result)


def decode_forecast(data: dict[str, Any] | None) -> Forecast | None:
    """What ``encode_forecast`` wrote."""
    if data is None:
        return None
    return Forecast(
        int(data["threshold"]),
        int(data["minute_days"]),
        tuple(
            AgentLoad(
                str(a["agent"]),
                int(a["runs_before"]),
                int(a["runs_after"]),
                _busiest(a["busiest_before"]),
                _busiest(a["busiest_after"]),
            )
            for a in data["agents"]
        ),
        int(data["runs_days"]),
    )


def _busiest(data: dict[str, Any] | None) -> Busiest | None:
    return (
        None
        if data is None
        else Busiest(int(data["at"]), int(data["routines"]), tuple(data["names"]))
    )
