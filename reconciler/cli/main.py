"""The ``reconciler`` command group and its error handling (exit 1, one line, no traceback)."""

from __future__ import annotations

import logging
import os
import sys

import click

from reconciler import __version__
from reconciler.cli.apply import apply
from reconciler.cli.drift import drift
from reconciler.cli.emulator import emulator
from reconciler.cli.export import export_command
from reconciler.cli.plan import plan
from reconciler.cli.render import render
from reconciler.cli.schema import schema
from reconciler.cli.validate import validate
from reconciler.diagnostics import Diagnostic, ReconcilerError
from reconciler.views import terminal


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(__version__, prog_name="reconciler")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """GitOps for Azure AI Foundry Routines: validate, plan, apply, prune, detect drift.

    Exit codes: 0 success (no changes), 1 error, 2 success with changes
    (plan --detailed-exitcode, drift), 130 interrupted.
    """
    if ctx.invoked_subcommand is None:
        terminal.emit(ctx.get_help())


for command in (validate, plan, apply, drift, export_command, render, emulator, schema):
    cli.add_command(command)


def _fail(
    message: str,
    hint: str | None = None,
    code: int = 1,
    diagnostics: list[Diagnostic] | None = None,
) -> None:
    terminal.failure(message, hint, diagnostics or [])
    sys.exit(code)


def _quiet_sdk_logging() -> None:
    """azure-identity logs every credential it tried at WARNING; our error says it in one line
    (RECONCILER_DEBUG=1 shows the SDK's own logs)."""
    if not os.environ.get("RECONCILER_DEBUG"):
        logging.getLogger("azure").setLevel(logging.CRITICAL)


def main() -> None:
    """Entry point: runs the CLI and turns every failure into one line and an exit code."""
    _quiet_sdk_logging()
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.UsageError as err:
        hint = f"run '{err.ctx.command_path} --help'" if err.ctx else None
        _fail(err.format_message(), hint)
    except click.Abort:
        _fail("cancelled; nothing was changed", code=130)
    except ReconcilerError as err:
        _fail(err.message, err.hint, err.exit_code, err.diagnostics)
    except KeyboardInterrupt:
        _fail("interrupted", code=130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as err:
        if os.environ.get("RECONCILER_DEBUG"):
            raise
        _fail(
            f"internal error: {type(err).__name__}: {err}",
            "set RECONCILER_DEBUG=1 to see the traceback, and please report it",
        )
