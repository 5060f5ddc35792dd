"""The agents file: the agent registry the embedded project and the emulator enforce.

Read by ``reconciler emulator --agents FILE`` and ``reconciler agents load FILE``::

    agents:
      - name: ops-agent            # hosted, enabled, with an active identity
        kind: hosted
      - name: drafts               # a prompt-only agent: routines for it are refused
        kind: prompt
        identity: none
      - name: pipeline             # a workflow agent: refused
        kind: workflow
      - name: paused               # accepted, with a warning from plan
        state: disabled

``kind`` is prompt (default), hosted or workflow; ``state`` enabled (default) or disabled;
``identity`` the status of the agent identity: active (default), disabled, or none (the agent
has no identity of its own). ``agents: []`` empties the registry (permissive again). Problems are
located diagnostics (file, line, column, field), never exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from pydantic import Field

from reconciler.contract.agents import AgentInfo
from reconciler.contract.models import WireModel
from reconciler.contract.schema_errors import problems
from reconciler.diagnostics import Diagnostic, error
from reconciler.manifest.sources import read_text
from reconciler.manifest.yamlsafe import Document, Mark, YamlProblem, load_documents
from reconciler.paths import dotted


class AgentEntry(WireModel):
    """One registered agent."""

    name: str = Field(min_length=1, max_length=256, description="The agent's name.")
    kind: Literal["prompt", "hosted", "workflow"] = Field(
        default="prompt", description="The latest version's definition kind."
    )
    state: Literal["enabled", "disabled"] = Field(default="enabled")
    identity: Literal["active", "disabled", "none"] = Field(
        default="active", description="The agent identity's status; none: it has no identity."
    )


class AgentsFile(WireModel):
    """The whole agents file."""

    agents: list[AgentEntry] = Field(description="The project's agents.")


@dataclass
class AgentsLoad:
    """The agents of a file, or the problems that stop it from being used."""

    agents: list[AgentInfo] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def load_agents(path: str) -> AgentsLoad:
    """Read and check an agents file."""
    source, problem = read_text(path)
    if problem is not None or source is None:
        problem = problem or error("cannot read the file", file=path)
        return AgentsLoad(diagnostics=[replace(problem, message=_advice(problem.message))])
    try:
        documents = load_documents(source.text)
    except YamlProblem as err:
        mark = err.mark or Mark(1, 1)
        return AgentsLoad(diagnostics=[error(_advice(err.message), file=path, **_at(mark))])
    if len(documents) != 1:
        return AgentsLoad(diagnostics=[error("expected exactly one YAML document", file=path)])
    doc = documents[0]
    found = _problems(path, doc)
    if found:
        return AgentsLoad(diagnostics=found)
    entries = AgentsFile.model_validate(doc.data).agents
    duplicates = _duplicates(path, doc, entries)
    if duplicates:
        return AgentsLoad(diagnostics=duplicates)
    return AgentsLoad(agents=[_info(entry) for entry in entries])


def _problems(path: str, doc: Document) -> list[Diagnostic]:
    from jsonschema import Draft202012Validator  # noqa: PLC0415 - only when a file is read

    validator = Draft202012Validator(AgentsFile.model_json_schema())
    first = {p.path: p for p in reversed(problems(validator, doc.data))}  # a wrong type first
    found = [
        error(
            p.message,
            file=path,
            **_at(doc.mark_of(p.path, key=p.at_key)),
            field=dotted(p.path) or None,
        )
        for p in reversed(first.values())
    ]
    found += [error(p.message, file=path, **_at(p.mark or doc.start)) for p in doc.problems]
    return sorted(found, key=lambda d: (d.line or 0, d.col or 0))


def _duplicates(path: str, doc: Document, entries: list[AgentEntry]) -> list[Diagnostic]:
    seen: set[str] = set()
    found: list[Diagnostic] = []
    for index, entry in enumerate(entries):
        if entry.name in seen:
            where = ("agents", index, "name")
            message = f"agent {entry.name!r} is declared more than once"
            found.append(error(message, file=path, **_at(doc.mark_of(where)), field=dotted(where)))
        seen.add(entry.name)
    return found


def _advice(message: str) -> str:
    """A reading problem's message in an agents file's terms: it needs ``agents:``, and it
    cannot be split (``agents load`` replaces the whole registry with one file)."""
    if message.startswith("file is empty"):
        return EMPTY
    if " (split it" not in message and "; split it" not in message:
        return message
    head = message.split(" (split it", maxsplit=1)[0].split("; split it", maxsplit=1)[0]
    return head + ("; use fewer aliases" if "fewer aliases" in message else "") + WHOLE


EMPTY = (
    "file is empty: an agents file needs a top-level 'agents:' list (agents: [] empties the "
    "registry)"
)
WHOLE = (
    "; an agents file is loaded whole (it replaces the registry), so it cannot be split: give "
    "each agent only the fields that differ from the defaults (kind: prompt, state: enabled, "
    "identity: active)"
)


def _info(entry: AgentEntry) -> AgentInfo:
    identity = None if entry.identity == "none" else entry.identity
    return AgentInfo(entry.name, entry.kind, entry.state, identity)


def _at(mark: Mark) -> dict[str, int]:
    return {"line": mark.line, "col": mark.col}
