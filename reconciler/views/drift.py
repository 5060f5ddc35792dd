"""Drift reports as text, JSON and markdown (the report itself: ``plan.drift``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from reconciler.plan.drift import GROUPS, INFORMATION, DriftReport
from reconciler.plan.model import FORMAT_VERSION, Change
from reconciler.plan.serialize import change_to_json
from reconciler.views.plan_markdown import change_block, fit
from reconciler.views.values import diff_values


def to_json(report: DriftReport) -> dict[str, Any]:
    """The drift JSON document."""
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "target": {
            "endpoint": report.plan.target,
            "stack": report.plan.stack,
            "environment": report.plan.environment,
        },
        "drifted": report.drifted,
    }
    for kind, _ in GROUPS:
        if kind == "notes" and not report.groups[kind]:
            continue  # present only when there are notes (a key newer than the others)
        doc[kind] = [_item_json(kind, item) for item in report.groups[kind]]
    return doc


def _item_json(kind: str, item: Any) -> dict[str, Any]:
    if isinstance(item, Change):
        data = change_to_json(item)
        if kind == "ignored":
            return {"name": item.name, "ignored_differences": data.get("ignored_differences")}
        if kind == "notes":
            return {"name": item.name, "notes": list(item.notes)}
        return data
    return {"name": item.name, "reason": item.reason}


def render_text(console: Console, report: DriftReport) -> None:
    """Human drift report."""
    for kind, title in GROUPS:
        items = report.groups[kind]
        if not items:
            continue
        console.print(Text(f"{title}: {len(items)}", style="bold"))
        for item in items:
            console.print(Text(f"  - {item.name}: {_summary(kind, item)}"))
            for line in _diff_lines(kind, item):
                console.print(Text(f"      {line}", style="dim"))
    console.print(Text(closing(report), style="bold"))


def closing(report: DriftReport) -> str:
    """The last line: in sync, or how much drifted."""
    if not report.drifted:
        return "No drift: the project matches git."
    total = sum(len(report.groups[k]) for k, _ in GROUPS if k not in INFORMATION)
    return f"Drift detected: {total} routine(s) differ from git."


def _summary(kind: str, item: Any) -> str:
    if isinstance(item, Change) and kind == "notes":
        return "; ".join(item.notes)
    if isinstance(item, Change) and kind == "ignored":
        fields = ", ".join(d.dotted for d in item.ignored)
        return (
            f"differs only in ignored fields: {fields}"
            if not item.diff
            else (f"also differs in ignored fields: {fields}")
        )
    return str(item.reason)


def _diff_lines(kind: str, item: Any) -> list[str]:
    if not isinstance(item, Change) or kind == "notes":
        return []
    diffs = item.ignored if kind == "ignored" else item.diff
    return ["{}: project {}, git {}".format(d.dotted, *diff_values(d)) for d in diffs]


def render_markdown(
    reports: list[tuple[str, DriftReport]], hint: str = "the drift JSON artifact"
) -> str:
    """Markdown drift report (for the tracking issue and the job summary), within GitHub's
    size limit."""
    names = ",".join(env for env, _ in reports)
    head = [f"<!-- reconciler-drift:{names} -->", "## Reconciler drift report", ""]
    parts: list[str] = []
    for env, report in reports:
        parts.append(f"### {env}: {closing(report)}")
        for kind, title in GROUPS:
            items = report.groups[kind]
            if items:
                parts.append(f"**{title}** ({len(items)})")
                parts += [_markdown_item(kind, item) for item in items]
    return fit(head, parts, hint)


def _markdown_item(kind: str, item: Any) -> str:
    if isinstance(item, Change) and kind not in ("ignored", "notes"):
        return change_block(item)
    lines = [f"- `{item.name}`: {_summary(kind, item)}"]
    lines += [f"  - {line}" for line in _diff_lines(kind, item)]
    return "\n".join(lines)
