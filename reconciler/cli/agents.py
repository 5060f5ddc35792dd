"""``reconciler agents``: the agent registry of the embedded project (and of an emulator's file).

``agents load FILE`` makes the registry exactly the file's agents (``agents: []`` empties it:
any agent name is accepted again); ``agents list`` shows it. ``reconciler emulator --agents
FILE`` does the same for the emulator at start; both read the format of
``reconciler.manifest.agents_file``. ``agents fail NAME[:RATE[:STATUS]]...`` makes those agents'
runs fail (``reconciler.service.failures``; ``--clear``: none fails), as ``reconciler emulator
--fail-agent`` does for the emulator.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import click

from reconciler.cli.context import TargetArgs, build, target_options
from reconciler.contract.agents import AgentInfo
from reconciler.diagnostics import ReconcilerError
from reconciler.live.endpoint import Endpoint
from reconciler.live.local import LocalBackend
from reconciler.manifest.agents_file import load_agents
from reconciler.service.failures import AgentFailure, parse_spec
from reconciler.views import factory
from reconciler.views.documents import emit_json


def read_agents(path: str) -> list[AgentInfo]:
    """The agents of ``path``; ReconcilerError with located problems when it is invalid."""
    loaded = load_agents(path)
    if loaded.diagnostics:
        raise ReconcilerError(
            f"{path} is not a valid agents file ({len(loaded.diagnostics)} problem(s)); "
            "nothing was loaded",
            diagnostics=loaded.diagnostics,
        )
    return loaded.agents


@click.group()
def agents() -> None:
    """The agents the embedded project and the emulator know (for testing the agent check).

    With no agents registered, any agent name is accepted. Once agents are loaded, a routine
    naming another agent, a workflow agent or an agent without an identity is refused as the
    service refuses it, and plan reports it at the routine's agent_name line.
    """


@agents.command(name="load")
@click.argument("file", type=click.Path(dir_okay=False))
@target_options
def load(*, file: str, target: TargetArgs) -> None:
    """Make the local project's agent registry exactly FILE's agents.

    FILE is YAML: agents: [{name, kind: prompt|hosted|workflow, state: enabled|disabled,
    identity: active|disabled|none}] (defaults: prompt, enabled, active). A running emulator
    reads its --db file, so loading into that file changes the emulator at once. Example:

    \b
        reconciler agents load agents.yaml --endpoint local:.reconciler/local.db
    """
    registered = read_agents(file)
    endpoint = _local(build(target, require_paths=False).endpoint)
    with LocalBackend(endpoint.value) as backend:
        count = backend.store.replace_agents(registered)
    state = "refuses routines for any other agent" if count else "accepts any agent name"
    factory.make(None).line(f"Loaded {count} agent(s) into {endpoint.display}; it now {state}.")


OUTPUT = click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default="text",
    help="text (default) or json (format_version, kind, target, agents, failing).",
)


@agents.command(name="list")
@target_options
@OUTPUT
def list_agents(*, target: TargetArgs, output: str) -> None:
    """Show the local project's agent registry (and the agents whose runs fail). Example:

    \b
        reconciler agents list -o json --endpoint local:.reconciler/local.db
    """
    endpoint = _local(build(target, require_paths=False).endpoint)
    registered: Sequence[AgentInfo] = ()
    failing: Sequence[AgentFailure] = ()
    if os.path.exists(endpoint.value):
        with LocalBackend(endpoint.value, read_only=True) as backend:
            registered = backend.store.list_agents()
            failing = backend.store.list_failures()
    if output == "json":
        emit_json(_document("reconciler-agents", endpoint, failing, registered))
        return
    out = factory.make(None)
    if not registered:
        out.line(f"No agents registered in {endpoint.display}: any agent name is accepted.")
    for agent in registered:
        identity = agent.identity or "none"
        out.line(f"{agent.name}  kind={agent.kind} state={agent.state} identity={identity}")
    for failure in failing:
        out.line(f"runs of {failure.agent} fail: {_described(failure)}")


@agents.command(name="fail")
@click.argument("specs", nargs=-1, metavar="NAME[:RATE[:STATUS]]...")
@click.option("--clear", is_flag=True, help="No agent's runs fail any more.")
@target_options
@OUTPUT
def fail(*, specs: tuple[str, ...], clear: bool, target: TargetArgs, output: str) -> None:
    """Make the runs of these agents fail in the local project (to test run health, alerts or
    a smoke gate): RATE of their attempts (default 1) fail as if the agent answered STATUS
    (default 500; 408, 429 and 5xx are retried up to 3 attempts, other 4xx end the run). Replaces
    the agents that failed before. Examples:

    \b
        reconciler agents fail triage            every run of triage fails, after 3 attempts
        reconciler agents fail triage:0.5 other:1:400
        reconciler agents fail --clear
        reconciler agents fail triage -o json
    """
    if bool(specs) == clear:
        raise click.UsageError("name the failing agents (NAME[:RATE[:STATUS]]) or pass --clear")
    failing = _specs(specs)
    endpoint = _local(build(target, require_paths=False).endpoint, "agents fail works")
    with LocalBackend(endpoint.value) as backend:
        count = backend.store.replace_failures(failing)
    if output == "json":
        emit_json(_document("reconciler-agent-failures", endpoint, failing))
        return
    out = factory.make(None)
    if not count:
        out.line(f"No agent's runs fail in {endpoint.display}.")
    for failure in failing:
        out.line(f"Runs of {failure.agent} fail in {endpoint.display}: {_described(failure)}.")


def _specs(specs: tuple[str, ...]) -> list[AgentFailure]:
    try:
        return [parse_spec(spec) for spec in specs]
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="NAME[:RATE[:STATUS]]") from None


def _document(
    kind: str,
    endpoint: Endpoint,
    failing: Sequence[AgentFailure],
    registered: Sequence[AgentInfo] | None = None,
) -> dict[str, Any]:
    """The JSON of ``agents list`` (with ``agents``) and ``agents fail``."""
    document: dict[str, Any] = {"format_version": "1", "kind": kind, "target": endpoint.display}
    if registered is not None:
        document["agents"] = [
            {"name": a.name, "kind": a.kind, "state": a.state, "identity": a.identity}
            for a in registered
        ]
    document["failing"] = [
        {"agent": f.agent, "rate": f.rate, "status_code": f.status_code} for f in failing
    ]
    return document


def _described(failure: AgentFailure) -> str:
    return f"{failure.rate:.0%} of attempts, answered {failure.status_code}"


def _local(endpoint: Endpoint, what: str = "agents load and list work") -> Endpoint:
    if endpoint.kind != "local":
        raise ReconcilerError(
            f"{what} on a local project, not {endpoint.display}",
            hint="a Foundry project's agents live in Foundry; for the emulator, start it with "
            "--agents FILE (--fail-agent NAME) or load into its --db file with --endpoint "
            "local:PATH",
        )
    return endpoint
