"""Markdown plans for pull-request comments and ``$GITHUB_STEP_SUMMARY``.

One summary table (a row per environment), then per environment one collapsible ``<details>``
block per changed routine with its field diffs, and the unmanaged routines and blocked deletes
called out.  The text stays under GitHub's 65,536-character comment limit: past the budget the
remaining blocks are replaced by a pointer to the full JSON plan.
"""

from __future__ import annotations

import html

from reconciler.plan.diff import FieldDiff
from reconciler.plan.model import Change, Plan
from reconciler.views.fires_text import busiest_text, fire_lines, forecast_title, runs_text
from reconciler.views.plan_text import closing_line
from reconciler.views.values import diff_values, leaves, show_field

COMMENT_LIMIT = 65_536
MARKER = "<!-- reconciler-plan -->"
_RESERVE = 1_500


def _cell(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def summary_table(plans: list[tuple[str, Plan]], missing: list[str] | None = None) -> list[str]:
    """A row per environment, in name order: counts, unmanaged routines and blocked deletes; an
    environment whose plan is ``missing`` (its job failed) gets a row that says so."""
    rows = [(env, _summary_row(env, plan)) for env, plan in plans]
    rows += [
        (
            env,
            f"| {_cell(env)} | **no plan: the plan job failed**, see the workflow run "
            "| | | | | | |",
        )
        for env in missing or []
    ]
    header = [
        "| environment | target | create | update | replace | delete | unmanaged | "
        "blocked deletes |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    return header + [row for _, row in sorted(rows, key=lambda item: item[0])]


def _summary_row(env: str, plan: Plan) -> str:
    t = plan.totals()
    return (
        f"| {_cell(env)} | {_code(plan.target)} | {t['created']} | {t['updated']} | "
        f"{t['replaced']} | {t['deleted']} | {len(plan.unmanaged)} | {len(plan.blocked)} |"
    )


def change_block(change: Change) -> str:
    """A collapsible block for one change, with its diff as a small table."""
    symbol = change.action.info.symbol
    title = f"{symbol} <b>{html.escape(change.action.value)}</b> {_code(change.name)}"
    rows = ["| field | before | after |", "|---|---|---|"]
    if change.action.info.shows == "after":
        rows += [
            f"| {_code(p)} | | {_code(show_field(p, v))} |" for p, v in leaves(change.after or {})
        ]
    elif change.action.info.shows == "before":
        rows += [
            f"| {_code(p)} | {_code(show_field(p, v))} | |" for p, v in leaves(change.before or {})
        ]
    else:
        rows += [_diff_row(d.dotted, d) for d in change.diff]
    rows += [_diff_row(f"{d.dotted} (ignored)", d) for d in change.ignored]
    source = change.source
    where = f"Declared in {_code(f'{source.file}:{source.line}')}\n\n" if source else ""
    body = "\n".join(rows) if len(rows) > 2 else "_no field changes_"
    fires = "".join(f"\n\n{_fire_line(line)}" for line in fire_lines(change))
    return (
        f"<details><summary>{title}: {_cell(change.reason)}</summary>\n\n"
        f"{where}{body}{fires}\n\n</details>"
    )


def _fire_line(line: str) -> str:
    """``**next**: Mon ...`` from the text view's ``next: Mon ...``."""
    label, _, rest = line.partition(": ")
    label = label.strip().replace("next", "Next fires", 1).replace("dst", "Daylight saving", 1)
    return f"**{_cell(label)}**: {_cell(rest.strip())}"


def forecast_table(plan: Plan) -> str | None:
    """The load forecast as a table, a herd marked (``Plan.forecast``)."""
    result = plan.forecast
    if result is None or not result.agents:
        return None
    rows = [
        f"**{_cell(forecast_title(result).rstrip(':'))}**",
        "",
        "| agent | runs per day | busiest UTC minute | |",
        "|---|---|---|---|",
    ]
    for load in result.agents:
        herd = load.herd(result.threshold)
        mark = f"**above the herd threshold of {result.threshold}**" if herd else ""
        rows.append(
            f"| {_code(load.agent)} | {_cell(runs_text(load, result))} | "
            f"{_cell(busiest_text(load))} | {mark} |"
        )
    return "\n".join(rows)


def _diff_row(label: str, diff: FieldDiff) -> str:
    before, after = diff_values(diff)
    return f"| {_code(label)} | {_code(before)} | {_code(after)} |"


def _environment(env: str, plan: Plan) -> list[str]:
    parts = [f"### {_cell(env)}: {_cell(closing_line(plan))}"]
    parts += [change_block(c) for c in plan.pending]
    if plan.unmanaged:
        items = "\n".join(f"- {_code(u.name)}: {_cell(u.reason)}" for u in plan.unmanaged)
        parts.append(f"**Unmanaged routines** (left untouched):\n\n{items}")
    if plan.blocked:
        items = "\n".join(f"- {_code(b.name)}: {_cell(b.reason)}" for b in plan.blocked)
        parts.append(f"**Deletes blocked by safety rules**:\n\n{items}")
    ignored = [(c.name, d) for c in plan.changes if not c.is_change for d in c.ignored]
    if ignored:
        items = "\n".join(
            "- {}: {} {} => {}".format(_code(name), _code(d.dotted), *map(_code, diff_values(d)))
            for name, d in ignored
        )
        parts.append(f"**Ignored differences** (reported, never changed by apply):\n\n{items}")
    forecast = forecast_table(plan)
    if forecast is not None:
        parts.append(forecast)
    notes = [(c.name, note) for c in plan.changes for note in c.notes]
    if notes:
        items = "\n".join(f"- {_code(name)}: {_cell(note)}" for name, note in notes)
        parts.append(f"**Notes** (information, nothing to change):\n\n{items}")
    return parts


def fit(head: list[str], parts: list[str], hint: str, limit: int = COMMENT_LIMIT) -> str:
    """``head`` then as many ``parts`` as fit under ``limit``, then a pointer to ``hint``."""
    text = "\n".join(head)
    for part in parts:
        if len(text) + len(part) + _RESERVE > limit:
            return text + (
                "\n\n> **Truncated**: the report is too long for GitHub (65,536 characters). "
                f"The full report is in {hint}.\n"
            )
        text += "\n" + part + "\n"
    return text


def render(
    plans: list[tuple[str, Plan]],
    artifact_hint: str = "the plan JSON artifact",
    limit: int = COMMENT_LIMIT,
    missing: list[str] | None = None,
) -> str:
    """The whole markdown document, truncated to ``limit`` characters with a pointer."""
    head = [MARKER, "## Reconciler plan", "", *summary_table(plans, missing), ""]
    parts = [part for env, plan in plans for part in _environment(env, plan)]
    return fit(head, parts, artifact_hint, limit)
