"""The steps commands share: load desired state, read the live project, plan."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from reconciler.live.base import Backend, WireRoutine
from reconciler.live.endpoint import Endpoint
from reconciler.manifest.desired import to_desired
from reconciler.manifest.loader import LoadResult, load
from reconciler.plan.model import Plan
from reconciler.plan.options import PlanOptions
from reconciler.plan.planner import Planning
from reconciler.plan.previews import attach
from reconciler.workers import no_collection


@dataclass(frozen=True)
class Settings:
    """Everything a plan depends on besides the manifests' content."""

    paths: tuple[str, ...]
    variables: Mapping[str, str]
    now: int
    options: PlanOptions


@dataclass(frozen=True)
class Context:
    """The resolved target and settings of one command run."""

    endpoint: Endpoint
    settings: Settings
    agent_check: bool = False
    """Read each referenced agent and check it before planning (plan and apply)."""
    smoke: bool = False
    """The configuration asks apply to run the smoke gate (``smoke`` in reconciler.yaml)."""

    @property
    def stack(self) -> str:
        """The ownership scope."""
        return self.settings.options.stack


def load_desired(settings: Settings) -> LoadResult:
    """Load and check the manifests (no network); a timer that already fired is a warning here
    (the planner refuses to write one)."""
    return load(
        list(settings.paths),
        variables=settings.variables,
        now=settings.now,
        fired_timers_ok=True,
    )


def plan(
    settings: Settings,
    loaded: LoadResult,
    backend: Backend,
    live: list[WireRoutine] | None = None,
) -> Plan:
    """Read the live project (one paged list; or ``live``, already read) and plan against it."""
    live = backend.list_routines() if live is None else live
    return plan_pages(settings, loaded, [live])


def plan_pages(settings: Settings, loaded: LoadResult, pages: Iterable[list[WireRoutine]]) -> Plan:
    """Plan against the live list as its pages arrive (``pages`` may block between them)."""
    with no_collection():
        desired = [to_desired(r) for r in loaded.routines]
        options = replace(settings.options, manifest_digest=loaded.digest)
        planning = Planning(desired, options)
        live: list[WireRoutine] = []
        for page in pages:
            planning.add(page)
            live.extend(page)
        result = planning.finish()
        if options.previews:  # next fires and the load forecast (plan and apply, not drift)
            attach(result, live, options.now, options.herd_threshold)
    result.diagnostics[:0] = [d for d in loaded.diagnostics if d.severity == "warning"]
    return result
