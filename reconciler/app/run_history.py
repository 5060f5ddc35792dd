"""A routine's run history, newest first, filtered and bounded (``reconciler runs``).

The runs are read a page at a time (``Runs.iter_runs``) and filtered here: by ``phase`` (the
field itself: the MLflow ``status`` a server-side filter would need maps to it only by this
project's reading) and by ``since`` (``triggered_at``; a queued run has no ``start_time`` for
MLflow's filter to compare). The service lists runs newest first, so reading stops at the first
run triggered before ``since``, once ``limit`` runs matched (one more is read to tell whether
there are more), or after ``SCAN_MAX`` runs (pages that never end, or a filter that matches
nothing in a long history).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

from reconciler.contract.limits import LIST_PAGE_MAX
from reconciler.live.base import Runs

Json = dict[str, Any]
PHASES: Final = ("queued", "dispatching", "completed", "failed")
SCAN_MAX: Final = 10_000


@dataclass(frozen=True)
class History:
    """The runs shown (newest first), whether more match, and how many were read."""

    runs: list[Json]
    more: bool
    scanned: int
    capped: bool
    """True when reading stopped at ``SCAN_MAX`` runs (older runs were not looked at)."""


def read_history(
    runs: Runs,
    name: str,
    *,
    limit: int,
    since: int | None = None,
    phases: Collection[str] = (),
) -> History:
    """At most ``limit`` runs of ``name`` triggered at or after ``since`` (unix seconds) in one
    of ``phases`` (empty: any)."""
    shown: list[Json] = []
    scanned = 0
    page = max(1, min(LIST_PAGE_MAX, limit + 1 if not phases else LIST_PAGE_MAX))
    for run in runs.iter_runs(name, page_size=page):
        scanned += 1
        at = run.get("triggered_at")
        if since is not None and isinstance(at, int | float) and at < since:
            return History(shown, False, scanned, False)
        if not phases or run.get("phase") in phases:
            if len(shown) == limit:
                return History(shown, True, scanned, False)
            shown.append(run)
        if scanned >= SCAN_MAX:
            return History(shown, False, scanned, True)
    return History(shown, False, scanned, False)
