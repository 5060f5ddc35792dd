"""Human text for plans, in the style of Terraform's plan and Bicep's what-if."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from reconciler.plan.model import Change, Plan
from reconciler.plan.smoke import will_smoke
from reconciler.views.fires_text import fire_lines, forecast_title, load_line
from reconciler.views.values import diff_values, leaves, show_field

LEGEND = (
    "Legend: + create, ~ update, ! replace (delete, then create), - delete, > enable, < disable"
)


def header(console: Console, target: str, stack: str, origin: str) -> None:
    """The first line every command prints: where it is going to look or write."""
    line = Text("Target: ", style="bold")
    line.append(target)
    line.append(f"  ({origin})", style="dim")
    line.append("  stack: ", style="bold")
    line.append(stack)
    console.print(line)
    console.print()


def closing_line(plan: Plan) -> str:
    """``Plan: 2 to create, 1 to update, 0 to replace, 1 to delete.`` (enable/disable count as
    updates), or the no-changes sentence; deletes the mass-delete guard holds back are named."""
    held = plan.held_back
    if not plan.has_changes and not plan.blocked:
        return "No changes. The project matches the manifests."
    if not plan.has_changes and not held:
        return (
            f"No changes will be made; {len(plan.blocked)} delete(s) blocked by safety "
            "rules (see above)."
        )
    t = plan.totals()
    line = (
        f"Plan: {t['created']} to create, {t['updated']} to update, {t['replaced']} to replace, "
        f"{t['deleted']} to delete."
    )
    return line[:-1] + f"; {len(held)} held back by the mass-delete guard." if held else line


def _change_line(change: Change) -> Text:
    symbol, style = change.action.info.symbol, change.action.info.colour
    line = Text(f"  {symbol} ", style=style)
    line.append(f"{change.action.value:<8}", style=style)
    line.append(f" {change.name}", style="bold")
    line.append(f"  ({change.reason})", style="dim")
    return line


def _details(change: Change) -> list[Text]:
    fires = [Text(f"      {line}", style="cyan") for line in fire_lines(change)]
    return _fields(change) + fires + _smoke_line(change)


def _smoke_line(change: Change) -> list[Text]:
    """``smoke test: ...`` when ``apply --smoke`` will dispatch this change (never the input)."""
    smoke = change.smoke
    if smoke is None or not will_smoke(smoke, change.action.value, change.body or change.after):
        return []
    given = "its smoke input" if smoke.has_input else "its own input"
    text = f"smoke test: apply --smoke dispatches it once ({given}), waits up to {smoke.timeout}s"
    return [Text(f"      {text}", style="magenta")]


def _fields(change: Change) -> list[Text]:
    shows = change.action.info.shows
    if shows != "diff":
        sign, style, fields = (
            ("+", "green", change.after) if shows == "after" else ("-", "red", change.before)
        )
        return [
            Text(f"      {sign} {path}: {show_field(path, value)}", style=style)
            for path, value in leaves(fields or {})
            if not (path == "description" and value == "")
        ]
    lines = [
        Text("      ~ {}: {} => {}".format(d.dotted, *diff_values(d)), style="yellow")
        for d in change.diff
    ]
    lines += [
        Text("      (ignored) {}: {} => {}".format(d.dotted, *diff_values(d)), style="dim")
        for d in change.ignored
    ]
    return lines


def render(console: Console, plan: Plan) -> None:
    """The whole plan: changes with field diffs, unmanaged routines, blocked deletes, totals
    (rendered as one text: a print per line costs more than the plan of 10,000 routines)."""
    lines: list[Text] = []
    if plan.pending:
        lines += [Text("Reconciler will perform the following actions:"), Text("")]
        for change in plan.pending:
            lines.append(_change_line(change))
            lines += _details(change)
        lines.append(Text(""))
    ignored_only = [c for c in plan.changes if not c.is_change and c.ignored]
    if ignored_only:
        lines.append(Text("Ignored differences (reported, not changed):"))
        for change in ignored_only:
            for diff in change.ignored:
                text = "  = {}: {}: {} => {}".format(change.name, diff.dotted, *diff_values(diff))
                lines.append(Text(text, style="dim"))
        lines.append(Text(""))
    lines += _notes(plan)
    lines += _forecast(plan)
    lines += _others(plan)
    if plan.pending:
        lines.append(Text(LEGEND, style="dim"))
    lines.append(Text(closing_line(plan), style="bold"))
    write_lines(console, lines)


def write_lines(console: Console, lines: list[Text]) -> None:
    """Print ``lines``: as plain text when the console styles nothing (a pipe, a CI log,
    ``NO_COLOR``), else as one styled text (rich renders one text far faster than many)."""
    if console.color_system is None:
        console.file.write("".join(line.plain + "\n" for line in lines))
        console.file.flush()
        return
    console.print(Text("\n").join(lines))


def _notes(plan: Plan) -> list[Text]:
    """Information that is neither a change nor drift (``Change.notes``)."""
    noted = [(change.name, note) for change in plan.changes for note in change.notes]
    if not noted:
        return []
    lines = [Text("Notes (information, nothing to change):")]
    lines += [Text(f"  i {name}: {note}", style="dim") for name, note in noted]
    return [*lines, Text("")]


def _forecast(plan: Plan) -> list[Text]:
    """Runs per day and the busiest minute of each agent a change names (``Plan.forecast``)."""
    result = plan.forecast
    if result is None or not result.agents:
        return []
    lines = [Text(forecast_title(result))]
    for load in result.agents:
        herd = load.herd(result.threshold)
        lines.append(
            Text(
                f"  {'!' if herd else '*'} {load_line(load, result)}",
                style="bold red" if herd else "",
            )
        )
    return [*lines, Text("")]


def _others(plan: Plan) -> list[Text]:
    lines: list[Text] = []
    if plan.unmanaged:
        lines.append(Text("Unmanaged routines (left untouched):"))
        for item in plan.unmanaged:
            lines.append(Text(f"  ? {item.name}  ({item.reason})", style="blue"))
        lines.append(Text(""))
    if plan.blocked:
        lines.append(Text("Deletes blocked by safety rules (left untouched):"))
        reasons: dict[str, list[str]] = {}
        for blocked in plan.blocked:
            reasons.setdefault(blocked.reason, []).append(blocked.name)
        for reason, names in reasons.items():
            lines.append(Text(f"  {reason}:", style="red"))
            lines += [Text(f"    # {name}", style="red") for name in names]
        lines.append(Text(""))
    return lines
