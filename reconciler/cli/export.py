"""``reconciler export``: write manifests for the routines in a project."""

from __future__ import annotations

import os

import click

from reconciler.cli.common import now
from reconciler.cli.context import TargetArgs, build, target_options
from reconciler.cli.files import make_folder, write_private
from reconciler.diagnostics import ReconcilerError
from reconciler.export import Exported, dump, export, file_name
from reconciler.export_azd import FILE_NAME, dump_azd, export_azd, relative_timers
from reconciler.live.factory import open_backend
from reconciler.views import factory, terminal
from reconciler.views.base import View


@click.command(name="export")
@target_options
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Write one manifest per routine into this folder (default: print one manifest to stdout).",
)
@click.option("--force", is_flag=True, help="Overwrite files that already exist in --out.")
@click.option(
    "--format",
    "form",
    type=click.Choice(["manifest", "azd"]),
    default="manifest",
    show_default=True,
    help="manifest: reconciler manifests; azd: one azure.yaml whose services "
    "(host: azure.ai.routine) use the azd extension's camelCase authoring format.",
)
def export_command(*, target: TargetArgs, out_dir: str | None, force: bool, form: str) -> None:
    """Write manifests for the live routines (bootstrap a repository, or adopt a project).

    Exporting from a project this stack manages and planning the result shows no changes;
    for routines created elsewhere, plan with --adopt to take them over. Action inputs and
    custom parameters are copied as stored (files are written 0600, and a 'review' line names
    each routine that has them): replace secrets by ${VAR} before committing.

    \b
    Examples:
      reconciler export --out manifests
      reconciler export --format azd --out .     # writes ./azure.yaml
      reconciler plan azure.yaml                 # no changes
    """
    ctx = build(target, require_paths=False)
    out = factory.make("text" if out_dir else "json")
    out.header(ctx.endpoint.display, ctx.endpoint.origin, ctx.stack)
    with open_backend(ctx.endpoint) as backend:
        live = backend.list_routines()
    result = export_azd(live, now()) if form == "azd" else export(live, now())
    _review(out, result, azd=form == "azd")
    target_name = ctx.endpoint.display
    if form == "azd":
        text = dump_azd(result.routines, target_name, ctx.stack)
        if out_dir is None:
            terminal.emit(text)
            return
        path = _write_one(out_dir, FILE_NAME, text, force)
        out.line(f"Exported {len(result.routines)} routine(s) to {path}.")
        return
    if out_dir is None:
        terminal.emit(dump(result.routines, target_name))
        return
    written = _write_files(out_dir, result.routines, target_name, force)
    out.line(f"Exported {written} routine(s) to {out_dir}.")


def _review(out: View, result: Exported, *, azd: bool) -> None:
    for name, reason in result.skipped:
        out.line(f"skipped {name}: {reason}", "yellow")
    for name, fields in result.copied_values():
        out.line(
            f"review {name}: {', '.join(fields)} copied as stored (may hold secrets; mark them "
            "with reconcile.sensitive and use ${VAR})",
            "yellow",
        )
    for name, field, duration in relative_timers(result.routines) if azd else []:
        out.line(
            f"review {name}: {field} is the relative timer {duration!r} (reconciler times it "
            "at creation); azd would send the text as it is: write an absolute time if azd "
            "deploys this file",
            "yellow",
        )


def _write_one(folder: str, name: str, text: str, force: bool) -> str:
    make_folder(folder)
    path = os.path.join(folder, name)
    if os.path.exists(path) and not force:
        raise ReconcilerError(f"{path} already exists; pass --force or choose another --out")
    write_private(path, text)
    return path


def _write_files(folder: str, routines: list[dict[str, object]], target: str, force: bool) -> int:
    make_folder(folder)
    paths = [os.path.join(folder, file_name(str(r["name"]))) for r in routines]
    clashes = [p for p in paths if os.path.exists(p)]
    if clashes and not force:
        raise ReconcilerError(
            f"{clashes[0]} already exists ({len(clashes)} file(s) would be "
            "overwritten); pass --force or choose another --out"
        )
    for path, routine in zip(paths, routines, strict=True):
        write_private(path, dump([routine], target))
    return len(paths)
