"""``reconciler agents``: the agent registry of the embedded project (and of an emulator's file).

``agents load FILE`` makes the registry exactly the file's agents (``agents: []`` empties it:
any agent name is accepted again); ``agents list`` shows it. ``reconciler emulator --agents
FILE`` does the same for the emulator at start; both read the format of
``reconciler.manifest.agents_file``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import click

from reconciler.cli.context import TargetArgs, build, target_options
from reconciler.contract.agents import AgentInfo
from reconciler.diagnostics import ReconcilerError
from reconciler.live.endpoint import Endpoint
from reconciler.live.local import LocalBackend
from reconciler.manifest.agents_file import load_agents
from reconciler.views import factory


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


@agents.command(name="list")
@target_options
def list_agents(*, target: TargetArgs) -> None:
    """Show the local project's agent registry."""
    endpoint = _local(build(target, require_paths=False).endpoint)
    registered: Sequence[AgentInfo] = ()
    if os.path.exists(endpoint.value):
        with LocalBackend(endpoint.value, read_only=True) as backend:
            registered = backend.store.list_agents()
    out = factory.make(None)
    if not registered:
        out.line(f"No agents registered in {endpoint.display}: any agent name is accepted.")
    for agent in registered:
        identity = agent.identity or "none"
        out.line(f"{agent.name}  kind={agent.kind} state={agent.state} identity={identity}")


def _local(endpoint: Endpoint) -> Endpoint:
    if endpoint.kind != "local":
        raise ReconcilerError(
            f"agents load and list work on a local project, not {endpoint.display}",
            hint="a Foundry project's agents live in Foundry; for the emulator, start it with "
            "--agents FILE or load into its --db file with --endpoint local:PATH",
        )
    return endpoint
