"""``reconciler schema``: print the JSON Schemas that are checked in under schemas/."""

from __future__ import annotations

import click

from reconciler.config import config_schema
from reconciler.manifest.schema import manifest_schema, render
from reconciler.views import terminal


@click.command()
@click.argument("which", type=click.Choice(["manifest", "config"]), default="manifest")
def schema(which: str) -> None:
    """Print a JSON Schema (draft 2020-12): of manifests, or of reconciler.yaml (config).

    The same schemas are checked in under schemas/; a test keeps them equal.
    """
    terminal.emit(render(manifest_schema() if which == "manifest" else config_schema()))
