"""Prune safety: which of this stack's undeclared routines may really be deleted.

Rules (docs/design.md, "Safety"): pruning is opt-in per run; a source that yields zero routines
never prunes; protected routines are never deleted; more deletes than the limit block every
delete unless the limit is raised explicitly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

DEFAULT_MAX_DELETES = 10
DEFAULT_MAX_DELETE_SHARE = 0.25
_DEFAULT_RULE = "the default: the smaller of 10 and 25% of the routines this stack owns"


def default_max_deletes(owned: int) -> int:
    """The smaller of 10 and 25 % of the routines this stack owns (rounded up, at least 1)."""
    return min(DEFAULT_MAX_DELETES, max(1, math.ceil(owned * DEFAULT_MAX_DELETE_SHARE)))


@dataclass(frozen=True)
class Candidate:
    """A routine this stack owns that git no longer declares."""

    name: str
    protected: bool


BlockKind = Literal["prune_off", "empty_source", "protected", "limit"]


@dataclass(frozen=True)
class Blocked:
    """A delete a safety rule keeps: which rule (``kind``) and why, in words."""

    name: str
    kind: BlockKind
    reason: str


@dataclass(frozen=True)
class Verdict:
    """Which candidates are deleted and why the others are kept."""

    delete: list[str]
    blocked: list[Blocked]


def judge(
    candidates: list[Candidate],
    *,
    prune: bool,
    declared: int,
    owned: int,
    max_deletes: int | None,
) -> Verdict:
    """Apply the prune rules in order; every kept routine gets its rule and reason."""
    if not candidates:
        return Verdict([], [])
    if not prune:
        return _block_all(
            candidates,
            "prune_off",
            "not declared in the selected manifests; prune is off (turn it on with --prune or "
            "prune.enabled in reconciler.yaml)",
        )
    if declared == 0:
        return _block_all(
            candidates,
            "empty_source",
            "the manifests declare zero routines, and an empty source never prunes (a wrong "
            "path or a failed checkout looks the same)",
        )
    blocked = [
        Blocked(
            c.name,
            "protected",
            "protected (reconcile.protect: true); set protect: false "
            "and apply before removing it from git",
        )
        for c in candidates
        if c.protected
    ]
    deletable = [c.name for c in candidates if not c.protected]
    limit = default_max_deletes(owned) if max_deletes is None else max_deletes
    if len(deletable) > limit:
        origin = "the configured limit" if max_deletes is not None else _DEFAULT_RULE
        why = (
            f"{len(deletable)} deletes exceed the limit of {limit} ({origin}); if this is "
            f"intended, allow them with prune.max_deletes: {len(deletable)} in reconciler.yaml "
            f"(or --max-deletes {len(deletable)})"
        )
        return Verdict([], blocked + [Blocked(name, "limit", why) for name in deletable])
    return Verdict(deletable, blocked)


def _block_all(candidates: list[Candidate], kind: BlockKind, reason: str) -> Verdict:
    return Verdict([], [Blocked(c.name, kind, reason) for c in candidates])
