"""``reconciler runs NAME``: a routine's run history, newest first (``app/run_history.py``)."""

from __future__ import annotations

import os
import time
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, cast

import click

from reconciler.app.run_history import PHASES, SCAN_MAX, read_history
from reconciler.cli.context import TargetArgs, build, target_options
from reconciler.contract.timer import parse_duration
from reconciler.diagnostics import ReconcilerError
from reconciler.live.base import Backend, Runs
from reconciler.live.endpoint import Endpoint
from reconciler.live.factory import open_backend
from reconciler.live.local_firing import settle_due_firings
from reconciler.views import factory
from reconciler.views import runs as runs_view
from reconciler.views.documents import emit_json

if TYPE_CHECKING:
    from reconciler.live.azure import AzureBackend
    from reconciler.live.local import LocalBackend, MissingLocalProject


class RunsBackend(Backend, Runs, Protocol):
    """A backend that also reads runs and dispatches (every backend does)."""


if TYPE_CHECKING:  # mypy checks that every backend is one; nothing is imported at run time
    _BACKENDS: tuple[type[RunsBackend], ...] = (AzureBackend, LocalBackend, MissingLocalProject)


def open_runs(endpoint: Endpoint, *, writable: bool = False) -> RunsBackend:
    """The endpoint's backend, with its run operations. A local project is opened for writing
    only when ``writable`` and the file exists (a mistyped path is not created)."""
    exists = endpoint.kind != "local" or os.path.exists(endpoint.value)
    return cast(RunsBackend, open_backend(endpoint, writable=writable and exists))


def parse_since(text: str | None, now: float) -> int | None:
    """``--since``: a duration back from now (``30m``, ``1d``) or an ISO 8601 date-time."""
    if text is None:
        return None
    seconds = parse_duration(text.strip())
    if seconds is not None:
        return int(now) - seconds
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ReconcilerError(
            f"--since {text!r} is neither a duration (30m, 12h, 7d) nor an ISO 8601 date-time "
            "with an offset (2030-01-01T07:00:00+09:00)"
        )
    return int(moment.timestamp())


@click.command()
@click.argument("name")
@target_options
@click.option(
    "--since",
    default=None,
    metavar="DURATION|TIME",
    help="Only runs triggered since then: a duration back from now (30m, 12h, 7d) or an ISO "
    "8601 date-time with an offset.",
)
@click.option(
    "--phase",
    "phases",
    multiple=True,
    type=click.Choice(PHASES),
    help="Only runs in this phase (repeatable).",
)
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(1, SCAN_MAX),
    help="Show at most this many runs (read a page at a time).",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default=None,
    help="text (default) or json (the run records as the service returns them).",
)
def runs(
    *,
    name: str,
    target: TargetArgs,
    since: str | None,
    phases: tuple[str, ...],
    limit: int,
    output: str | None,
) -> int:
    """Show a routine's runs, newest first: when each was triggered, its phase (queued,
    dispatching, completed, failed), MLflow status, source, duration and id, and each
    failure's error_type and error_message. Each retry of a delivery is a run of its own.

    \b
    Examples:
      reconciler runs nightly-triage
      reconciler runs nightly-triage --phase failed --since 7d
      reconciler runs nightly-triage --limit 100 -o json --endpoint local:.reconciler/local.db
    """
    ctx = build(target, require_paths=False)
    start = parse_since(since, time.time())
    out = factory.make(output or "text")
    out.header(ctx.endpoint.display, ctx.endpoint.origin, ctx.stack)
    settle_due_firings(ctx.endpoint, time.time())  # the embedded project fires on read
    with open_runs(ctx.endpoint) as backend:
        history = read_history(backend, name, limit=limit, since=start, phases=phases)
    if out.name == "json":
        filters = {"since": start, "phases": list(phases), "limit": limit}
        emit_json(runs_view.history_document(name, ctx.endpoint.display, history, filters))
    else:
        runs_view.render_history(out.human, name, history, limit)
    return 0
