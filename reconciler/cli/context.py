"""Resolving what a command targets: flags first, then reconciler.yaml, then defaults.

Commands declare ``@config_options``, ``@target_options`` and ``@prune_options``; each decorator
adds its flags and hands the command one typed bundle (``ConfigArgs``, ``TargetArgs``,
``PruneArgs``) instead of the individual values.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, TypeVar, cast

import click

from reconciler import config, paths
from reconciler.app.engine import Context, Settings
from reconciler.cli.common import now, variables
from reconciler.diagnostics import ReconcilerError
from reconciler.live import endpoint as endpoints
from reconciler.plan.options import PlanOptions
from reconciler.plan.ownership import check_stack_name

DEFAULT_STACK = "default"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ConfigArgs:
    """``--env``, ``--config`` and ``--var``."""

    env: str | None = None
    config_path: str | None = None
    cli_vars: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetArgs(ConfigArgs):
    """``ConfigArgs`` plus ``--endpoint`` and ``--stack``."""

    endpoint: str | None = None
    stack: str | None = None


@dataclass(frozen=True)
class PruneArgs:
    """``--prune/--no-prune``, ``--max-deletes``, ``--adopt`` and ``--adopt-from``."""

    prune: bool | None = None
    max_deletes: int | None = None
    adopt: bool = False
    adopt_from: tuple[str, ...] = ()


def _bundle(func: F, name: str, kind: type[Any], options: list[Callable[[F], F]]) -> F:
    """Wrap ``func`` so that the flags of ``kind`` arrive as one ``name=kind(...)`` argument."""
    keys = [f.name for f in fields(kind)]

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        bundle = kind(**{key: kwargs.pop(key) for key in keys})
        return func(**{name: bundle}, **kwargs)

    decorated: Any = wrapper
    for option in options:
        decorated = option(decorated)
    return cast(F, decorated)


_CONFIG_FLAGS: list[Callable[[Any], Any]] = [
    click.option(
        "--var",
        "cli_vars",
        multiple=True,
        metavar="NAME=VALUE",
        help="Variable for ${NAME} interpolation (repeatable; wins over the "
        "configuration and the environment).",
    ),
    click.option(
        "--env",
        "env",
        default=None,
        metavar="NAME",
        help="Environment from the configuration: its endpoint, manifests, variables, "
        "prune policy and ignore rules.",
    ),
    click.option(
        "--config",
        "config_path",
        default=None,
        metavar="FILE",
        help=f"Project configuration (default: ./{config.CONFIG_FILE} when present).",
    ),
]
_TARGET_FLAGS: list[Callable[[Any], Any]] = [
    *_CONFIG_FLAGS,
    click.option(
        "--stack",
        default=None,
        metavar="NAME",
        help="Ownership scope: the stack whose routines this command manages; routines of "
        "other stacks are never changed (default: the configuration's stack, else "
        f"{DEFAULT_STACK}).",
    ),
    click.option(
        "--endpoint",
        default=None,
        metavar="ENDPOINT",
        help="local:PATH, https://<account>.services.ai.azure.com/api/projects/"
        "<project>, or an emulator's http://127.0.0.1:PORT/api/projects/<project> "
        "(default: the environment's endpoint, else $AZURE_AI_PROJECT_ENDPOINT, else "
        "local:.reconciler/local.db).",
    ),
]
AGENT_CHECK_FLAG: Callable[[Any], Any] = click.option(
    "--no-agent-check",
    is_flag=True,
    help="Do not read and check the agents the routines name (exists, enabled, has an agent "
    "identity, not a workflow agent); also agent_check: false in reconciler.yaml.",
)
HERD_THRESHOLD_FLAG: Callable[[Any], Any] = click.option(
    "--herd-threshold",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Warn when more than N routines of one agent fire in the same UTC minute (default "
    "20; also herd_threshold in reconciler.yaml).",
)
_PRUNE_FLAGS: list[Callable[[Any], Any]] = [
    click.option(
        "--adopt-from",
        multiple=True,
        metavar="STACK",
        help="Take over declared routines that another stack owns.",
    ),
    click.option(
        "--adopt",
        is_flag=True,
        help="Take over declared routines that exist but were created outside the reconciler.",
    ),
    click.option(
        "--max-deletes",
        type=click.IntRange(min=0),
        default=None,
        help="Allow up to N deletes (default: the smaller of 10 and 25% of the "
        "routines this stack owns).",
    ),
    click.option(
        "--prune/--no-prune",
        default=None,
        help="Delete routines this stack owns that the selected manifests do not declare "
        "(default: prune.enabled from reconciler.yaml when the manifests come from it, else "
        "off).",
    ),
]


def config_options(func: F) -> F:
    """``--env``, ``--config`` and ``--var`` as ``config: ConfigArgs``."""
    return _bundle(func, "config", ConfigArgs, _CONFIG_FLAGS)


def target_options(func: F) -> F:
    """The config flags plus ``--endpoint`` and ``--stack``, as ``target: TargetArgs``."""
    return _bundle(func, "target", TargetArgs, _TARGET_FLAGS)


def prune_options(func: F) -> F:
    """The prune and adopt flags, as ``pruning: PruneArgs``."""
    return _bundle(func, "pruning", PruneArgs, _PRUNE_FLAGS)


def build(
    target: TargetArgs,
    paths: tuple[str, ...] = (),
    pruning: PruneArgs | None = None,
    *,
    require_paths: bool = True,
    conflicts_as_drift: bool = False,
    agent_check: bool = False,
    herd_threshold: int | None = None,
) -> Context:
    """Resolve flags and the configuration into a Context; ReconcilerError when inconsistent.

    Flags win over the configuration, which wins over defaults. ``agent_check``: the command
    checks agents unless the configuration turns the check off (plan and apply).
    """
    pruning = pruning or PruneArgs()
    loaded = _load_config(target.config_path)
    given = target.endpoint is not None  # --endpoint wins: the environment's need not resolve
    resolved = config.resolve(loaded, target.env, os.environ, offline=given)
    stack = resolved.stack if target.stack is None else target.stack
    problem = check_stack_name(stack)
    if problem:
        raise ReconcilerError(problem)
    manifest_paths = paths or resolved.paths
    if not manifest_paths and require_paths:
        raise _no_paths("plan")
    endpoint = endpoints.resolve(target.endpoint, resolved.endpoint, os.environ)
    current = now()
    options = PlanOptions(
        stack=stack,
        target=endpoint.display,
        prune=_prune(pruning.prune, resolved.prune, from_config=not paths),
        adopt=pruning.adopt,
        adopt_from=frozenset(pruning.adopt_from),
        max_deletes=resolved.max_deletes if pruning.max_deletes is None else pruning.max_deletes,
        ignore=_patterns(resolved.ignore),
        environment=resolved.environment,
        now=current,
        report_conflicts=conflicts_as_drift,
        previews=not conflicts_as_drift,  # drift reports carry no next fires nor forecast
        herd_threshold=resolved.herd_threshold if herd_threshold is None else herd_threshold,
    )
    values = variables(target.cli_vars, resolved.variables)
    settings = Settings(paths=manifest_paths, variables=values, now=current, options=options)
    return Context(
        endpoint,
        settings,
        agent_check=agent_check and resolved.agent_check,
        smoke=resolved.smoke,
    )


def _prune(flag: bool | None, configured: bool, *, from_config: bool) -> bool:
    """``--prune/--no-prune`` wins; the configured policy applies only to the configured
    manifests (a hand-picked path never prunes without an explicit --prune)."""
    if flag is not None:
        return flag
    return configured and from_config


def offline_settings(
    paths: tuple[str, ...], args: ConfigArgs, command: str = "validate"
) -> tuple[tuple[str, ...], dict[str, str]]:
    """Manifest paths and variables for commands that never connect (``validate``,
    ``schedule``)."""
    resolved = config.resolve(_load_config(args.config_path), args.env, os.environ, offline=True)
    chosen = paths or resolved.paths
    if not chosen:
        raise _no_paths(command)
    return chosen, variables(args.cli_vars, resolved.variables)


def _no_paths(command: str) -> ReconcilerError:
    return ReconcilerError(
        "no manifest paths given",
        hint=f"pass files or folders, e.g. 'reconciler {command} manifests/', or list them in "
        f"{config.CONFIG_FILE}",
    )


def _load_config(explicit: str | None) -> config.LoadedConfig | None:
    path = config.find(explicit)
    if path is None:
        return None
    loaded = config.load(path)
    if loaded.diagnostics:
        raise ReconcilerError(
            f"{path} is invalid ({len(loaded.diagnostics)} problem(s)); nothing was read or "
            "written",
            diagnostics=loaded.diagnostics,
        )
    return loaded


def _patterns(texts: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    try:
        return tuple(paths.parse(t) for t in texts)
    except ValueError as err:
        raise ReconcilerError(f"ignore_differences: {err}") from None
