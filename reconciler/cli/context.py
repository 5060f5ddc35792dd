"""Resolving what a command targets: flags first, then reconciler.yaml, then defaults."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from reconciler import config, pointers
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


def config_options(func: F) -> F:
    """``--env``, ``--config`` and ``--var`` (what even offline commands need)."""
    func = click.option(
        "--config",
        "config_path",
        default=None,
        metavar="FILE",
        help=f"Project configuration (default: ./{config.CONFIG_FILE} when present).",
    )(func)
    func = click.option(
        "--env",
        "env",
        default=None,
        metavar="NAME",
        help="Environment from the configuration: its endpoint, manifests, variables, prune "
        "policy and ignore rules.",
    )(func)
    return click.option(
        "--var",
        "cli_vars",
        multiple=True,
        metavar="NAME=VALUE",
        help="Variable for ${NAME} interpolation (repeatable; wins over the configuration and "
        "the environment).",
    )(func)


def target_options(func: F) -> F:
    """``config_options`` plus ``--endpoint`` and ``--stack``."""
    func = config_options(func)
    func = click.option(
        "--stack",
        default=None,
        metavar="NAME",
        help=f"Ownership scope: only routines this stack created are ever updated or pruned "
        f"(default: the configuration's stack, else {DEFAULT_STACK}).",
    )(func)
    return click.option(
        "--endpoint",
        default=None,
        metavar="ENDPOINT",
        help="local:PATH, https://<account>.services.ai.azure.com/api/projects/<project>, or "
        "an emulator's http://127.0.0.1:PORT/api/projects/<project> (default: the "
        "environment's endpoint, else $AZURE_AI_PROJECT_ENDPOINT, else "
        "local:.reconciler/local.db).",
    )(func)


def prune_options(func: F) -> F:
    """``--prune``, ``--max-deletes``, ``--adopt`` and ``--adopt-from``."""
    func = click.option(
        "--adopt-from",
        multiple=True,
        metavar="STACK",
        help="Take over declared routines that another stack owns.",
    )(func)
    func = click.option(
        "--adopt",
        is_flag=True,
        help="Take over declared routines that exist but were created outside the reconciler.",
    )(func)
    func = click.option(
        "--max-deletes",
        type=click.IntRange(min=0),
        default=None,
        help="Allow up to N deletes (default: the smaller of 10 and 25% of the "
        "routines this stack owns).",
    )(func)
    return click.option(
        "--prune/--no-prune",
        default=None,
        help="Delete routines this stack owns that git no longer declares "
        "(default: the environment's prune policy, else off).",
    )(func)


def build(
    *,
    paths: tuple[str, ...],
    endpoint: str | None,
    stack: str | None,
    cli_vars: tuple[str, ...],
    env: str | None = None,
    config_path: str | None = None,
    prune: bool | None = None,
    max_deletes: int | None = None,
    adopt: bool = False,
    adopt_from: tuple[str, ...] = (),
    require_paths: bool = True,
) -> Context:
    """Resolve flags and the configuration into a Context; ReconcilerError when inconsistent.

    Flags win over the configuration, which wins over defaults.
    """
    resolved = config.resolve(_load_config(config_path), env, os.environ)
    stack_name = stack or resolved.stack
    problem = check_stack_name(stack_name)
    if problem:
        raise ReconcilerError(problem)
    manifest_paths = paths or resolved.paths
    if not manifest_paths and require_paths:
        raise ReconcilerError(
            "no manifest paths given",
            hint="pass files or folders, e.g. "
            "'reconciler plan manifests/', or list them in "
            f"{config.CONFIG_FILE}",
        )
    target = endpoints.resolve(endpoint, resolved.endpoint, os.environ)
    options = PlanOptions(
        stack=stack_name,
        target=target.display,
        prune=resolved.prune if prune is None else prune,
        adopt=adopt,
        adopt_from=frozenset(adopt_from),
        max_deletes=resolved.max_deletes if max_deletes is None else max_deletes,
        ignore=_patterns(resolved.ignore),
        environment=resolved.environment,
    )
    settings = Settings(
        paths=manifest_paths,
        variables=variables(cli_vars, resolved.variables),
        now=now(),
        options=options,
    )
    return Context(endpoint=target, settings=settings)


def offline_settings(
    paths: tuple[str, ...], env: str | None, config_path: str | None, cli_vars: tuple[str, ...]
) -> tuple[tuple[str, ...], dict[str, str]]:
    """Manifest paths and variables for commands that never connect (``validate``)."""
    resolved = config.resolve(_load_config(config_path), env, os.environ, offline=True)
    chosen = paths or resolved.paths
    if not chosen:
        raise ReconcilerError(
            "no manifest paths given",
            hint="pass files or folders, e.g. 'reconciler validate manifests/'",
        )
    return chosen, variables(cli_vars, resolved.variables)


def _load_config(explicit: str | None) -> config.LoadedConfig | None:
    path = config.find(explicit)
    if path is None:
        return None
    loaded = config.load(path)
    if loaded.diagnostics:
        raise ReconcilerError("\n".join(d.render() for d in loaded.diagnostics))
    return loaded


def _patterns(texts: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    try:
        return tuple(pointers.parse(t) for t in texts)
    except ValueError as err:
        raise ReconcilerError(f"ignore_differences: {err}") from None
