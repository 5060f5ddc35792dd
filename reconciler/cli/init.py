"""``reconciler init [DIR]``: scaffold a routines repository."""

from __future__ import annotations

import os
import stat

import click

from reconciler.cli.files import make_folder, write_text
from reconciler.diagnostics import ReconcilerError
from reconciler.scaffold.guide import report
from reconciler.scaffold.render import (
    GITIGNORE,
    Scaffold,
    choose_stack,
    gitignore,
    parse_environments,
    render,
)
from reconciler.views import terminal


@click.command()
@click.argument("folder", metavar="[DIR]", default=".", type=click.Path(file_okay=False))
@click.option(
    "--stack",
    default=None,
    help="The ownership scope of the repository's routines (default: the folder's name).",
)
@click.option(
    "--environments",
    default="dev,prod",
    show_default=True,
    help="Comma-separated environments, in promotion order; each gets an endpoint "
    "${<ENV>_PROJECT_ENDPOINT}. A 'local' environment is always added.",
)
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
def init(*, folder: str, stack: str | None, environments: str, force: bool) -> None:
    """Scaffold a routines repository in DIR (default: the current folder).

    Writes reconciler.yaml (the stack, its environments and a 'local' one backed by a SQLite
    file), example manifests of every trigger and action type, GitHub workflows that call this
    release's reusable plan, apply and drift workflows, a pre-commit configuration, and adds
    .reconciler/ to .gitignore. Then prints the next steps: the Azure identities, roles and
    GitHub secrets the workflows need. Refuses, writing nothing, when a file exists (unless
    --force).

    \b
    Examples:
      reconciler init
      reconciler init routines --stack payments --environments dev,staging,prod
      reconciler init . --force        # regenerate, overwriting the scaffold's files
    """
    names = parse_environments(environments)
    base = os.path.abspath(folder)
    scaffold = Scaffold(choose_stack(stack, os.path.basename(base)), names)
    files = render(scaffold)
    _refuse_existing(folder, base, list(files), force)
    ignore_path = os.path.join(base, GITIGNORE)
    before = _read(ignore_path)
    ignore = gitignore(before)
    make_folder(base)
    for path, text in files.items():
        write_text(os.path.join(base, path), text)
    if ignore is not None:
        write_text(ignore_path, ignore)
    written = [*files, *([GITIGNORE] if before is None else [])]
    extended = before is not None and ignore is not None
    terminal.emit(report(folder, scaffold, written, extended=extended))


def _refuse_existing(shown: str, base: str, paths: list[str], force: bool) -> None:
    """Fail before anything is written: on any existing file without --force, and on a path
    that is not a regular file (a folder, a link) even with it."""
    existing: list[str] = []
    odd: list[str] = []
    for path in [*paths, GITIGNORE]:
        try:
            mode = os.lstat(os.path.join(base, path)).st_mode
        except FileNotFoundError:
            continue
        except NotADirectoryError:
            mode = 0
        if not stat.S_ISREG(mode):
            odd.append(path)
        elif path != GITIGNORE:
            existing.append(path)
    if odd:
        raise ReconcilerError(
            f"cannot write in {shown}: {', '.join(odd)} exist(s) and is not a regular file; "
            "nothing was written"
        )
    if existing and not force:
        raise ReconcilerError(
            f"refusing to overwrite {len(existing)} existing file(s) in {shown}: "
            f"{', '.join(existing)} (pass --force to overwrite them); nothing was written"
        )


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise ReconcilerError(f"cannot read {path}: {err}") from None
