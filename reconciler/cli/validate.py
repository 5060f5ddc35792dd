"""``reconciler validate [PATHS...]``: check manifests offline."""

from __future__ import annotations

import click

from reconciler.cli.common import now
from reconciler.cli.context import ConfigArgs, config_options, offline_settings
from reconciler.diagnostics import Failure
from reconciler.manifest.loader import load
from reconciler.views import factory


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@config_options
@click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json", "github"]),
    default=None,
    help="text (default), json, or github annotations (default under GitHub Actions).",
)
def validate(*, paths: tuple[str, ...], config: ConfigArgs, output: str | None) -> int:
    """Check manifests against the schema and the service's rules (no network needed).

    PATHS default to the manifests of reconciler.yaml (of --env when given); azd's azure.yaml
    (or a folder holding one) is read for its host: azure.ai.routine services. Prints one line
    per problem as file:line:col: field: message. Exit code 0 when every manifest is valid,
    1 otherwise.

    \b
    Examples:
      reconciler validate manifests/
      reconciler validate azure.yaml --var AZURE_ENV_NAME=dev
    """
    view = factory.make(output)
    try:
        chosen, values = offline_settings(paths, config)
    except Failure as err:
        if not err.diagnostics:
            raise
        view.validation(err.diagnostics, files=1, routines=0)
        return 1
    result = load(list(chosen), variables=values, now=now())
    view.validation(result.diagnostics, result.seen, len(result.routines))
    return 0 if result.ok else 1
