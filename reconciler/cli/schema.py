"""``reconciler schema``: print (or write) the published JSON Schemas under schemas/."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

from reconciler.cli.files import check_writable, write_text
from reconciler.config import config_schema
from reconciler.manifest.editor_schema import editor_schema, schema_url
from reconciler.manifest.schema import render
from reconciler.views import terminal

SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "manifest": editor_schema,
    "config": config_schema,
}


@click.command()
@click.argument("which", type=click.Choice(["manifest", "config"]), default="manifest")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Write both schemas (manifest.schema.json, config.schema.json) into this folder "
    "instead of printing one.",
)
def schema(which: str, out_dir: str | None) -> None:
    """Print a JSON Schema (draft 2020-12): of manifests, or of reconciler.yaml (config).

    The same schemas are checked in under schemas/ (a test keeps them equal) and published
    with each release at their $id. For editors, start a manifest with:

    \b
      # yaml-language-server: $schema=<the $id of the manifest schema>

    \b
    Examples:
      reconciler schema > manifest.schema.json
      reconciler schema config
      reconciler schema --out .schemas/
    """
    if out_dir is None:
        terminal.emit(render(SCHEMAS[which]()))
        return
    paths = {name: os.path.join(out_dir, f"{name}.schema.json") for name in SCHEMAS}
    for path in paths.values():
        check_writable(path)
    for name, path in paths.items():
        write_text(path, render(SCHEMAS[name]()))
        terminal.note(f"wrote {path} ($id {schema_url(name)})")
