"""The service's rules beyond the JSON structure, one small function each.

Every rule reads a routine as plain JSON-like data (the wire body, or a manifest routine before it
becomes a model) and returns ``Violation`` records with a path relative to the routine.  Rules are
defensive: a value of the wrong type is left to the JSON Schema, which reports it once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from reconciler.contract import limits
from reconciler.contract.cadence import check_cron
from reconciler.contract.cron import CronError, parse_cron
from reconciler.contract.timer import format_epoch, resolve_at
from reconciler.contract.zones import resolve_zone
from reconciler.paths import Path

NAME_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
NAME_RULE = "letters, digits, '-', '_' and '.', starting and ending with a letter or digit"


@dataclass(frozen=True)
class Violation:
    """One broken rule: where (path inside the routine), why, how bad, and a stable ``code``
    for the few that callers treat specially."""

    path: Path
    message: str
    severity: Literal["error", "warning"] = "error"
    code: str = ""


TIMER_IN_PAST = "timer_in_past"
EARLIEST_EPOCH, LATEST_EPOCH = -62135596800, 253402300799  # 0001-01-01 .. 9999-12-31T23:59:59Z
_AT_TEXT_MAX = 64  # far longer than any date-time (about 35) or duration (at most 16)
_OUT_OF_RANGE = "a timer must lie between the years 1 and 9999"


def type_name(value: Any) -> str:
    """A ``type`` field's value when it is text, else "" (a list or a mapping where a type name
    belongs is the schema's to report, and must never be used as a dict key)."""
    return value if isinstance(value, str) else ""


def _too_long(value: Any, limit: int, path: Path) -> list[Violation]:
    if isinstance(value, str) and len(value) > limit:
        return [Violation(path, f"{len(value)} characters; the limit is {limit}")]
    return []


def _required_text(value: Any, limit: int, path: Path) -> list[Violation]:
    if isinstance(value, str) and not value.strip():
        return [Violation(path, "must not be empty")]
    return _too_long(value, limit, path)


def check_name(name: Any, path: Path = ("name",)) -> list[Violation]:
    """Routine names: 1-128 characters of a URL-safe set (the name is a path segment)."""
    if not isinstance(name, str):
        return []
    if not name:
        return [Violation(path, "must not be empty")]
    if len(name) > limits.NAME_MAX:
        return [Violation(path, f"{len(name)} characters; the limit is {limits.NAME_MAX}")]
    if not NAME_PATTERN.match(name):
        return [Violation(path, f"{name!r} is not a valid name: use {NAME_RULE}")]
    return []


def check_description(description: Any, limit: int = limits.DESCRIPTION_MAX) -> list[Violation]:
    """Description length; manifests get less room than the service (ownership record)."""
    return _too_long(description, limit, ("description",))


def check_trigger_count(triggers: Any) -> list[Violation]:
    """The service accepts exactly one entry in ``triggers``."""
    if not isinstance(triggers, Mapping):
        return []
    if len(triggers) == 1:
        return []
    if not triggers:
        return [Violation(("triggers",), "exactly one trigger is required; none is given")]
    names = ", ".join(str(name) for name in triggers)
    return [
        Violation(
            ("triggers",),
            f"exactly one trigger is allowed; {len(triggers)} are given ({names}): "
            "split them into separate routines",
        )
    ]


def check_trigger_name(name: str) -> list[Violation]:
    """Trigger names are map keys: same character set and a length limit."""
    return check_name(name, ("triggers", name))


def check_schedule(trigger: Mapping[str, Any], path: Path, now: int) -> list[Violation]:
    """Cron syntax, cadence of at least five minutes, and a real time zone."""
    cron, zone = trigger.get("cron_expression"), trigger.get("time_zone")
    found = _required_text(cron, limits.CRON_EXPRESSION_MAX, (*path, "cron_expression"))
    found += _required_text(zone, limits.TIME_ZONE_MAX, (*path, "time_zone"))
    if found or not isinstance(cron, str) or not isinstance(zone, str):
        return found
    zone_ok = _zone_problem(zone) is None
    if not zone_ok:
        found.append(Violation((*path, "time_zone"), str(_zone_problem(zone))))
    problems = check_cron(cron, zone if zone_ok else "UTC", now=_as_datetime(now))
    found += [Violation((*path, "cron_expression"), message) for message in problems]
    if not problems:
        found += check_day_fields(cron, (*path, "cron_expression"))
    return found


def check_day_fields(cron: str, path: Path) -> list[Violation]:
    """A warning, not an error: with both day fields restricted, cron fires on the days that
    match *either* (``0 8 1-7 * MON`` is days 1-7 and every Monday, not "the first Monday")."""
    try:
        schedule = parse_cron(cron)
    except CronError:
        return []
    if schedule.day_and:
        return []
    fields = cron.split()
    return [
        Violation(
            path,
            f"day-of-month ({fields[2]}) and day-of-week ({fields[4]}) are both restricted, so it "
            "fires on days matching EITHER field, not both; set one of them to *",
            severity="warning",
        )
    ]


def _zone_problem(zone: str) -> str | None:
    try:
        resolve_zone(zone)
    except ValueError as err:
        return str(err)
    return None


def _as_datetime(now: int) -> datetime:
    return datetime.fromtimestamp(now, tz=UTC)


def check_timer(
    trigger: Mapping[str, Any], path: Path, now: int, *, current: int | None = None
) -> list[Violation]:
    """A timer's ``at`` must resolve to a moment in the future (before 10000) when it is set.

    Re-sending the timestamp a routine already has (``current``) is accepted even once it has
    passed: a full-replace update of a routine whose timer already fired must not fail.
    """
    at, zone = timer_value(trigger.get("at")), trigger.get("time_zone")
    if at is None or (zone is not None and not isinstance(zone, str)):
        return []
    where: Path = (*path, "at")
    found = _too_long(at, _AT_TEXT_MAX, where)
    found += _too_long(zone, limits.TIME_ZONE_MAX, (*path, "time_zone"))
    if found:
        return found
    try:
        epoch = resolve_at(at, zone, now).epoch
    except (ValueError, OverflowError) as err:
        return [Violation(where, str(err) if isinstance(err, ValueError) else _OUT_OF_RANGE)]
    return [] if epoch == current else _timer_moment(epoch, where, now)


def _timer_moment(epoch: int, where: Path, now: int) -> list[Violation]:
    if epoch > LATEST_EPOCH:
        return [Violation(where, f"{epoch} is later than 9999-12-31T23:59:59Z ({_OUT_OF_RANGE})")]
    if epoch <= now:
        when = format_epoch(epoch) if epoch >= EARLIEST_EPOCH else f"{epoch} (unix seconds)"
        message = f"{when} is in the past; a timer must lie in the future (once it has fired, "
        return [Violation(where, message + "remove the routine from git)", code=TIMER_IN_PAST)]
    return []


def timer_value(at: Any) -> int | str | None:
    """A timer's ``at`` as the rules read it: an integer or text; a whole-number float
    (``1893456000.0``, an integer to JSON Schema) is that integer; None for anything else."""
    if isinstance(at, float) and at.is_integer():
        return int(at)
    return at if isinstance(at, int | str) and not isinstance(at, bool) else None


def check_github_issue(trigger: Mapping[str, Any], path: Path, now: int) -> list[Violation]:
    """Lengths of the GitHub issue trigger's identifiers."""
    del now
    return [
        *_required_text(
            trigger.get("connection_id"), limits.CONNECTION_ID_MAX, (*path, "connection_id")
        ),
        *_required_text(trigger.get("owner"), limits.GITHUB_OWNER_MAX, (*path, "owner")),
        *_required_text(
            trigger.get("repository"), limits.GITHUB_REPOSITORY_MAX, (*path, "repository")
        ),
    ]


def check_custom(trigger: Mapping[str, Any], path: Path, now: int) -> list[Violation]:
    """Lengths of the custom trigger's provider and event name."""
    del now
    return [
        *_required_text(trigger.get("provider"), limits.CUSTOM_PROVIDER_MAX, (*path, "provider")),
        *_too_long(trigger.get("event_name"), limits.CUSTOM_EVENT_NAME_MAX, (*path, "event_name")),
    ]


TriggerRule = Callable[[Mapping[str, Any], Path, int], list[Violation]]
TRIGGER_RULES: dict[str, TriggerRule] = {
    "schedule": check_schedule,
    "timer": check_timer,
    "github_issue": check_github_issue,
    "custom": check_custom,
}


def check_triggers(
    triggers: Any, now: int, current_at: Mapping[str, int] | None = None
) -> list[Violation]:
    """All trigger rules: count, names, and the rules of each trigger's type.

    ``current_at`` maps trigger names to the timer timestamps the routine has now (service
    side), so that an unchanged, already-passed timer can be sent again.
    """
    if not isinstance(triggers, Mapping):
        return []
    found = check_trigger_count(triggers)
    for name, trigger in triggers.items():
        found += check_trigger_name(str(name))
        if not isinstance(trigger, Mapping):
            continue
        path: Path = ("triggers", name)
        if (kind := type_name(trigger.get("type"))) == "timer":
            found += check_timer(trigger, path, now, current=(current_at or {}).get(str(name)))
        elif (rule := TRIGGER_RULES.get(kind)) is not None:
            found += rule(trigger, path, now)
    return found


def check_agent_reference(action: Mapping[str, Any]) -> list[Violation]:
    """Exactly one of ``agent_name`` and ``agent_endpoint_id``."""
    given = [
        key for key in ("agent_name", "agent_endpoint_id") if action.get(key) not in (None, "")
    ]
    if len(given) == 1:
        return _too_long(action[given[0]], limits.AGENT_REF_MAX, ("action", given[0]))
    if not given:
        return [Violation(("action",), "one of agent_name or agent_endpoint_id is required")]
    return [
        Violation(
            ("action", "agent_endpoint_id"),
            "agent_name and agent_endpoint_id are mutually exclusive: give exactly one",
        )
    ]


_OTHER_ACTION = {
    "invoke_agent_responses_api": ("session_id", "invoke_agent_invocations_api"),
    "invoke_agent_invocations_api": ("conversation", "invoke_agent_responses_api"),
}


def check_action_fields(action: Mapping[str, Any]) -> list[Violation]:
    """``session_id`` belongs to invocations actions, ``conversation`` to responses actions."""
    pair = _OTHER_ACTION.get(type_name(action.get("type")))
    if pair is None or pair[0] not in action:
        return []
    field, owner = pair
    return [Violation(("action", field), f"{field} is only valid on {owner} actions")]


def check_action_lengths(action: Mapping[str, Any]) -> list[Violation]:
    """Lengths of the continuation identifiers."""
    return [
        *_too_long(action.get("conversation"), limits.CONVERSATION_MAX, ("action", "conversation")),
        *_too_long(action.get("session_id"), limits.SESSION_ID_MAX, ("action", "session_id")),
    ]


def check_action(action: Any) -> list[Violation]:
    """All action rules."""
    if not isinstance(action, Mapping):
        return []
    if type_name(action.get("type")) not in _OTHER_ACTION:
        return []
    return [
        *check_agent_reference(action),
        *check_action_fields(action),
        *check_action_lengths(action),
    ]


def check_routine(
    routine: Mapping[str, Any],
    *,
    now: int,
    description_limit: int = limits.DESCRIPTION_MAX,
    current_at: Mapping[str, int] | None = None,
) -> list[Violation]:
    """Every service rule for one routine (name included when the mapping carries one)."""
    found = check_name(routine["name"]) if "name" in routine else []
    found += check_description(routine.get("description"), description_limit)
    found += check_triggers(routine.get("triggers"), now, current_at)
    found += check_action(routine.get("action"))
    return found
