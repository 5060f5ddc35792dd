"""The ``reconciler`` command group and its error handling (exit 1, one line, no traceback)."""

from __future__ import annotations

import importlib
import os
import sys

import click

from reconciler import __version__
from reconciler.diagnostics import Diagnostic, Failure
from reconciler.views import logs, terminal

# Commands are imported when they run (``reconciler validate`` never loads the SDK, deepdiff
# or the emulator); the order is the order of ``--help``.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("reconciler.cli.init", "init"),
    "validate": ("reconciler.cli.validate", "validate"),
    "plan": ("reconciler.cli.plan", "plan"),
    "apply": ("reconciler.cli.apply", "apply"),
    "drift": ("reconciler.cli.drift", "drift"),
    "schedule": ("reconciler.cli.schedule", "schedule"),
    "status": ("reconciler.cli.status", "status"),
    "runs": ("reconciler.cli.runs", "runs"),
    "dispatch": ("reconciler.cli.dispatch", "dispatch"),
    "export": ("reconciler.cli.export", "export_command"),
    "render": ("reconciler.cli.render", "render"),
    "emulator": ("reconciler.cli.emulator", "emulator"),
    "agents": ("reconciler.cli.agents", "agents"),
    "schema": ("reconciler.cli.schema", "schema"),
    "completion": ("reconciler.cli.completion", "completion"),
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command, in the order of ``COMMANDS``."""
        del ctx
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import and return one command (None for an unknown name)."""
        del ctx
        if cmd_name not in COMMANDS:
            return None
        module, name = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    invoke_without_command=True,
)
@click.version_option(__version__, prog_name="reconciler")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="One line per HTTP request on stderr: method, path, status, ms, retry number "
    "(never headers, tokens or bodies). Also RECONCILER_VERBOSE=1.",
)
@click.option(
    "--debug",
    is_flag=True,
    help="Also the Azure SDK's own logs (Authorization redacted) and tracebacks of "
    "unexpected errors. Also RECONCILER_DEBUG=1.",
)
@click.pass_context
def cli(ctx: click.Context, verbose: bool, debug: bool) -> None:
    """GitOps for Azure AI Foundry Routines: validate, plan, apply, prune, detect drift.

    Exit codes: 0 success (no changes), 1 error, 2 success with changes
    (plan --detailed-exitcode, drift), 130 interrupted.
    """
    logs.configure(logs.level_from(verbose, debug, os.environ))
    if ctx.invoked_subcommand is None:
        terminal.emit(ctx.get_help())


@cli.result_callback()
@click.pass_context
def _exit_code(ctx: click.Context, /, code: int | None, **_: object) -> None:
    """Each command returns its exit code (as a pre-commit command does); this ends with it."""
    ctx.exit(code or 0)


def _fail(
    message: str,
    hint: str | None = None,
    code: int = 1,
    diagnostics: list[Diagnostic] | None = None,
) -> int:
    from reconciler.views import factory  # noqa: PLC0415 - only a failure needs every view

    factory.active().failure(message, hint, diagnostics or [])
    return code


def run(args: list[str] | None = None) -> int:
    """Run the CLI on ``args`` (default: the process's) and return its exit code; every
    failure becomes one line (and located problems), never a traceback."""
    logs.configure(logs.level_from(False, False, os.environ))
    try:
        code = cli.main(args=args, prog_name="reconciler", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except (Exception, KeyboardInterrupt) as err:
        return _report(err)
    return code if isinstance(code, int) else 0


def _report(err: BaseException) -> int:
    """The exit code of a command that raised ``err``, after saying what went wrong."""
    if isinstance(err, click.UsageError):
        hint = f"run '{err.ctx.command_path} --help'" if err.ctx else None
        return _fail(err.format_message(), hint)
    if isinstance(err, click.Abort):
        return _fail("cancelled; nothing was changed", code=130)
    if isinstance(err, Failure):  # every layer's error: config, endpoint, backend, application
        return _fail(err.message, err.hint, err.exit_code, err.diagnostics)
    if isinstance(err, KeyboardInterrupt):
        return _fail("interrupted", code=130)
    if isinstance(err, BrokenPipeError):
        return 1
    if logs.debugging():
        raise err
    return _fail(
        f"internal error: {type(err).__name__}: {err}",
        "run with --debug to see the traceback, and please report it",
    )


def main() -> None:
    """Entry point of the ``reconciler`` command."""
    sys.exit(run())
