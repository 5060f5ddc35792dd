"""What happens to a routine once its timer fired: the ``timer_after_fire`` setting.

Learn's concepts page says a routine becomes inactive after its timer fires; whether the service
then reports ``enabled: false`` is not published. The embedded project and the emulator do
either, so both can be tested:

- ``disable`` (the default, Learn's reading): when a routine whose every trigger is a timer
  fires its last firing, it is disabled (``enabled`` turns false; ``updated_at`` is kept: the
  change is the service's, not a write). A read shows it at once, even before the store settled
  the firing (the embedded project has no ticker: its firings are settled lazily, before the
  next change of the routine).
- ``keep``: the routine stays as it is (enabled, and never fires again).

An explicit write afterwards (``:enable``, a PUT) wins: the firing is settled first, then the
write applies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal, get_args

if TYPE_CHECKING:
    from reconciler.service.rows import Routine

TimerAfterFire = Literal["keep", "disable"]
TIMER_AFTER_FIRE: Final[tuple[str, ...]] = get_args(TimerAfterFire)
DEFAULT_TIMER_AFTER_FIRE: Final[TimerAfterFire] = "disable"

DISABLE_FIRED: Final = "UPDATE routines SET enabled = 0 WHERE seq = ?"


def check_mode(mode: str) -> TimerAfterFire:
    """``mode`` as a ``TimerAfterFire``; ValueError names the choices."""
    if mode == "keep":
        return "keep"
    if mode == "disable":
        return "disable"
    raise ValueError(f"timer_after_fire must be one of {', '.join(TIMER_AFTER_FIRE)}, not {mode!r}")


def fires_out(routine: Routine, now: float) -> bool:
    """True when ``routine`` is enabled, all its triggers are timers, and every one of them
    fires in ``(last_checked, now]``, the span not yet settled: it has fired its last firing."""
    if not routine.enabled or not routine.triggers:
        return False
    for trigger in routine.triggers.values():
        at = trigger.get("at") if trigger.get("type") == "timer" else None
        if not isinstance(at, int) or not routine.last_checked < at <= now:
            return False
    return True


def turned_off(routine: Routine, now: float, mode: TimerAfterFire) -> bool:
    """True when ``mode`` disables ``routine`` for firing its last timer by ``now``."""
    return mode == "disable" and fires_out(routine, now)
