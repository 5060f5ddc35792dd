"""Judging one routine's health from its definition and its newest run records (pure: no I/O).

The rules (docs/design.md, "Health and the smoke gate"):

- **Failing**: the newest finished deliveries start with at least ``failures`` failed ones in a
  row. A delivery (a firing, an event, a dispatch) is tried up to three times, each attempt a
  run record of its own; its outcome is its newest attempt's ``phase`` (completed or failed;
  one still queued or dispatching is skipped), so one delivery that failed three attempts is
  one failure (``deliveries``).
- **Silent**: an enabled schedule or timer whose latest *expected* fire, in the window
  ``(max(since, updated_at), now - grace]``, has no delivery run (``attempt_source``
  ``schedule_delivery``/``timer_delivery``) whose ``scheduled_fire_at`` (else ``triggered_at``,
  else ``started_at``) is at or after it (60 s of clock skew allowed). Expected fires come from
  the one firing definition (``contract.firing``); manual dispatches never count. The window
  starts at the routine's ``updated_at`` (else ``created_at``): a routine created, changed or
  re-enabled since is judged from then on only.
- **Missing**: declared in the manifests but not in the project.

A disabled routine is neither failing nor silent (it is not expected to run; drift reports it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from reconciler.app.health_runs import (
    CLOCK_TRIGGERS,
    Json,
    RunSummary,
    delivered,
    deliveries,
    epoch,
    is_failed,
    is_finished,
    newest_first,
    summarize,
)
from reconciler.contract.firing import firings, next_firing
from reconciler.contract.timer import format_epoch

__all__ = ["Json", "RoutineHealth", "Rules", "RunSummary", "judge", "missing", "unreadable"]

# How far back the latest expected fire is looked for: growing windows, so a frequent schedule
# costs one small window and a yearly one a few more (four years: a 29 February schedule).
_LOOKBACK: Final = (3_600, 86_400, 8 * 86_400, 32 * 86_400, 367 * 86_400, 4 * 366 * 86_400)


@dataclass(frozen=True)
class Rules:
    """How routines are judged."""

    now: int
    grace: int = 600
    """Seconds an expected fire may take to show up as a run before the routine is silent."""
    since: int | None = None
    """Expected fires before this instant are not judged (None: only the routine's own age)."""
    failures: int = 3
    """Consecutive failed runs that make a routine failing."""
    runs: int = 20
    """How many of the newest run records are read per routine."""


@dataclass(frozen=True)
class RoutineHealth:
    """One routine's status; ``problems`` empty (and no ``error``) means healthy."""

    name: str
    declared: bool
    managed: bool
    deployed: bool
    enabled: bool | None = None
    trigger_name: str | None = None
    trigger_type: str | None = None
    trigger: str | None = None
    """A one-line summary of the trigger (never event parameters or inputs)."""
    time_zone: str | None = None
    next_fire: int | None = None
    last_run: RunSummary | None = None
    runs_read: int = 0
    consecutive_failures: int = 0
    failures_capped: bool = False
    """Every run read failed: there may be more failures before them."""
    last_success: int | None = None
    expected_fire: int | None = None
    """The latest expected fire that was judged (None: nothing to judge)."""
    silent: bool = False
    problems: tuple[str, ...] = ()
    error: str | None = None
    """Why its run history could not be read (its health is unknown)."""

    @property
    def healthy(self) -> bool:
        """No problem found, and the history was read."""
        return not self.problems and self.error is None

    @property
    def failing(self) -> bool:
        """Unhealthy for its consecutive failures."""
        return any(p.startswith("failing") for p in self.problems)


@dataclass
class Judged:
    """What the run history says (internal)."""

    failures: int = 0
    capped: bool = False
    last_success: int | None = None
    problems: list[str] = field(default_factory=list)


def judge_runs(
    runs: Sequence[Mapping[str, Any]], failures: int, *, complete: bool = False
) -> Judged:
    """Consecutive failed deliveries at the head of the finished ones (``runs`` newest first;
    one still queued or dispatching is skipped), and the newest success. ``complete``: ``runs``
    is the whole history (fewer than a page), so a streak over all of it is not "at least"."""
    judged = Judged()
    streak_open = True
    finished = [run for run in deliveries(runs) if is_finished(run)]
    for run in finished:
        if is_failed(run):
            if streak_open:
                judged.failures += 1
            continue
        streak_open = False
        if judged.last_success is None:
            summary = summarize(run)
            judged.last_success = summary.ended_at or summary.at
    judged.capped = not complete and bool(finished) and judged.failures == len(finished)
    if judged.failures >= failures:
        more = "+" if judged.capped else ""
        judged.problems.append(f"failing: {judged.failures}{more} consecutive failed deliveries")
    return judged


def last_expected(trigger: Mapping[str, Any], start: int, end: int) -> int | None:
    """The latest fire of ``trigger`` in ``(start, end]`` (None: none)."""
    if end <= start:
        return None
    for window in _LOOKBACK:
        low = max(start, end - window)
        found = firings(trigger, low, end)
        if found:
            return found[-1]
        if low == start:
            return None
    return None


def trigger_summary(trigger: Mapping[str, Any]) -> str:
    """``schedule "0 7 * * 1-5" in Tokyo Standard Time``, ``timer at 2026-...Z``, ..."""
    kind = trigger.get("type")
    if kind == "schedule":
        return f'schedule "{trigger.get("cron_expression")}" in {trigger.get("time_zone")}'
    if kind == "timer":
        at = trigger.get("at")
        return f"timer at {format_epoch(at) if isinstance(at, int) else at}"
    if kind == "github_issue":
        where = f"{trigger.get('owner')}/{trigger.get('repository')}"
        return f"github_issue {trigger.get('issue_event')} in {where}"
    if kind == "custom":
        event = trigger.get("event_name")
        return f"custom {trigger.get('provider')}" + (f" {event}" if event else "")
    return str(kind)


def only_trigger(routine: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    """The routine's one trigger (name and definition)."""
    triggers = routine.get("triggers")
    if isinstance(triggers, Mapping):
        for name, trigger in triggers.items():
            if isinstance(trigger, Mapping):
                return str(name), trigger
    return None, {}


def judge(
    routine: Mapping[str, Any],
    runs: Sequence[Mapping[str, Any]],
    rules: Rules,
    *,
    declared: bool,
    managed: bool,
) -> RoutineHealth:
    """The status of one deployed routine from its wire form and its newest runs."""
    ordered = newest_first(runs)
    name, trigger = only_trigger(routine)
    enabled = routine.get("enabled") is not False
    complete = len(ordered) < rules.runs
    judged = judge_runs(ordered, rules.failures, complete=complete) if enabled else Judged()
    expected = _expected(routine, trigger, rules) if enabled else None
    silent = expected is not None and not delivered(ordered, expected)
    if silent and expected is not None:
        judged.problems.append(
            f"silent: should have fired at {format_epoch(expected)} and has no run for it"
        )
    return RoutineHealth(
        name=str(routine.get("name")),
        declared=declared,
        managed=managed,
        deployed=True,
        enabled=enabled,
        trigger_name=name,
        trigger_type=_text_of(trigger.get("type")),
        trigger=trigger_summary(trigger) if trigger else None,
        time_zone=_text_of(trigger.get("time_zone")) if trigger.get("type") == "schedule" else None,
        next_fire=next_firing(trigger, rules.now) if enabled and trigger else None,
        last_run=summarize(ordered[0]) if ordered else None,
        runs_read=len(ordered),
        consecutive_failures=judged.failures,
        failures_capped=judged.capped,
        last_success=judged.last_success,
        expected_fire=expected,
        silent=silent,
        problems=tuple(judged.problems),
    )


def _expected(routine: Mapping[str, Any], trigger: Mapping[str, Any], rules: Rules) -> int | None:
    if trigger.get("type") not in CLOCK_TRIGGERS:
        return None
    born = epoch(routine.get("updated_at")) or epoch(routine.get("created_at")) or 0
    start = max(born, rules.since if rules.since is not None else born)
    return last_expected(trigger, start, rules.now - rules.grace)


def missing(name: str) -> RoutineHealth:
    """A routine the manifests declare that the project does not have."""
    return RoutineHealth(
        name=name,
        declared=True,
        managed=False,
        deployed=False,
        problems=("missing: declared in the manifests but not in the project (apply it)",),
    )


def unreadable(
    routine: Mapping[str, Any], error: str, *, declared: bool, managed: bool
) -> RoutineHealth:
    """A deployed routine whose run history could not be read."""
    name, trigger = only_trigger(routine)
    return RoutineHealth(
        name=str(routine.get("name")),
        declared=declared,
        managed=managed,
        deployed=True,
        enabled=routine.get("enabled") is not False,
        trigger_name=name,
        trigger_type=_text_of(trigger.get("type")),
        trigger=trigger_summary(trigger) if trigger else None,
        error=error,
    )


def _text_of(value: object) -> str | None:
    return None if value is None else str(value)
