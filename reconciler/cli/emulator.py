"""``reconciler emulator``: serve the Foundry Routines REST contract over a local SQLite file.

Prints one line (``Emulator listening on ...``) when ready, then serves until Ctrl-C or SIGTERM
and exits 0. Point the SDK or ``--endpoint`` at the printed project endpoint.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any, get_args

import click

from reconciler.cli import emulator_events
from reconciler.cli.agents import read_agents
from reconciler.diagnostics import ReconcilerError
from reconciler.emulator.clock import EmulatedClock
from reconciler.emulator.faults import BadBody, DropMode, FaultConfig, ListMode
from reconciler.emulator.server import Emulator
from reconciler.live.endpoint import is_loopback
from reconciler.service import StoreError
from reconciler.service.failures import AgentFailure, parse_spec
from reconciler.service.timers import DEFAULT_TIMER_AFTER_FIRE, TIMER_AFTER_FIRE, TimerAfterFire
from reconciler.views import terminal

_RATE = click.FloatRange(0.0, 1.0)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=8765,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to bind (0 = any free port).",
)
@click.option(
    "--db",
    default=".reconciler/emulator.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="SQLite file holding the routines.",
)
@click.option("--token", default=None, help="Require exactly this bearer token (default: any).")
@click.option(
    "--latency-ms",
    default=0.0,
    type=click.FloatRange(0, 600_000),
    help="Added latency per request, in milliseconds.",
)
@click.option("--rate-429", default=0.0, type=_RATE, help="Share of requests answered 429.")
@click.option("--rate-500", default=0.0, type=_RATE, help="Share of requests answered 500.")
@click.option("--rate-503", default=0.0, type=_RATE, help="Share of requests answered 503.")
@click.option(
    "--drop-rate",
    default=0.0,
    type=_RATE,
    help="Share of requests whose connection is dropped without an answer.",
)
@click.option(
    "--drop-mode",
    default="before",
    type=click.Choice(get_args(DropMode)),
    show_default=True,
    help="Drop before processing, after the write committed, or either at random (seeded).",
)
@click.option(
    "--rate-bad-body",
    default=0.0,
    type=_RATE,
    help="Share of requests answered with a bad body (see --bad-body); not processed.",
)
@click.option(
    "--bad-body",
    default="any",
    type=click.Choice(get_args(BadBody)),
    show_default=True,
    help="The bad body of --rate-bad-body: truncated JSON, an HTML page, an empty body, "
    "JSON of the wrong shape, or any of them at random.",
)
@click.option(
    "--rate-hang",
    default=0.0,
    type=_RATE,
    help="Share of requests never answered (the connection stays open); not processed.",
)
@click.option(
    "--rate-trickle",
    default=0.0,
    type=_RATE,
    help="Share of requests whose correct answer is sent one byte per --trickle-interval.",
)
@click.option(
    "--trickle-interval",
    default=1.0,
    type=click.FloatRange(0, 60, min_open=True),
    show_default=True,
    help="Seconds between the bytes of a trickled answer.",
)
@click.option(
    "--list-mode",
    default="normal",
    type=click.Choice(get_args(ListMode)),
    show_default=True,
    help="Pages of GET /routines and /runs: normal, repeat_cursor (next_link repeats the "
    "request's cursor forever) or endless (new fake routines on every page, forever).",
)
@click.option(
    "--retry-after",
    default=1,
    type=click.IntRange(0),
    show_default=True,
    help="Retry-After seconds on 429/503 answers.",
)
@click.option(
    "--clock-speed",
    default=1.0,
    type=click.FloatRange(0),
    show_default=True,
    help="Emulated seconds per real second (60 = a minute per second).",
)
@click.option(
    "--agents",
    "agents_file",
    default=None,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Seed the agent registry from this YAML file (agents: [{name, kind, state, "
    "identity}]); routine PUTs naming other agents, workflow agents or agents without an "
    "identity are then refused (400). Without it the --db file's registry is kept (empty: any "
    "agent name is accepted).",
)
@click.option(
    "--timer-after-fire",
    default=DEFAULT_TIMER_AFTER_FIRE,
    type=click.Choice(TIMER_AFTER_FIRE),
    show_default=True,
    help="What a timer routine becomes once its timer fired: disable (enabled turns false, as "
    "Learn describes: the routine becomes inactive) or keep (it stays enabled).",
)
@click.option(
    "--fail-agent",
    "fail_agents",
    multiple=True,
    metavar="NAME[:RATE[:STATUS]]",
    help="Runs of this agent fail: RATE of their attempts (default 1) as if the agent "
    "answered STATUS (default 500; 408, 429 and 5xx are retried up to 3 attempts, other 4xx "
    "end the run). Repeatable; replaces the --db file's failures (PUT "
    "/_emulator/agents/failures changes them while it runs). Example: --fail-agent triage:1:400.",
)
@click.option("--seed", default=None, type=int, help="Seed for the random fault rates.")
@click.option("--verbose", is_flag=True, help="Log one line per request to stderr.")
@click.option(
    "--fire-event",
    default=None,
    metavar="JSON|@FILE",
    help="Do not serve: fire one GitHub issue or custom event into the matching enabled "
    "routines (event_fire runs) and exit (serving options are refused), e.g. "
    '\'{"type": "github_issue", "connection_id": "gh", "owner": "o", "repository": "r", '
    '"issue_event": "opened"}\' or \'{"type": "custom", "provider": "p", "event_name": "e"}\'.',
)
@click.option(
    "--endpoint",
    default=None,
    help="With --fire-event: a running emulator's project endpoint, or local:PATH for the "
    "embedded project (default: the --db file).",
)
def emulator(
    *,
    host: str,
    port: int,
    db: str,
    token: str | None,
    agents_file: str | None,
    fail_agents: tuple[str, ...],
    clock_speed: float,
    timer_after_fire: TimerAfterFire,
    verbose: bool,
    fire_event: str | None,
    endpoint: str | None,
    **faults: Any,
) -> None:
    """Serve the Foundry Routines REST API locally (like Azurite for storage).

    The real azure-ai-projects SDK works against it: use the printed project endpoint and pass
    enforce_https=False per call (plain http on a loopback address).

    To test a client's reliability, the emulator can be slow, failing or hostile: the --rate-*
    options inject faults at random (--seed makes them reproducible; together at most 1), and
    --list-mode breaks paging. Tests script exact faults with PUT /_emulator/faults, e.g.
    {"script": [{"fault": "html", "status": 502, "count": 2}]}; the faults are 400, 403, 429,
    500, 503, drop_before, drop_after, bad_json, html, empty, wrong_shape, hang and trickle
    (reconciler/emulator/fault_config.py describes each).

    Event routines (github_issue, custom) fire only when told: POST /_emulator/events, or
    reconciler emulator --fire-event '{"type": "custom", "provider": "p"}' --endpoint URL.

    A routine whose timer fired is disabled (Learn: it becomes inactive); to test a service
    that leaves it enabled instead: reconciler emulator --timer-after-fire keep.

    Runs take emulated time (queued 1 s, dispatching 2 s, then completed or failed); to make an
    agent's runs fail: reconciler emulator --fail-agent triage --clock-speed 10.
    """
    if fire_event is not None:
        emulator_events.refuse_serve_options(click.get_current_context())
        emulator_events.fire(fire_event, endpoint, db)
        return
    if endpoint is not None:
        raise click.UsageError("--endpoint is only used with --fire-event")
    try:
        config = FaultConfig(**faults)  # the fault options are named like FaultConfig's fields
    except ValueError as err:
        raise click.BadParameter(str(err)) from None
    if not is_loopback(host):
        terminal.note(
            f"warning: binding {host}: the emulator accepts any bearer token"
            f"{'' if token else ' (set --token)'} and serves plain http; keep it off "
            "untrusted networks (the reconciler itself only talks plain http to loopback)"
        )
    server = Emulator(
        db,
        host=host,
        port=port,
        token=token,
        faults=config,
        clock=EmulatedClock(speed=clock_speed),
        verbose=verbose,
        timer_after_fire=timer_after_fire,
        agents=None if agents_file is None else read_agents(agents_file),
        failures=_failures(fail_agents) or None,
    )
    _serve(server)


def _failures(specs: tuple[str, ...]) -> list[AgentFailure]:
    """The ``--fail-agent`` values; a bad one is a usage error naming it."""
    try:
        return [parse_spec(spec) for spec in specs]
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--fail-agent") from None


def _listening_line(server: Emulator) -> str:
    """The one line a script waits for; an all-interfaces bind names its loopback endpoint."""
    url, endpoint = server.url, server.endpoint()
    if server.host in ("0.0.0.0", "::", ""):  # noqa: S104 - describing the bind, not binding
        local = url.replace(f"//{server.host}:", "//127.0.0.1:").replace("//[::]:", "//127.0.0.1:")
        endpoint = endpoint.replace(url, local)
    return f"Emulator listening on {url} (project endpoint: {endpoint})"


def _serve(server: Emulator) -> None:
    """Start, print the listening line, wait for SIGINT/SIGTERM, stop."""
    try:
        server.start()
    except StoreError as err:
        raise ReconcilerError(str(err)) from None
    except OSError as err:
        raise ReconcilerError(
            f"cannot listen on {server.host}:{server.port}: {err.strerror or err}"
        ) from None
    stopping = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        terminal.emit(_listening_line(server))
        while not stopping.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
