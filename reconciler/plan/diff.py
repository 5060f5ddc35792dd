"""Field-level differences between two canonical routines (deepdiff for the paths)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler import paths
from reconciler.paths import Path


@dataclass(frozen=True)
class FieldDiff:
    """One changed field: its path and the value before (live) and after (desired)."""

    path: Path
    before: Any
    after: Any
    before_present: bool = True
    after_present: bool = True

    @property
    def dotted(self) -> str:
        """``triggers.daily.cron_expression``."""
        return paths.dotted(self.path)

    def to_json(self) -> dict[str, Any]:
        """JSON form: ``{path, before, after}`` (absent values are null plus a flag)."""
        result = {"path": self.dotted, "before": self.before, "after": self.after}
        if not self.before_present:
            result["before_absent"] = True
        if not self.after_present:
            result["after_absent"] = True
        return result


def field_diffs(before: dict[str, Any], after: dict[str, Any]) -> list[FieldDiff]:
    """Every leaf that differs, sorted by path; empty when the two are equal."""
    if before == after:
        return []
    # deepdiff is imported when the first routine differs: validate never pays for it
    import deepdiff  # noqa: PLC0415
    from deepdiff.helper import NotPresent  # noqa: PLC0415

    found: list[FieldDiff] = []
    for items in deepdiff.DeepDiff(before, after, view="tree", ignore_order=False).values():
        for item in items:
            old, new = item.t1, item.t2
            found.append(
                FieldDiff(
                    path=tuple(item.path(output_format="list")),
                    before=None if isinstance(old, NotPresent) else old,
                    after=None if isinstance(new, NotPresent) else new,
                    before_present=not isinstance(old, NotPresent),
                    after_present=not isinstance(new, NotPresent),
                )
            )
    return sorted(found, key=lambda d: [str(p) for p in d.path])


def split_ignored(
    diffs: list[FieldDiff], patterns: list[tuple[str, ...]]
) -> tuple[list[FieldDiff], list[FieldDiff]]:
    """(kept, ignored): a diff is ignored when an ignore pattern names it or a field around it."""
    kept: list[FieldDiff] = []
    ignored: list[FieldDiff] = []
    for item in diffs:
        target = ignored if any(paths.matches(p, item.path) for p in patterns) else kept
        target.append(item)
    return kept, ignored
