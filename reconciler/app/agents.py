"""The agent pre-flight of plan and apply (docs/design.md, "Service contract", "Agents").

Each distinct ``agent_name`` of the loaded routines is read once, in parallel (at most
``PARALLEL`` reads at a time, daemon threads), while the project is listed. What the agents API
says is checked against the rules of ``reconciler.contract.agents``; each problem becomes a
diagnostic at the ``action.agent_name`` line of every routine that names the agent (each file is
read again once, only when there is a problem), at most ``SHOWN_PER_AGENT`` lines per agent and
then one line counting the rest. A 403 on the agents API is one warning naming
the role the plan identity needs; any other failure to read an agent is a warning for that
agent: the check never blocks a plan because it could not run. Nor does an agents API that
does not answer: once the project is read and planned, the reads get ``WAIT_SECONDS`` more (and
never outlast the command's ``--timeout``); those still unanswered are one warning and the plan
goes on without them (``RECONCILER_AGENT_WAIT`` changes the wait, for tests).
``agent_endpoint_id`` is not checked: no API of the SDK reads endpoint ids.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Collection
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import Final

from reconciler.contract.agents import ROLE_HINT, AgentInfo, AgentProblem, problems
from reconciler.diagnostics import Diagnostic, Location, ReconcilerError
from reconciler.live.base import Backend, BackendError
from reconciler.manifest.azd_locate import Located, RefDocuments, locate_field
from reconciler.manifest.loader import DesiredRoutine, LoadResult
from reconciler.manifest.sources import is_project_file, read_text
from reconciler.manifest.yamlsafe import Document, YamlProblem, load_documents
from reconciler.paths import dotted
from reconciler.plan.model import Action, Plan
from reconciler.workers import DaemonPool, DeadlineExceeded, wait_for

PARALLEL: Final = 8
WAIT_SECONDS: Final = 30.0  # how long the reads may outlast the plan of the live project
WAIT_VAR: Final = "RECONCILER_AGENT_WAIT"
SHOWN_PER_AGENT: Final = 20  # located lines per agent; the rest are counted in one line
_PUTS: Final = frozenset({Action.CREATE, Action.UPDATE, Action.REPLACE})
FIELD: Final = ("action", "agent_name")
Read = Future[AgentInfo | None]


def referenced(loaded: LoadResult) -> dict[str, list[DesiredRoutine]]:
    """The routines of each agent name, in the order the manifests declare them."""
    found: dict[str, list[DesiredRoutine]] = defaultdict(list)
    for routine in loaded.routines:
        name = routine.spec.action.agent_name
        if name:
            found[name].append(routine)
    return dict(found)


@dataclass
class AgentCheck:
    """The agent reads under way for one plan; ``diagnostics`` waits for them."""

    target: str
    routines: dict[str, list[DesiredRoutine]]
    reads: dict[str, Read]
    started: float = 0.0  # time.monotonic() when the reads started

    def diagnostics(self, deadline: float | None, writes: Collection[str] = ()) -> list[Diagnostic]:
        """The problems found, waiting for the reads at most ``wait_seconds()`` from now and
        never past ``deadline``; reads still unanswered then are one warning. The service
        refuses a PUT, so an error is an error only for a routine the plan ``writes`` (creates,
        updates or replaces); for any other it is a warning: its runs fail."""
        bound = time.monotonic() + wait_seconds()
        bound = bound if deadline is None else min(bound, deadline)
        found: list[tuple[DesiredRoutine, str, str]] = []
        forbidden: list[str] = []
        unread: list[Diagnostic] = []
        unanswered: list[str] = []
        more: list[Diagnostic] = []
        for name, read in self.reads.items():
            try:
                agent = wait_for(read, bound)
            except DeadlineExceeded:
                unanswered.append(name)
                continue
            except BackendError as err:
                if err.kind == "forbidden":
                    forbidden.append(name)
                else:
                    unread.append(_unread(name, err))
                continue
            graded = [
                _graded(r, problem, writes)
                for problem in problems(name, agent)
                for r in self.routines[name]
            ]
            found += graded[:SHOWN_PER_AGENT]
            more += _more(name, graded[SHOWN_PER_AGENT:])
        return [
            *_located(found), *more, *self._forbidden(forbidden), *self._unanswered(unanswered),
            *unread,
        ]  # fmt: skip

    def _unanswered(self, names: list[str]) -> list[Diagnostic]:
        if not names:
            return []
        waited = round(time.monotonic() - self.started)
        return [
            Diagnostic(
                "warning",
                f"agents not checked: no answer from the agents API within {waited}s for "
                f"{len(names)} agent(s), e.g. '{names[0]}'; the plan went on without them",
            )
        ]

    def _forbidden(self, names: list[str]) -> list[Diagnostic]:
        if not names:
            return []
        return [
            Diagnostic(
                "warning",
                f"agents were not checked: reading agents at {self.target} was refused (403 "
                f"Forbidden) for {len(names)} agent(s), e.g. '{names[0]}'; {ROLE_HINT} (or turn "
                "the check off: --no-agent-check, agent_check: false)",
            )
        ]


def start(loaded: LoadResult, backend: Backend) -> AgentCheck:
    """Start reading every referenced agent, once each and in parallel."""
    routines = referenced(loaded)
    reads: dict[str, Read] = {}
    if routines:
        with DaemonPool(min(PARALLEL, len(routines)), "agents") as pool:
            for name in routines:
                reads[name] = pool.submit(partial(backend.get_agent, name))
    return AgentCheck(backend.target, routines, reads, time.monotonic())


def wait_seconds() -> float:
    """How long the agent reads may outlast the plan: ``RECONCILER_AGENT_WAIT`` seconds, else
    ``WAIT_SECONDS``."""
    text = os.environ.get(WAIT_VAR)
    if not text:
        return WAIT_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise ReconcilerError(f"{WAIT_VAR} must be a positive number of seconds, not {text!r}")
    return value


def writes(plan: Plan) -> frozenset[str]:
    """The routines ``plan`` sends a PUT for (create, update, replace)."""
    return frozenset(c.name for c in plan.changes if c.action in _PUTS)


def _graded(
    routine: DesiredRoutine, problem: AgentProblem, writes: Collection[str]
) -> tuple[DesiredRoutine, str, str]:
    if problem.severity == "warning" or routine.name in writes:
        return routine, problem.severity, problem.message
    return (
        routine,
        "warning",
        f"{problem.message} (this plan does not write the routine; its runs fail)",
    )


def _more(name: str, hidden: list[tuple[DesiredRoutine, str, str]]) -> list[Diagnostic]:
    """One line for the problems of agent ``name`` not shown (an error when one of them is)."""
    if not hidden:
        return []
    routines = len({id(routine) for routine, _, _ in hidden})
    message = (
        f"… and {routines} more routine(s) name agent '{name}', with the same problem (only "
        f"the first {SHOWN_PER_AGENT} lines of an agent are shown)"
    )
    if any(severity == "error" for _, severity, _ in hidden):
        return [Diagnostic("error", message)]
    return [Diagnostic("warning", message)]


def _unread(name: str, err: BackendError) -> Diagnostic:
    return Diagnostic("warning", f"agent '{name}' was not checked: {err.message}")


def _located(found: list[tuple[DesiredRoutine, str, str]]) -> list[Diagnostic]:
    """One diagnostic per (routine, problem) at the routine's ``action.agent_name``, as its
    file writes it (an azure.yaml service: ``agentName``, perhaps in its ``$ref`` file)."""
    documents: dict[str, list[Document]] = {}
    refs: RefDocuments = {}
    located: list[Diagnostic] = []
    for routine, severity, message in found:
        if routine.file not in documents:
            documents[routine.file] = _documents(routine.file)
        where = _field_location(routine, documents[routine.file], refs)
        located.append(
            Diagnostic(
                "error" if severity == "error" else "warning",
                message,
                file=where.location.file,
                line=where.location.line,
                col=where.location.col,
                field=where.field,
            )
        )
    return sorted(located, key=lambda d: (d.file or "", d.line or 0, d.col or 0))


def _documents(path: str) -> list[Document]:
    text, _ = read_text(path)
    try:
        return load_documents(text.text) if text is not None else []
    except YamlProblem:
        return []


def _field_location(
    routine: DesiredRoutine, documents: list[Document], refs: RefDocuments
) -> Located:
    """Where the routine writes ``action.agent_name`` (else where the routine starts)."""
    source = routine.source
    fallback = Located(source, dotted((*routine.prefix, *FIELD)))
    if is_project_file(routine.file):
        found = locate_field(documents[0], source, FIELD, refs) if documents else None
        return found or fallback
    for doc in documents:
        start = doc.mark_of(routine.prefix)
        if (start.line, start.col) == (source.line, source.col):
            mark = doc.mark_of((*routine.prefix, *FIELD))
            return Located(Location(source.file, mark.line, mark.col), fallback.field)
    return fallback
