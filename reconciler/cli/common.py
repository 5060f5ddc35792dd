"""Pieces shared by commands: variables, output formats, time."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from reconciler.config import NAME_RULE
from reconciler.contract.timer import parse_duration
from reconciler.diagnostics import ReconcilerError
from reconciler.manifest.interpolate import NAME_PATTERN
from reconciler.views.formats import FORMATS

F = TypeVar("F", bound=Callable[..., Any])
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


output_option = click.option(
    "--output",
    "-o",
    type=click.Choice(FORMATS),
    default=None,
    help="text (default), json, markdown, or github (text plus annotations and the job "
    "summary; the default under GitHub Actions).",
)


def report_out_options(report: str) -> Callable[[F], F]:
    """``--json-out FILE`` and ``--markdown-out FILE``: the ``report`` also written to files."""

    def decorate(command: F) -> F:
        markdown = click.option(
            "--markdown-out",
            type=click.Path(dir_okay=False),
            default=None,
            help=f"Also write the {report} as markdown (e.g. for a tracking issue).",
        )
        json_out = click.option(
            "--json-out",
            type=click.Path(dir_okay=False),
            default=None,
            help=f"Also write the {report} as JSON to this file.",
        )
        return json_out(markdown(command))

    return decorate


def parse_timeout(text: str, flag: str, zero: str = "no limit") -> float | None:
    """Seconds in a duration flag (``90s``, ``10m``, ``1h``); ``0`` (or ``0s``) gives None,
    which means ``zero`` (no limit, or for --lock-timeout: fail at once)."""
    value = text.strip()
    if value == "0" or (value[:-1].strip("0") == "" and value[-1:] in "smhdw" and value[:-1]):
        return None
    seconds = parse_duration(value)
    if seconds is None:
        raise ReconcilerError(
            f"{flag} {text!r} is not a duration: use e.g. 90s, 10m or 1h (0: {zero})"
        )
    return float(seconds)


def timeout_option(default: str, what: str) -> Callable[[F], F]:
    """``--timeout DURATION`` with the command's default."""
    return click.option(
        "--timeout",
        "timeout",
        default=default,
        show_default=True,
        metavar="DURATION",
        help=f"Give up after this long (90s, 10m, 1h; 0: no limit): {what}; exit code 1.",
    )
