"""Pieces shared by commands: variables, output formats, time."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping

import click

from reconciler.config import NAME_RULE
from reconciler.diagnostics import ReconcilerError
from reconciler.manifest.interpolate import NAME_PATTERN

OUTPUT_FORMATS = ("text", "json", "markdown", "github")
VARIABLE_NAME = re.compile(NAME_PATTERN)


def parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    """``NAME=VALUE`` pairs from ``--var``."""
    result: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ReconcilerError(f"--var {pair!r}: expected NAME=VALUE")
        if not VARIABLE_NAME.fullmatch(name):
            raise ReconcilerError(
                f"--var {pair!r}: {name!r} is not a variable name: use {NAME_RULE}"
            )
        result[name] = value
    return result


def variables(cli_vars: tuple[str, ...], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Variables for ``${VAR}``: the environment, then configuration, then ``--var``."""
    merged = dict(os.environ)
    merged.update(extra or {})
    merged.update(parse_vars(cli_vars))
    return merged


def now() -> int:
    """The current unix time in seconds."""
    return int(time.time())


def resolve_output(output: str | None) -> str:
    """The output format: explicit, else ``github`` under GitHub Actions, else ``text``."""
    if output:
        return output
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


output_option = click.option(
    "--output",
    "-o",
    type=click.Choice(OUTPUT_FORMATS),
    default=None,
    help="text (default), json, markdown, or github (text plus annotations and the job "
    "summary; the default under GitHub Actions).",
)
