"""The plan: what will change, why, and what is deliberately left alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.diagnostics import Diagnostic, Location, has_errors
from reconciler.plan.diff import FieldDiff
from reconciler.plan.fires import TriggerFires
from reconciler.plan.forecast import Forecast
from reconciler.plan.smoke import Smoke

FORMAT_VERSION = "1"


@dataclass(frozen=True)
class ActionInfo:
    """Everything about an action that is not planning or sending: how it is shown, counted,
    ordered and written in JSON. A new action adds one row to ``_INFO`` (and its planning and
    sending), nothing else."""

    symbol: str
    colour: str
    done: str
    """Past tense in apply's closing line: the count it adds to (``updated`` for enable)."""
    steps: tuple[str, ...]
    """Terraform-style list form in JSON: a replace is ``["delete", "create"]``."""
    drift: str | None
    """The drift group it stands for (an ``enable`` means: disabled outside git)."""
    last: bool = False
    """Runs after every other change succeeded (deletes)."""
    shows: str = "diff"
    """What a plan shows: ``after`` (every field), ``before`` (every field) or the ``diff``."""


class Action(StrEnum):
    """What apply does to one routine."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    ENABLE = "enable"
    DISABLE = "disable"
    DELETE = "delete"
    NOOP = "no-op"

    @property
    def is_change(self) -> bool:
        """False for a no-op."""
        return self is not Action.NOOP

    @property
    def info(self) -> ActionInfo:
        """How this action is shown, counted, ordered and written."""
        return _INFO[self]

    @property
    def steps(self) -> list[str]:
        """Terraform-style list form: a replace is ``["delete", "create"]``."""
        return list(self.info.steps)

    @classmethod
    def from_steps(cls, steps: list[str]) -> Action:
        """The action whose JSON list form is ``steps``."""
        for action, info in _INFO.items():
            if list(info.steps) == steps:
                return action
        raise ValueError(f"unknown action {steps!r}")


_INFO: dict[Action, ActionInfo] = {
    Action.CREATE: ActionInfo("+", "green", "created", ("create",), "missing", shows="after"),
    Action.UPDATE: ActionInfo("~", "yellow", "updated", ("update",), "changed"),
    Action.REPLACE: ActionInfo("!", "magenta", "replaced", ("delete", "create"), "changed"),
    Action.ENABLE: ActionInfo(">", "cyan", "updated", ("enable",), "disabled"),
    Action.DISABLE: ActionInfo("<", "cyan", "updated", ("disable",), "enabled"),
    Action.DELETE: ActionInfo(
        "-", "red", "deleted", ("delete",), "orphaned", last=True, shows="before"
    ),
    Action.NOOP: ActionInfo("=", "dim", "unchanged", ("no-op",), None),
}


@dataclass
class Change:
    """One routine's planned change.

    ``before``/``after``/``diff`` are for people and are already redacted; ``body`` is the exact
    request apply sends (unredacted: plan files that carry it are secret).
    """

    name: str
    action: Action
    reason: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    diff: list[FieldDiff] = field(default_factory=list)
    ignored: list[FieldDiff] = field(default_factory=list)
    body: dict[str, Any] | None = None
    fingerprint: str = "absent"
    source: Location | None = None
    relative_timers: list[str] = field(default_factory=list)
    """Timer triggers written as a duration (``at: 30m``): their ``at`` is timed when the plan
    is made, so two plans of the same commit may differ there and nowhere else."""
    field_prints: dict[str, str] = field(default_factory=dict)
    """A digest per field of the live routine the plan saw (``fingerprint.field_prints``)."""
    recreate_for: list[str] = field(default_factory=list)
    """For a replace: what is fixed at creation and changes (``authorization``, ``trigger
    type``, ``action type``)."""
    notes: list[str] = field(default_factory=list)
    """Information for people that is neither a change nor drift (a timer that fired and that
    the service turned off: ``plan.fired``)."""
    smoke: Smoke | None = None
    """The routine's declared smoke test (``apply --smoke`` runs it after a create, update,
    replace or enable: ``plan.smoke.SMOKED_ACTIONS``)."""
    next_fires: dict[str, TriggerFires] = field(default_factory=dict)
    """For a create, update or replace: each schedule or timer trigger's next fires
    (``plan.fires``; added after planning by ``plan.previews``)."""

    @property
    def is_change(self) -> bool:
        """False for a no-op."""
        return self.action is not Action.NOOP


@dataclass(frozen=True)
class Unmanaged:
    """A live routine this stack does not own; ``declared`` when git declares it all the same
    (a conflict: adopting it would resolve it)."""

    name: str
    reason: str
    owner: str | None = None
    declared: bool = False


@dataclass(frozen=True)
class BlockedDelete:
    """A routine prune would delete but a safety rule keeps; ``kind`` names the rule
    (``prune_off``, ``empty_source``, ``protected`` or ``limit``)."""

    name: str
    reason: str
    kind: str = "prune_off"


@dataclass
class Plan:
    """Everything ``plan`` found; apply executes ``changes``."""

    stack: str
    target: str
    manifest_digest: str
    prune: bool
    environment: str | None = None
    changes: list[Change] = field(default_factory=list)
    unmanaged: list[Unmanaged] = field(default_factory=list)
    blocked: list[BlockedDelete] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    forecast: Forecast | None = None
    """The load per agent a pending change names (``plan.forecast``), or None."""

    @property
    def ok(self) -> bool:
        """True when planning found no error."""
        return not has_errors(self.diagnostics)

    @property
    def pending(self) -> list[Change]:
        """Changes that do something (no-ops left out)."""
        return [c for c in self.changes if c.is_change]

    @property
    def has_changes(self) -> bool:
        """True when apply would write anything."""
        return bool(self.pending)

    @property
    def held_back(self) -> list[str]:
        """Deletes the mass-delete guard holds back: git and the project still differ, and
        applying cannot fix it without an explicit override."""
        return [b.name for b in self.blocked if b.kind == "limit"]

    def counts(self) -> dict[str, int]:
        """How many changes of each action (no-ops included)."""
        result = {a.value: 0 for a in Action}
        for change in self.changes:
            result[change.action.value] += 1
        return result

    def totals(self) -> dict[str, int]:
        """Pending changes by what they do to the project, as the closing lines count them
        (``updated`` includes enables and disables)."""
        result = dict.fromkeys(dict.fromkeys(a.info.done for a in Action if a.is_change), 0)
        for change in self.pending:
            result[change.action.info.done] += 1
        return result
