"""azd's ``azure.yaml`` as a manifest source: its routine services read into the manifest shape,
remembering where each property is written so that every problem names its file and line.

What the azd extension does (Azure/azure-dev ``cli/azd/extensions/azure.ai.routines``; the facts
and their sources are in ``docs/migrate-from-azd.md``):

- a service with ``host: azure.ai.routine`` is one routine and the service key is its name (a
  ``name:`` inside is ignored); its properties are the service's own keys besides azd's core
  service fields (``uses``, ``env``, ``hooks``, ...), or the keys under ``config:`` in files
  written before the per-resource service split;
- ``$ref`` names a local YAML or JSON file holding the properties; keys beside ``$ref`` replace
  the file's (a shallow merge); remote URLs are refused;
- ``${VAR}`` is expanded in ``action.input`` only, against the service's ``env:`` when it
  declares one (else the environment); Foundry's own ``${{...}}`` is left for the service;
- extension-owned keys are camelCase in the current authoring format (``cronExpression``,
  ``agentName``, ...) and snake_case (the wire names) in releases up to 1.0.0-beta.4: both are
  read here; one mapping may not spell a key both ways.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.manifest.interpolate import SERVER_SIDE, interpolate
from reconciler.paths import Path

ROUTINE_HOST = "azure.ai.routine"
# azd's own service fields: never routine properties (routine_project.go, routineCoreServiceFields)
CORE_FIELDS = frozenset(
    {
        "apiVersion", "condition", "config", "dist", "docker", "env", "hooks", "host", "image",
        "infra", "k8s", "language", "module", "project", "remoteBuild", "resourceGroup",
        "resourceName", "uses",
    }
)  # fmt: skip
TRIGGER_KEYS = {
    "cronExpression": "cron_expression",
    "timeZone": "time_zone",
    "connectionId": "connection_id",
    "issueEvent": "issue_event",
    "eventName": "event_name",
}
ACTION_KEYS = {
    "agentName": "agent_name",
    "agentEndpointId": "agent_endpoint_id",
    "sessionId": "session_id",
}
REFUSED = {  # accepted in reconciler's own manifests only
    "conversation_id": "unknown field 'conversation_id' (did you mean 'conversation'?)",
}
CAMEL = {wire: camel for camel, wire in {**TRIGGER_KEYS, **ACTION_KEYS}.items()}
_SNAKE_WORD = re.compile(r"\b(" + "|".join(sorted(CAMEL, key=len, reverse=True)) + r")\b")
REMOTE_REF = re.compile(r"(?i)^[a-z][a-z0-9+.-]*://")
REF_SUFFIXES = frozenset({".yaml", ".yml", ".json", ""})  # azd: YAML, or JSON (also no suffix)


class Report(Protocol):
    """Reports an error at a routine-relative path (at its key with ``key``)."""

    def __call__(self, rel: Path, message: str, *, key: bool = False) -> None: ...


@dataclass(frozen=True)
class Origin:
    """Where a routine's properties are written: a file, its document and the path in it."""

    file: str
    doc: Any  # yamlsafe.Document
    prefix: Path


@dataclass
class AzdRoutine:
    """One routine service: its properties in the manifest shape (snake_case keys) and, for
    every key, where and how it is written."""

    name: str
    service: Path  # ("services", name) in azure.yaml
    home: Origin  # the service itself, or its ``config:``
    raw: dict[str, Any] = field(default_factory=dict)
    ref: Origin | None = None
    from_ref: frozenset[str] = frozenset()
    spelled: dict[Path, str] = field(default_factory=dict)  # renamed key -> as written
    camel: dict[Path, bool] = field(default_factory=dict)  # trigger/action -> camelCase
    broken: bool = False  # a problem was reported: the routine is neither checked nor loaded

    def locate(self, rel: Path) -> tuple[Origin, Path, bool]:
        """The origin and written path of routine-relative ``rel`` (``name`` is the service
        key) and whether the mark belongs at the key."""
        if not rel or rel == ("name",):
            return Origin(self.home.file, self.home.doc, ()), self.service, True
        from_ref = self.ref is not None and rel[0] in self.from_ref
        origin = self.ref if from_ref and self.ref is not None else self.home
        written = [self._spelling(rel[: i + 1]) for i in range(len(rel))]
        return origin, (*origin.prefix, *written), False

    def _spelling(self, rel: Path) -> Any:
        key = rel[-1]
        if rel in self.spelled:
            return self.spelled[rel]
        family = _family(rel[:-1])
        if family is not None and self.camel.get(family, True) and key in CAMEL:
            return CAMEL[str(key)]
        return key

    def reword(self, message: str, rel: Path) -> str:
        """``message`` with wire key names in the spelling the trigger or action uses."""
        family = _family(rel[:-1]) or _family(rel)
        if family is None or len(rel) > len(family) + 1 or not self.camel.get(family, True):
            return message
        message = message.replace(", conversation_id", "")
        return _SNAKE_WORD.sub(lambda m: CAMEL[m.group(1)], message)


def _family(rel: Path) -> Path | None:
    """The trigger or action mapping that ``rel`` is (else None)."""
    if rel == ("action",) or (len(rel) == 2 and rel[0] == "triggers"):
        return rel
    return None


def properties(service: dict[str, Any], path: Path) -> tuple[dict[str, Any], Path, bool]:
    """A routine service's properties, where they are, and whether they came from the
    deprecated ``config:`` block (used only when the service has no inline properties)."""
    inline = {k: v for k, v in service.items() if k not in CORE_FIELDS}
    config = service.get("config")
    if not inline and isinstance(config, dict) and config:
        return dict(config), (*path, "config"), True
    return inline, path, False


def respell(routine: AzdRoutine, merged: dict[str, Any], report: Report) -> dict[str, Any]:
    """The properties with camelCase trigger and action keys renamed to the wire's snake_case
    (``parameters`` and ``input`` are passed through untouched, as azd does)."""
    result = dict(merged)
    triggers = merged.get("triggers")
    if isinstance(triggers, dict):
        result["triggers"] = {
            name: _respell_one(routine, value, ("triggers", name), TRIGGER_KEYS, report)
            for name, value in triggers.items()
        }
    if "action" in merged:
        result["action"] = _respell_one(routine, merged["action"], ("action",), ACTION_KEYS, report)
    return result


def _respell_one(
    routine: AzdRoutine, value: Any, rel: Path, keys: Mapping[str, str], report: Report
) -> Any:
    if not isinstance(value, dict):
        return value
    routine.camel[rel] = not any(k in keys.values() for k in value)
    out: dict[str, Any] = {}
    for key, item in value.items():
        wire = keys.get(key, key)
        if wire != key:
            routine.spelled[(*rel, wire)] = key
        elif (*rel, wire) in routine.spelled:  # the camelCase spelling came first
            del routine.spelled[(*rel, wire)]
        if wire in out:
            other = CAMEL[wire] if key == wire else wire
            both = f"give either {key} or {other}, not both (the same field)"
            report((*rel, wire), both, key=True)
        if key in REFUSED and keys is ACTION_KEYS:
            report((*rel, key), REFUSED[key], key=True)
        out[wire] = item
    return out


def service_scope(
    service: dict[str, Any], variables: Mapping[str, str], report: Callable[[Path, str], None]
) -> Mapping[str, str]:
    """The variables ``${VAR}`` in ``action.input`` resolves against: the service's ``env:``
    when it declares one (azd's service-scoped environment, its values resolved against
    ``variables``), else ``variables``. ``report`` takes a path relative to the service."""
    env = service.get("env")
    if not isinstance(env, dict):
        return variables
    scope: dict[str, str] = {}
    for name, value in env.items():
        text = _env_text(value)
        expanded, problems = interpolate(text, variables, ("env", name))
        for problem in problems:
            report(problem.path, problem.message)
        scope[str(name)] = expanded
    return scope


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def expand_input(value: Any, variables: Mapping[str, str], report: Report) -> Any:
    """``action.input`` with ``${VAR}`` expanded (``$${`` is a literal ``${``) and Foundry's
    ``${{...}}`` expressions left exactly as written."""
    return _expand(value, variables, ("action", "input"), report)


def _expand(value: Any, variables: Mapping[str, str], path: Path, report: Report) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, variables, (*path, k), report) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, variables, (*path, i), report) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    pieces: list[str] = []
    pos = 0
    for start, end in foundry_spans(value):
        pieces.append(_expand_text(value[pos:start], variables, path, report))
        pieces.append(value[start:end])
        pos = end
    pieces.append(_expand_text(value[pos:], variables, path, report))
    return "".join(pieces)


def foundry_spans(text: str) -> Iterator[tuple[int, int]]:
    """The ``(start, end)`` of each Foundry ``${{...}}`` expression in ``text``, left to right:
    from a ``${{`` to the first ``}}`` after it. Linear in the text: once a ``${{`` has no
    ``}}`` after it, no later one has either, so the scan stops (a regular expression would
    rescan the rest of the text at every unterminated ``${{``). Unlike ``interpolate``, a
    ``$`` before ``${{`` is not an escape here: azd's expander sends ``$${{x}}`` as written."""
    pos = 0
    while (start := text.find(SERVER_SIDE, pos)) >= 0:
        close = text.find("}}", start + len(SERVER_SIDE))
        if close < 0:
            return
        pos = close + 2
        yield start, pos


def _expand_text(text: str, variables: Mapping[str, str], path: Path, report: Report) -> str:
    expanded, problems = interpolate(text, variables, path)
    for problem in problems:
        report(problem.path, problem.message)
    return str(expanded)


def escape_input(value: Any) -> Any:
    """The inverse of ``expand_input`` for text that must stay as it is: ``${`` becomes ``$${``
    except where it opens a Foundry ``${{...}}`` expression."""
    if isinstance(value, dict):
        return {k: escape_input(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape_input(v) for v in value]
    if not isinstance(value, str):
        return value
    pieces, pos = [], 0
    for start, end in foundry_spans(value):
        pieces += [value[pos:start].replace("${", "$${"), value[start:end]]
        pos = end
    pieces.append(value[pos:].replace("${", "$${"))
    return "".join(pieces)


def to_azd_keys(routine: dict[str, Any]) -> dict[str, Any]:
    """Wire (snake_case) trigger and action keys in azd's current camelCase spelling."""
    result = dict(routine)
    if isinstance(routine.get("triggers"), dict):
        result["triggers"] = {n: _camel(t) for n, t in routine["triggers"].items()}
    if isinstance(routine.get("action"), dict):
        result["action"] = _camel(routine["action"])
    return result


def _camel(mapping: Any) -> Any:
    if not isinstance(mapping, dict):
        return mapping
    return {CAMEL.get(k, k): v for k, v in mapping.items()}


def ref_target(value: Any, project_dir: str) -> tuple[str | None, str | None]:
    """The file a ``$ref`` names (normalized, relative paths against the folder of
    ``azure.yaml``), or why it cannot be used. The file must lie inside that folder (symbolic
    links resolved): a plan on a pull request must not read files from elsewhere."""
    if not isinstance(value, str) or not value.strip():
        return None, "$ref must be a non-empty path to a local .yaml, .yml or .json file"
    text = value.strip()
    if REMOTE_REF.match(text):
        return None, f"$ref {text!r} is a URL; remote files are not supported: use a local file"
    if os.path.splitext(text)[1].lower() not in REF_SUFFIXES:
        return None, (
            f"$ref {text!r} must name a .yaml, .yml or .json file (azd reads no other; a name "
            "without a suffix is read as JSON)"
        )
    target = os.path.normpath(text if os.path.isabs(text) else os.path.join(project_dir, text))
    root = os.path.realpath(project_dir or ".")
    real = os.path.realpath(target)
    if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
        return None, f"$ref {text!r} is outside the folder of azure.yaml ({project_dir or '.'})"
    return target, None
