"""Timers that fired: a routine the service turned off after its last timer fired.

A timer fires once, and Learn says the routine then becomes inactive; a service that reports
``enabled: false`` for it would otherwise make every later plan propose ``enable`` (which would
fire nothing: the time has passed) and drift never clear. So a live routine that is disabled
while git declares it enabled, whose triggers are all timers in the past (live and declared
alike: the declaration does not re-arm it), is shown as information: a note on the change, no
``enable``, not drift; a write keeps it disabled (docs/design.md, "Plan semantics"). Pure.

The planner knows a timer fired from its time alone: the live ``at`` (unix seconds) lies at or
before the plan's ``now``. Run history is not read (one more call per routine); a routine
disabled by hand before its timer came would not fire either, so enabling it changes nothing
all the same.
"""

from __future__ import annotations

from typing import Any

from reconciler.contract.timer import format_epoch


def fired_note(before: dict[str, Any], after: dict[str, Any], now: int) -> str | None:
    """The note for a routine the service turned off after its timers fired, or None.

    ``before`` and ``after`` are the canonical live and desired routines (ignored fields
    already set to their live value)."""
    if not now or before.get("enabled") is not False or after.get("enabled") is not True:
        return None
    live, declared = _timers(before), _timers(after)
    if not live or not declared or max([*live.values(), *declared.values()]) > now:
        return None
    fired = ", ".join(f"'{name}' at {format_epoch(at)}" for name, at in sorted(live.items()))
    return (
        f"timer {fired} fired and the project shows the routine disabled: a timer fires once, so "
        "this is not drift and nothing is enabled; remove the routine from git when it is done"
    )


def keep_disabled(after: dict[str, Any]) -> dict[str, Any]:
    """``after`` with ``enabled`` false: a write keeps a fired timer as the service left it."""
    return {**after, "enabled": False}


def _timers(routine: dict[str, Any]) -> dict[str, int]:
    """Trigger name -> ``at`` when every trigger is a timer with a time; else empty."""
    triggers = routine.get("triggers")
    if not isinstance(triggers, dict) or not triggers:
        return {}
    found: dict[str, int] = {}
    for name, trigger in triggers.items():
        if not isinstance(trigger, dict) or trigger.get("type") != "timer":
            return {}
        at = trigger.get("at")
        if not isinstance(at, int) or isinstance(at, bool):
            return {}
        found[str(name)] = at
    return found
