"""Render the templates of a new routines repository (``reconciler init``).

Templates are files under ``templates/`` with ``{{name}}`` placeholders (GitHub expressions,
``${{ ... }}``, have spaces and are never placeholders). ``workflows.yml`` holds the three
workflows, each after a ``# ==> PATH`` line, so they are adjusted side by side.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib.resources import files

import yaml

from reconciler import __version__
from reconciler.config import NAME_RULE
from reconciler.diagnostics import ReconcilerError
from reconciler.manifest.editor_schema import modeline
from reconciler.manifest.interpolate import NAME_PATTERN
from reconciler.plan.ownership import check_stack_name
from reconciler.scaffold import release_tag, repository_url, workflow_ref

LOCAL = "local"
"""The environment every scaffold has: the embedded project, for trying it without Azure."""
LOCAL_ENDPOINT = "local:.reconciler/local.db"
GITIGNORE = ".gitignore"
GITIGNORE_ENTRY = ".reconciler/"
MANIFESTS = ("schedules.yaml", "timers.yaml", "events.yaml")
_PLACEHOLDER = re.compile(r"\{\{([a-z_]+)\}\}")
_SECTION = re.compile(r"^# ==> (\S+)\n", re.MULTILINE)
_VARIABLE = re.compile(f"^{NAME_PATTERN}$")
_IGNORED = {".reconciler", ".reconciler/", "/.reconciler", "/.reconciler/"}


@dataclass(frozen=True)
class Scaffold:
    """What ``reconciler init`` was asked for."""

    stack: str
    environments: tuple[str, ...]


def endpoint_variable(environment: str) -> str:
    """The variable (a GitHub secret) that holds an environment's project endpoint."""
    return f"{environment.upper()}_PROJECT_ENDPOINT"


def environment_problem(name: str) -> str | None:
    """Why ``name`` cannot be a scaffolded environment, or None. Its endpoint is
    ``${<NAME>_PROJECT_ENDPOINT}``, so a name follows reconciler.yaml's variable-name rule."""
    if not _VARIABLE.match(name):
        return f"invalid environment name {name!r}: use {NAME_RULE}"
    if name.lower() == LOCAL:
        return f"environment {name!r} is reserved: every scaffold has a 'local' environment"
    return None


def parse_environments(text: str) -> tuple[str, ...]:
    """The names in ``--environments a,b``; every problem is named in one error."""
    names = tuple(part.strip() for part in text.split(","))
    if names == ("",):
        raise ReconcilerError("--environments needs at least one name (e.g. dev,prod)")
    problems = [p for p in map(environment_problem, names) if p]
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            problems.append(f"environment {name!r} is given twice (names ignore case)")
        seen.add(name.lower())
    if problems:
        raise ReconcilerError("; ".join(problems))
    return names


def choose_stack(explicit: str | None, folder_name: str) -> str:
    """``--stack``, else the folder's name; either must follow the stack-name rule."""
    stack = explicit if explicit is not None else folder_name
    problem = check_stack_name(stack)
    if problem is None:
        return stack
    if explicit is not None:
        raise ReconcilerError(f"--stack: {problem}")
    raise ReconcilerError(
        f"cannot use the folder name as the stack: {problem}",
        hint="pass --stack NAME (the ownership scope of this repository's routines)",
    )


def template(name: str) -> str:
    """The text of the template file ``name`` (a path under ``templates/``)."""
    return files("reconciler.scaffold").joinpath("templates", *name.split("/")).read_text("utf-8")


def fill(text: str, values: dict[str, str]) -> str:
    """Replace every ``{{name}}``; a name without a value is a bug in the template."""
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def scalar(text: str) -> str:
    """``text`` as a YAML scalar: plain when YAML reads it back as that string (``dev``), else
    quoted (``"true"``, ``"1.5"``, which YAML would read as a boolean or a number)."""
    return text if yaml.safe_load(text) == text else json.dumps(text)


def render(scaffold: Scaffold) -> dict[str, str]:
    """Every file of the scaffold (except ``.gitignore``: see ``gitignore``) by its path
    relative to the repository, in the order they are listed to the user."""
    values = _values(scaffold)
    rendered = {"reconciler.yaml": fill(template("reconciler.yaml"), values)}
    for name in MANIFESTS:
        rendered[f"manifests/{name}"] = fill(template(f"manifests/{name}"), values)
    rendered.update(workflows(values))
    rendered[".pre-commit-config.yaml"] = fill(template("pre-commit-config.yaml"), values)
    return rendered


def workflows(values: dict[str, str]) -> dict[str, str]:
    """The three GitHub workflows of ``templates/workflows.yml``, by path."""
    parts = _SECTION.split(template("workflows.yml"))
    return {path: fill(body, values) for path, body in zip(parts[1::2], parts[2::2], strict=True)}


def gitignore(existing: str | None) -> str | None:
    """The new ``.gitignore`` (the old one plus ``.reconciler/``), or None when it already
    ignores the folder. An existing file is extended, never replaced."""
    lines = (existing or "").splitlines()
    if any(line.strip() in _IGNORED for line in lines):
        return None
    head = existing or ""
    if head and not head.endswith("\n"):
        head += "\n"
    return f"{head}# The reconciler's local project and emulator data\n{GITIGNORE_ENTRY}\n"


def _values(scaffold: Scaffold) -> dict[str, str]:
    return {
        "version": __version__,
        "tag": release_tag(),
        "repository_url": repository_url(),
        "stack": scalar(scaffold.stack),
        "config_modeline": modeline("config"),
        "manifest_modeline": modeline("manifest"),
        "environments": scalar(",".join(scaffold.environments)),
        "plan_workflow": workflow_ref("plan"),
        "apply_workflow": workflow_ref("apply"),
        "drift_workflow": workflow_ref("drift"),
        "local": LOCAL,
        "local_endpoint": LOCAL_ENDPOINT,
        "environments_block": _environments_block(scaffold.environments),
    }


def _environments_block(names: tuple[str, ...]) -> str:
    lines: list[str] = []
    for name in names:
        lines += [
            f"  {scalar(name)}:",
            f"    endpoint: ${{{endpoint_variable(name)}}}"
            "   # a secret in GitHub; export it to run locally",
        ]
    return "\n".join(lines)
