"""``reconciler dispatch NAME``: run a routine now, once, and optionally wait for its run."""

from __future__ import annotations

import json
import time
from typing import Any, Final

import click

from reconciler.app.dispatching import (
    DEFAULT_TIMEOUT,
    Outcome,
    dispatch_once,
    payload_for,
    wait_for_run,
)
from reconciler.cli.common import parse_timeout
from reconciler.cli.context import TargetArgs, build, target_options
from reconciler.cli.runs import open_runs
from reconciler.contract import nesting
from reconciler.contract.limits import DISPATCH_INPUT_MAX
from reconciler.diagnostics import ReconcilerError
from reconciler.live.azure_errors import shown_name
from reconciler.manifest.sources import ReadError, read_regular
from reconciler.views import factory
from reconciler.views import runs as runs_view
from reconciler.views.documents import emit_json
from reconciler.views.progress import watching

INPUT_FILE_MAX: Final = 4 * DISPATCH_INPUT_MAX


def read_input(text: str) -> Any:
    """``--input``: JSON text, or ``@FILE`` holding JSON (a regular file, opened without
    blocking: a FIFO or device is refused); ReconcilerError names what is wrong. ``NaN``,
    ``Infinity`` and numbers too large for a float (``1e999``) are not JSON: refused here."""
    source = "--input"
    if text.startswith("@"):
        source = f"--input file {text[1:]}"
        try:
            text = read_regular(text[1:], INPUT_FILE_MAX).decode("utf-8")
        except ReadError as err:
            reason = str(err).removeprefix("cannot read file: ")
            raise ReconcilerError(f"{source}: cannot read it ({reason})") from None
        except UnicodeDecodeError:
            raise ReconcilerError(f"{source}: cannot read it (it is not UTF-8 text)") from None
    try:
        value = nesting.loads(text, parse_constant=_no_constant)
    except nesting.TooDeep as err:
        raise ReconcilerError(f"{source} {err}") from None
    except ValueError as err:
        raise ReconcilerError(
            f"{source} is not JSON: {err} (a string needs quotes: '\"hello\"')"
        ) from None
    try:
        json.dumps(value, allow_nan=False)  # 1e999 parses as inf
    except ValueError:
        message = "a number is too large for a float (such as 1e999)"
        raise ReconcilerError(f"{source} is not JSON: {message}") from None
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


@click.command()
@click.argument("name")
@target_options
@click.option(
    "--input",
    "input_text",
    default=None,
    metavar="JSON|@FILE",
    help="Send this JSON as the action's input instead of the routine's own (a dispatch "
    "payload of the routine's action type); @FILE reads it from a file.",
)
@click.option(
    "--wait", is_flag=True, help="Wait until the run completes (exit 0) or fails (exit 1)."
)
@click.option(
    "--timeout",
    default=f"{int(DEFAULT_TIMEOUT)}s",
    show_default=True,
    metavar="DURATION",
    help="With --wait: give up after this long, the dispatch request included (90s, 10m; 0: "
    "no limit); exit code 1.",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default=None,
    help="text (default) or json (the acknowledgement, the final run and every attempt).",
)
def dispatch(
    *,
    name: str,
    target: TargetArgs,
    input_text: str | None,
    wait: bool,
    timeout: str,
    output: str | None,
) -> int:
    """Run a routine now: one POST :dispatch_async, printing its dispatch_id.

    A dispatch is not idempotent, so it is sent once and never retried after it may have been
    received. The service's answer only says the run was queued; with --wait the routine's runs
    are polled (with a growing pause) for that dispatch_id until the delivery completes
    (exit 0) or fails (exit 1, with error_type and error_message), retries included: up to 3
    attempts, 408/429/5xx retried. Exit 1 as well when --timeout passes first.

    \b
    Examples:
      reconciler dispatch nightly-triage
      reconciler dispatch nightly-triage --wait --timeout 10m
      reconciler dispatch nightly-triage --input '{"issue": 42}' --wait -o json
      reconciler dispatch nightly-triage --input @input.json --endpoint local:.reconciler/local.db
    """
    ctx = build(target, require_paths=False)
    value = None if input_text is None else read_input(input_text)
    limit = parse_timeout(timeout, "--timeout") if wait else None
    out = factory.make(output or "text")
    out.header(ctx.endpoint.display, ctx.endpoint.origin, ctx.stack)
    with open_runs(ctx.endpoint, writable=True) as backend:
        routine = backend.get(name)
        if routine is None:
            shown = shown_name(name)
            raise ReconcilerError(f"routine '{shown}' does not exist in {ctx.endpoint.display}")
        action_type = str((routine.get("action") or {}).get("type"))
        payload = None if input_text is None else payload_for(action_type, value)
        started = time.monotonic()
        deadline = None if limit is None else started + limit
        outcome = dispatch_once(backend, name, payload, deadline=deadline)
        if outcome.state == "dispatched":
            out.line(runs_view.dispatched_line(outcome))
            if wait:
                with watching(out.human) as watch:
                    outcome = wait_for_run(
                        backend, outcome, timeout=limit, on_progress=watch, started=started
                    )
    return _finish(out.name, outcome, ctx.endpoint.display)


def _finish(view: str, outcome: Outcome, target: str) -> int:
    """Print the outcome; exit 0 when it completed (or was acknowledged without --wait)."""
    if view == "json":
        emit_json(runs_view.outcome_document(outcome, target))
    if outcome.state == "dispatched":
        return 0
    line = runs_view.outcome_line(outcome)
    if outcome.state == "completed":
        if view != "json":
            factory.active().line(line)
        return 0
    raise ReconcilerError(line)
