"""What a routine cannot change after creation: the types of its triggers and of its action.

The azd ``azure.ai.routines`` extension refuses both on update ("trigger types are immutable",
"action types are immutable": delete and recreate); whether the service itself rejects such a PUT
is not published, so the planner replaces the routine (delete, then create) instead of updating
it in place (docs/design.md, "Plan semantics"). Pure.

Triggers are compared by name: a trigger whose type changes is a kind change. A trigger renamed
while its type stays is an ordinary update; a rename that also changes the type (``t: schedule``
becomes ``u: timer``: the routine's one trigger changes kind) is a kind change too. A trigger
only added or only removed (next to others that stay) changes no kind.
"""

from __future__ import annotations

from typing import Any, NamedTuple

TRIGGER_TYPE = "trigger type"
ACTION_TYPE = "action type"


class KindChange(NamedTuple):
    """One change that forces a replace: what is fixed at creation, and what happens to it."""

    fixed: str
    """``trigger type`` or ``action type``."""
    fact: str
    """In words: ``trigger 't' changes type from schedule to timer``."""


def kind_changes(before: dict[str, Any], after: dict[str, Any]) -> list[KindChange]:
    """Every trigger or action type change between two canonical routines, in a stable order."""
    found = _trigger_changes(_triggers(before), _triggers(after))
    old, new = _type(before.get("action")), _type(after.get("action"))
    if old is not None and new is not None and old != new:
        found.append(KindChange(ACTION_TYPE, f"action changes type from {old} to {new}"))
    return found


def _trigger_changes(old: dict[str, str], new: dict[str, str]) -> list[KindChange]:
    found = [
        KindChange(TRIGGER_TYPE, f"trigger '{name}' changes type from {old[name]} to {new[name]}")
        for name in sorted(old.keys() & new.keys())
        if old[name] != new[name]
    ]
    removed = {name: kind for name, kind in old.items() if name not in new}
    added = {name: kind for name, kind in new.items() if name not in old}
    if removed and added and set(removed.values()) != set(added.values()):
        found.append(
            KindChange(
                TRIGGER_TYPE,
                f"trigger {_named(removed)} gives way to trigger {_named(added)}, of another type",
            )
        )
    return found


def _triggers(routine: dict[str, Any]) -> dict[str, str]:
    """Trigger name -> type, for the triggers whose type is known."""
    triggers = routine.get("triggers")
    if not isinstance(triggers, dict):
        return {}
    typed = {str(name): _type(trigger) for name, trigger in triggers.items()}
    return {name: kind for name, kind in typed.items() if kind is not None}


def _type(part: Any) -> str | None:
    kind = part.get("type") if isinstance(part, dict) else None
    return kind if isinstance(kind, str) and kind else None


def _named(triggers: dict[str, str]) -> str:
    return ", ".join(f"'{name}' ({kind})" for name, kind in sorted(triggers.items()))
