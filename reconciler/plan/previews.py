"""What a plan shows about time, added after planning: the next fires of each created, updated,
replaced or enabled routine (``plan.fires``), and the load forecast per agent with its herd warning
(``plan.forecast``). Pure; only routines a change touches cost anything (docs/design.md,
"Next fires and load forecast")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from reconciler.diagnostics import Diagnostic, warning
from reconciler.plan import normalize
from reconciler.plan.fires import clocked, routine_fires
from reconciler.plan.forecast import AgentLoad, Forecast, agent_of, forecast
from reconciler.plan.model import Action, Change, Plan

FIRES_SHOWN: Final = frozenset({Action.CREATE, Action.UPDATE, Action.REPLACE, Action.ENABLE})
"""The actions whose next fires a plan shows (an enable: firing starts then)."""


def attach(plan: Plan, live: Sequence[dict[str, Any]], now: int, threshold: int) -> None:
    """Add next fires to the plan's changes; the forecast of every agent a pending change
    names with a schedule or timer (event triggers have no predictable load); and a warning
    per agent above the herd ``threshold``. Nothing when ``now`` is unknown (0)."""
    if not now:
        return
    for change in plan.changes:
        if change.action in FIRES_SHOWN and change.after is not None:
            change.next_fires = routine_fires(change.before, change.after, now)
    before, after = sides(plan, live)
    agents = {agent_of(s) for c in plan.pending for s in (c.before, c.after) if clocked(s)}
    plan.forecast = forecast(before, after, {a for a in agents if a}, now, threshold)
    if plan.forecast is not None:
        plan.diagnostics += herd_warnings(plan.forecast, plan.pending)


def sides(
    plan: Plan, live: Sequence[dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Every routine of the project before the plan and after it, by name: the changes' own
    sides (redacted as the plan shows them), and every other live routine (other stacks',
    unmanaged ones, deletes held back) on both, as the agent receives their runs too."""
    before: dict[str, dict[str, Any]] = {}
    after: dict[str, dict[str, Any]] = {}
    for change in plan.changes:
        if change.before is not None:
            before[change.name] = change.before
        if change.action is not Action.DELETE and change.after is not None:
            after[change.name] = change.after
    planned = {c.name for c in plan.changes}
    for routine in live:
        name = str(routine.get("name"))
        if name not in planned:
            before[name] = after[name] = normalize.live(routine)[0]
    return before, after


def herd_warnings(result: Forecast, pending: Sequence[Change]) -> list[Diagnostic]:
    """A warning per agent whose busiest minute after the plan is above the threshold, at the
    first change that names it."""
    return [_herd_warning(load, result.threshold, pending) for load in result.herds()]


def _herd_warning(load: AgentLoad, threshold: int, pending: Sequence[Change]) -> Diagnostic:
    busiest = load.busiest_after
    assert busiest is not None  # herds() keeps only agents with one
    at = datetime.fromtimestamp(busiest.at, UTC).strftime("%a %Y-%m-%d %H:%M UTC")
    more = busiest.routines - len(busiest.names)
    names = ", ".join(busiest.names) + (f" and {more} more" if more > 0 else "")
    message = (
        f"agent '{load.agent}': {busiest.routines} routines fire in the same minute ({at}: "
        f"{names}), above the herd threshold of {threshold}; spread their minutes, or raise "
        "herd_threshold in reconciler.yaml (--herd-threshold)"
    )
    source = next(
        (c.source for c in pending if load.agent in {agent_of(c.after), agent_of(c.before)}),
        None,
    )
    if source is None:
        return warning(message)
    return warning(message, file=source.file, line=source.line, col=source.col)
