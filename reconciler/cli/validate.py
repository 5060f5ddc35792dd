"""``reconciler validate [PATHS...]``: check manifests offline."""

from __future__ import annotations

import sys

import click

from reconciler.cli.common import OUTPUT_FORMATS, now, resolve_output
from reconciler.cli.context import ConfigArgs, config_options, offline_settings
from reconciler.manifest.loader import load
from reconciler.views import diagnostics as view


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@config_options
@click.option(
    "--output",
    "-o",
    type=click.Choice(OUTPUT_FORMATS),
    default=None,
    help="text (default), json, or github annotations (default under GitHub Actions).",
)
def validate(*, paths: tuple[str, ...], config: ConfigArgs, output: str | None) -> None:
    """Check manifests against the schema and the service's rules (no network needed).

    PATHS default to the manifests of reconciler.yaml (of --env when given). Prints one line
    per problem as file:line:col: field: message. Exit code 0 when every manifest is valid,
    1 otherwise.
    """
    chosen, values = offline_settings(paths, config)
    result = load(list(chosen), variables=values, now=now())
    fmt = resolve_output(output)
    if fmt == "json":
        sys.stdout.write(
            view.validation_json(result.diagnostics, len(result.files), len(result.routines))
        )
    elif fmt == "github":
        view.write_annotations(result.diagnostics, sys.stdout)
        view.write_lines(result.diagnostics, sys.stderr)
    else:
        view.write_lines(result.diagnostics, sys.stdout)
        click.echo(view.summary_line(result.diagnostics, len(result.files), len(result.routines)))
    if not result.files and not result.diagnostics:
        click.echo("warning: no manifest files (*.yaml, *.yml) found", err=True)
    raise SystemExit(0 if result.ok else 1)
