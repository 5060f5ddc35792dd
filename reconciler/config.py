"""``reconciler.yaml``: the stack, its environments, and how each one is planned.

Example::

    stack: routines-platform          # the ownership scope
    manifests: [manifests]            # shared base, relative to this file
    variables: {OPS_AGENT: ops-agent} # for ${VAR} in manifests
    prune: {enabled: true}            # default for every environment
    agent_check: true                 # plan/apply check the agents routines name (default)
    herd_threshold: 20                # warn when more routines fire in one minute per agent
    smoke: false                      # apply runs the smoke gate (--smoke); per env too
    environments:
      dev:
        endpoint: ${DEV_PROJECT_ENDPOINT}
        manifests: [environments/dev] # added to the shared base
        variables: {OPS_AGENT: ops-agent-dev}
        ignore_differences: [/enabled]
      prod:
        endpoint: https://contoso.services.ai.azure.com/api/projects/prod
        prune: {enabled: true, max_deletes: 3}
      local:
        endpoint: local:.reconciler/local.db
    default_environment: local        # what commands use without --env

Merge rules: an environment's manifests are the shared paths plus its own; a routine declared
twice is an error (never a silent override).  Variables: ``--var`` wins, then the environment's
``variables``, then the shared ``variables``, then the process environment.  An environment's
``prune``, ``ignore_differences`` and ``endpoint`` replace/extend the shared ones as documented
on each field.  A named environment whose endpoint does not resolve is an error: there is no
fall-back to the local project.  An explicit ``--endpoint`` wins over the environment's, which
then need not resolve (its manifests and variables still apply).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from reconciler.contract.models import WireModel
from reconciler.contract.schema_errors import problems
from reconciler.diagnostics import Diagnostic, Failure, error
from reconciler.manifest.interpolate import NAME_PATTERN, interpolate
from reconciler.manifest.sources import file_mode, not_regular, read_text
from reconciler.manifest.yamlsafe import Mark, YamlProblem, load_documents
from reconciler.paths import dotted
from reconciler.plan.forecast import DEFAULT_HERD_THRESHOLD
from reconciler.plan.ownership import check_stack_name

CONFIG_FILE = "reconciler.yaml"


class ConfigError(Failure):
    """``reconciler.yaml`` cannot be used (missing, unreadable, invalid, unknown environment)."""


Scalar = str | int | float | bool
# A variable name is what ${NAME} can refer to: the same rule as --var and interpolation.
VariableName = Annotated[str, StringConstraints(pattern=f"^{NAME_PATTERN}$")]
NAME_RULE = "letters, digits and _, not starting with a digit (as in ${NAME})"


def _name_keys(schema: dict[str, Any]) -> None:
    """Variables in JSON Schema: ``propertyNames`` checks every name (pydantic's
    ``patternProperties`` alone would let any other name through unchecked)."""
    pattern, values = schema.pop("patternProperties").popitem()
    schema["propertyNames"] = {"pattern": pattern, "description": f"a variable name is {NAME_RULE}"}
    schema["additionalProperties"] = values


class PruneSettings(WireModel):
    """Whether apply deletes routines this stack owns that git no longer declares."""

    enabled: bool = Field(default=False, description="Prune on apply (like --prune).")
    max_deletes: int | None = Field(
        default=None,
        ge=0,
        description="Most deletes one apply may make (default: the smaller of 10 and 25% of "
        "the routines this stack owns).",
    )


class EnvironmentConfig(WireModel):
    """One target project."""

    endpoint: str = Field(description="Project endpoint; ${VAR} allowed (e.g. a CI variable).")
    manifests: list[str] = Field(
        default_factory=list, description="Paths added to the shared manifests."
    )
    variables: dict[VariableName, Scalar] = Field(
        default_factory=dict,
        description="Override the shared variables.",
        json_schema_extra=_name_keys,
    )
    prune: PruneSettings | None = Field(
        default=None, description="Replaces the shared prune settings."
    )
    ignore_differences: list[str] = Field(
        default_factory=list,
        description="JSON pointers added to the shared ones; differences there are reported "
        "but are not drift and are never reverted (like Argo CD's "
        "ignoreDifferences).",
    )
    agent_check: bool | None = Field(
        default=None, description="Replaces the shared agent_check for this environment."
    )
    smoke: bool | None = Field(
        default=None, description="Replaces the shared smoke for this environment."
    )
    herd_threshold: int | None = Field(
        default=None, ge=1, description="Replaces the shared herd_threshold for this environment."
    )


class ProjectConfig(WireModel):
    """The whole ``reconciler.yaml``."""

    stack: str = Field(default="default", description="Ownership scope (1-32 characters).")
    manifests: list[str] = Field(
        default_factory=lambda: ["manifests"],
        description="Shared manifest paths, relative to this file.",
    )
    variables: dict[VariableName, Scalar] = Field(
        default_factory=dict, json_schema_extra=_name_keys
    )
    prune: PruneSettings = Field(default_factory=PruneSettings)
    ignore_differences: list[str] = Field(default_factory=list)
    agent_check: bool = Field(
        default=True,
        description="plan and apply read each agent the routines name and check it exists, is "
        "enabled, has an agent identity and is not a workflow agent (off: like "
        "--no-agent-check).",
    )
    herd_threshold: int = Field(
        default=DEFAULT_HERD_THRESHOLD,
        ge=1,
        description="plan and apply warn when more than this many routines of one agent fire "
        "in the same UTC minute (a thundering herd; like --herd-threshold).",
    )
    smoke: bool = Field(
        default=False,
        description="apply runs the smoke gate (like --smoke): after a successful apply, each "
        "created, updated, replaced or enabled routine that declares reconcile.smoke is "
        "dispatched and waited for; a failed run fails the deploy.",
    )
    environments: dict[str, EnvironmentConfig] = Field(default_factory=dict)
    default_environment: str | None = Field(
        default=None,
        description="The environment commands use when --env is not given (e.g. a local "
        "environment for trying things out); must name one of the environments.",
    )


@dataclass(frozen=True)
class Resolved:
    """What a command needs from the configuration for one environment (or none)."""

    stack: str
    paths: tuple[str, ...]
    variables: dict[str, str]
    prune: bool
    max_deletes: int | None
    ignore: tuple[str, ...]
    endpoint: tuple[str, str] | None = None
    environment: str | None = None
    agent_check: bool = True
    smoke: bool = False
    herd_threshold: int = DEFAULT_HERD_THRESHOLD


@dataclass
class LoadedConfig:
    """A parsed configuration file and where it lives."""

    path: str
    config: ProjectConfig
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def base(self) -> Path:
        """The folder paths in the file are relative to."""
        return Path(self.path).parent


def schema_url(which: str) -> str:
    """The published schema URL (``reconciler.manifest.editor_schema.schema_url``)."""
    from reconciler.manifest.editor_schema import schema_url as url  # noqa: PLC0415

    return url(which)


def config_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of ``reconciler.yaml``."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_url("config"),
        **ProjectConfig.model_json_schema(),
        "title": "reconciler.yaml",
    }


def find(explicit: str | None) -> str | None:
    """``--config`` when given (it must exist), else ./reconciler.yaml when present.  Either
    must be a regular file (or a link to one): a FIFO or device would block reading."""
    path = explicit or CONFIG_FILE
    mode = file_mode(path)
    if mode is None:
        if explicit:
            raise ConfigError(f"configuration file {explicit} does not exist")
        return None
    if not stat.S_ISREG(mode):
        raise ConfigError(f"configuration file {path} is {not_regular(mode)}")
    return path


def load(path: str) -> LoadedConfig:
    """Parse and check a configuration file; problems are located diagnostics."""
    from jsonschema import Draft202012Validator  # noqa: PLC0415 - only when a config exists

    source, problem = read_text(path)
    if problem is not None or source is None:
        raise ConfigError(problem.render() if problem else f"cannot read {path}")
    try:
        documents = load_documents(source.text)
    except YamlProblem as err:
        mark = err.mark or Mark(1, 1)
        raise ConfigError(f"{path}:{mark.line}:{mark.col}: {err.message}") from None
    if len(documents) != 1:
        raise ConfigError(f"{path}: expected exactly one YAML document")
    doc = documents[0]
    found = [
        error(
            p.message,
            file=path,
            **_where(doc.mark_of(p.path, key=p.at_key)),
            field=dotted(p.path) or None,
        )
        for p in problems(Draft202012Validator(config_schema()), doc.data)
    ]
    found += [error(p.message, file=path, **_where(p.mark or doc.start)) for p in doc.problems]
    if found:
        found.sort(key=lambda d: (d.line or 0, d.col or 0))
        return LoadedConfig(path, ProjectConfig(), found)
    config = ProjectConfig.model_validate(doc.data)
    stack_problem = check_stack_name(config.stack)
    if stack_problem:
        mark = doc.mark_of(("stack",))
        found.append(error(stack_problem, file=path, **_where(mark), field="stack"))
    default = config.default_environment
    if default is not None and default not in config.environments:
        names = ", ".join(sorted(config.environments)) or "none are defined"
        mark = doc.mark_of(("default_environment",))
        message = f"default_environment {default!r} is not one of the environments ({names})"
        found.append(error(message, file=path, **_where(mark), field="default_environment"))
    return LoadedConfig(path, config, found)


def _where(mark: Mark) -> dict[str, int]:
    return {"line": mark.line, "col": mark.col}


def resolve(
    loaded: LoadedConfig | None,
    env: str | None,
    environ: Mapping[str, str],
    *,
    offline: bool = False,
) -> Resolved:
    """Settings for ``env``, else the configured ``default_environment``, else the shared ones;
    ``offline`` skips the endpoint (for ``validate``, which never connects, and when
    ``--endpoint`` replaces it)."""
    if loaded is None:
        if env:
            raise ConfigError(
                f"--env {env} needs a configuration file ({CONFIG_FILE} in "
                "the current folder, or --config PATH)"
            )
        return Resolved("default", (), {}, False, None, ())
    config = loaded.config
    shared = _strings(config.variables)
    env = env or config.default_environment
    if env is None:
        return Resolved(
            config.stack,
            _paths(loaded, config.manifests),
            shared,
            config.prune.enabled,
            config.prune.max_deletes,
            tuple(config.ignore_differences),
            agent_check=config.agent_check,
            herd_threshold=config.herd_threshold,
            smoke=config.smoke,
        )
    return _resolve_env(loaded, env, shared, environ, offline=offline)


def _resolve_env(
    loaded: LoadedConfig,
    env: str,
    shared: dict[str, str],
    environ: Mapping[str, str],
    *,
    offline: bool,
) -> Resolved:
    config = loaded.config
    if env not in config.environments:
        names = ", ".join(sorted(config.environments)) or "none are defined"
        raise ConfigError(f"environment {env!r} is not in {loaded.path} ({names})")
    chosen = config.environments[env]
    variables = {**shared, **_strings(chosen.variables)}
    prune = chosen.prune or config.prune
    endpoint = None
    if not offline:
        text = _endpoint(chosen.endpoint, env, {**environ, **variables}, loaded.path)
        endpoint = (text, f"environment {env} in {loaded.path}")
    return Resolved(
        stack=config.stack,
        paths=_paths(loaded, [*config.manifests, *chosen.manifests]),
        variables=variables,
        prune=prune.enabled,
        max_deletes=prune.max_deletes,
        ignore=(*config.ignore_differences, *chosen.ignore_differences),
        endpoint=endpoint,
        environment=env,
        agent_check=config.agent_check if chosen.agent_check is None else chosen.agent_check,
        herd_threshold=chosen.herd_threshold or config.herd_threshold,
        smoke=config.smoke if chosen.smoke is None else chosen.smoke,
    )


def _endpoint(text: str, env: str, variables: Mapping[str, str], path: str) -> str:
    value, missing = interpolate(text, variables)
    if missing or not str(value).strip():
        raise ConfigError(
            f"environment {env!r}: endpoint {text!r} does not resolve "
            f"({missing[0].message.split(':')[0] if missing else 'it is empty'}); "
            "refusing to fall back to another project",
            hint=f"set the variable, or fix environments.{env}.endpoint in {path}",
        )
    return str(value)


def _strings(values: Mapping[str, Scalar]) -> dict[str, str]:
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in values.items()}


def _paths(loaded: LoadedConfig, paths: list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in paths:
        seen[os.path.normpath(str(loaded.base / item))] = None
    return tuple(seen)
