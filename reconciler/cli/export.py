"""``reconciler export``: write manifests for the routines in a project."""

from __future__ import annotations

import os

import click

from reconciler.cli.common import now
from reconciler.cli.context import TargetArgs, build, target_options
from reconciler.cli.files import make_folder, write_private
from reconciler.diagnostics import ReconcilerError
from reconciler.export import dump, export, file_name
from reconciler.live.factory import open_backend
from reconciler.views import factory, terminal


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
def export_command(*, target: TargetArgs, out_dir: str | None, force: bool) -> None:
    """Write manifests for the live routines (bootstrap a repository, or adopt a project).

    Exporting from a project this stack manages and planning the result shows no changes;
    for routines created elsewhere, plan with --adopt to take them over. Action inputs and
    custom parameters are copied as stored (files are written 0600, and a 'review' line names
    each routine that has them): replace secrets by ${VAR} before committing.
    """
    ctx = build(target, require_paths=False)
    out = factory.make("text" if out_dir else "json")
    out.header(ctx.endpoint.display, ctx.endpoint.origin, ctx.stack)
    with open_backend(ctx.endpoint) as backend:
        result = export(backend.list_routines(), now())
    for name, reason in result.skipped:
        out.line(f"skipped {name}: {reason}", "yellow")
    for name, fields in result.copied_values():
        out.line(
            f"review {name}: {', '.join(fields)} copied as stored (may hold secrets; mark them "
            "with reconcile.sensitive and use ${VAR})",
            "yellow",
        )
    if out_dir is None:
        terminal.emit(dump(result.routines, ctx.endpoint.display))
        return
    written = _write_files(out_dir, result.routines, ctx.endpoint.display, force)
    out.line(f"Exported {written} routine(s) to {out_dir}.")


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
