"""Resolving what a command targets: flags first, then reconciler.yaml, then defaults."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from reconciler import pointers
from reconciler.cli.common import now, variables
from reconciler.diagnostics import ReconcilerError
from reconciler.engine import Settings
from reconciler.live import endpoint as endpoints
from reconciler.plan.ownership import check_stack_name
from reconciler.plan.planner import PlanOptions

DEFAULT_STACK = "default"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Context:
    """The resolved target and settings of one command run."""

    endpoint: endpoints.Endpoint
    settings: Settings

    @property
    def stack(self) -> str:
        """The ownership scope."""
        return self.settings.options.stack


def target_options(func: F) -> F:
    """``--endpoint``, ``--stack`` and ``--var``."""
    func = click.option("--var", "cli_vars", multiple=True, metavar="NAME=VALUE",
                        help="Variable for ${NAME} interpolation (repeatable).")(func)
    func = click.option("--stack", default=None, metavar="NAME",
                        help=f"Ownership scope: only routines this stack created are ever "
                             f"updated or pruned (default: {DEFAULT_STACK}).")(func)
    return click.option("--endpoint", default=None, metavar="ENDPOINT",
                        help="local:PATH, https://<account>.services.ai.azure.com/api/projects/"
                             "<project>, or an emulator's http://127.0.0.1:PORT/api/projects/"
                             "<project> (default: $AZURE_AI_PROJECT_ENDPOINT, else "
                             "local:.reconciler/local.db).")(func)


def prune_options(func: F) -> F:
    """``--prune``, ``--max-deletes``, ``--adopt`` and ``--adopt-from``."""
    func = click.option("--adopt-from", multiple=True, metavar="STACK",
                        help="Take over declared routines that another stack owns.")(func)
    func = click.option("--adopt", is_flag=True,
                        help="Take over declared routines that exist but were created outside "
                             "the reconciler.")(func)
    func = click.option("--max-deletes", type=click.IntRange(min=0), default=None,
                        help="Allow up to N deletes (default: the smaller of 10 and 25% of the "
                             "routines this stack owns).")(func)
    return click.option("--prune", is_flag=True,
                        help="Delete routines this stack owns that git no longer declares.")(func)


def build(
    *,
    paths: tuple[str, ...],
    endpoint: str | None,
    stack: str | None,
    cli_vars: tuple[str, ...],
    prune: bool = False,
    max_deletes: int | None = None,
    adopt: bool = False,
    adopt_from: tuple[str, ...] = (),
) -> Context:
    """Resolve flags into a Context; raises ReconcilerError on anything inconsistent."""
    stack_name = stack or DEFAULT_STACK
    problem = check_stack_name(stack_name)
    if problem:
        raise ReconcilerError(problem)
    if not paths:
        raise ReconcilerError("no manifest paths given", hint="pass files or folders, e.g. "
                              "'reconciler plan manifests/'")
    target = endpoints.resolve(endpoint, None, os.environ)
    options = PlanOptions(stack=stack_name, target=target.display, prune=prune, adopt=adopt,
                          adopt_from=frozenset(adopt_from), max_deletes=max_deletes,
                          ignore=_patterns(()))
    settings = Settings(paths=paths, variables=variables(cli_vars), now=now(), options=options)
    return Context(endpoint=target, settings=settings)


def _patterns(texts: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    try:
        return tuple(pointers.parse(t) for t in texts)
    except ValueError as err:
        raise ReconcilerError(f"ignore_differences: {err}") from None
