"""``reconciler render``: one report from the plan JSON files of several environments."""

from __future__ import annotations

import json
from pathlib import Path

import click

from reconciler.cli.files import read_document
from reconciler.diagnostics import ReconcilerError
from reconciler.plan.model import Plan
from reconciler.plan.serialize import plan_from_json
from reconciler.views import factory, plan_markdown, terminal


@click.command()
@click.argument("plan_files", nargs=-1, type=click.Path(dir_okay=False))
@click.option(
    "--output",
    "-o",
    type=click.Choice(["markdown", "text"]),
    default="markdown",
    show_default=True,
    help="markdown (for a pull-request comment) or text.",
)
@click.option(
    "--artifact-hint",
    default="the plan JSON artifact of this workflow run",
    show_default=True,
    help="Where readers find the full plan when the markdown is truncated.",
)
@click.option(
    "--missing",
    multiple=True,
    metavar="ENV",
    help="An environment whose plan is missing (its job failed); the report says so.",
)
def render(
    *, plan_files: tuple[str, ...], output: str, artifact_hint: str, missing: tuple[str, ...]
) -> None:
    """Render plan JSON files (from 'plan --json-out') as one report, a section each.

    The markdown has a summary table with a row per environment and stays under GitHub's
    65,536-character comment limit.
    """
    if not plan_files and not missing:
        raise ReconcilerError("no plan files given", hint="pass files written by plan --json-out")
    plans = [_read(path) for path in plan_files]
    if output == "markdown":
        terminal.emit(plan_markdown.render(plans, artifact_hint, missing=list(missing)))
        return
    out = factory.make("text")
    for env, plan in plans:
        out.header(plan.target, f"environment {env}", plan.stack)
        out.plan(plan, env)


def _read(path: str) -> tuple[str, Plan]:
    try:
        doc = json.loads(read_document(path, "plan JSON"))
        plan = plan_from_json(doc)
    except (ValueError, KeyError, TypeError) as err:
        raise ReconcilerError(f"{path} is not a plan JSON document ({err})") from None
    return plan.environment or Path(path).stem, plan
