"""``reconciler emulator --fire-event EVENT``: fire one event instead of serving, then exit 0.

``EVENT`` is the JSON body of ``POST /_emulator/events`` (or ``@FILE`` holding it). With
``--endpoint`` it goes to a running emulator (``http://127.0.0.1:PORT/api/projects/<project>``)
or an embedded project (``local:PATH``); without, into the ``--db`` file. One line per
``event_fire`` run it left (``fired github_issue event: run ID of routine NAME (trigger T)``),
or one saying that no enabled routine takes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import click

from reconciler.contract import nesting
from reconciler.live.emulator_events import fire_event
from reconciler.live.endpoint import Endpoint, parse
from reconciler.views import terminal

EVENT_FILE_MAX: Final = 1024 * 1024


def fire(event_text: str, endpoint: str | None, db: str) -> None:
    """Fire the event and print what it fired."""
    event = _event(event_text)
    target = parse(endpoint, "--endpoint") if endpoint else Endpoint("local", db, "--db")
    fired = fire_event(target, event)
    kind = event.get("type")
    if not fired:
        terminal.emit(f"fired {kind} event: no enabled routine takes it")
    for run in fired:
        terminal.emit(
            f"fired {kind} event: run {run.id} of routine {run.routine} "
            f"(trigger {run.trigger_name})"
        )


def refuse_serve_options(ctx: click.Context) -> None:
    """A usage error naming the serving options given with ``--fire-event`` (they would be
    ignored: nothing is served)."""
    kept = {"fire_event", "endpoint", "db"}
    given = [
        param.opts[0]
        for param in ctx.command.params
        if param.name not in kept
        and param.name is not None
        and ctx.get_parameter_source(param.name) in _GIVEN
    ]
    if given:
        raise click.UsageError(
            f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} only used when serving, "
            "not with --fire-event (which takes --endpoint or --db)"
        )


_GIVEN = (click.core.ParameterSource.COMMANDLINE, click.core.ParameterSource.ENVIRONMENT)


def _event(text: str) -> dict[str, Any]:
    """The event object of ``--fire-event`` (JSON text, or ``@FILE``)."""
    source = "the event"
    if text.startswith("@"):
        path = Path(text[1:])
        source = f"file {path}"
        try:
            if path.stat().st_size > EVENT_FILE_MAX:
                raise click.BadParameter(
                    f"{path} is larger than 1 MiB", param_hint="--fire-event"
                ) from None
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise click.BadParameter(
                f"cannot read {path}: {err}", param_hint="--fire-event"
            ) from None
    try:
        event = nesting.loads(text)
    except nesting.TooDeep as err:
        raise click.BadParameter(f"{source} {err}", param_hint="--fire-event") from None
    except ValueError as err:
        raise click.BadParameter(
            f"{source} is not JSON: {err}", param_hint="--fire-event"
        ) from None
    if not isinstance(event, dict):
        raise click.BadParameter(
            f'{source} must be a JSON object such as {{"type": "custom", "provider": "p"}}',
            param_hint="--fire-event",
        )
    return event
