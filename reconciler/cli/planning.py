"""The part of plan, apply and drift that is the same: header, load, read live, plan."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.apply import Locate
from reconciler.cli.context import Context
from reconciler.diagnostics import Location, ReconcilerError
from reconciler.engine import load_desired, plan
from reconciler.live.base import Backend, BackendError
from reconciler.live.factory import open_backend
from reconciler.manifest.loader import LoadResult
from reconciler.manifest.sources import read_text
from reconciler.manifest.yamlsafe import YamlProblem, load_documents
from reconciler.plan.model import Change, Plan
from reconciler.views.output import Output


@dataclass
class Planned:
    """A plan, the open backend it was made against, and how to find a field's manifest line."""

    plan: Plan
    backend: Backend
    locate: Locate


def locator(loaded: LoadResult) -> Locate:
    """Map a change and a service error's ``param`` (``triggers.t.at``) to its manifest line."""
    by_name = {routine.name: routine for routine in loaded.routines}

    def locate(change: Change, param: str | None) -> Location | None:
        routine = by_name.get(change.name)
        if routine is None:
            return change.source
        return routine.locate(_param_path(param))

    return locate


def source_locator() -> Locate:
    """For a saved plan (the manifests were checked unchanged since): find a field's line by
    reading the YAML of the file the change came from; its routine starts at ``change.source``."""

    def locate(change: Change, param: str | None) -> Location | None:
        source = change.source
        if source is None:
            return None
        text, _ = read_text(source.file)
        try:
            documents = load_documents(text.text) if text is not None else []
        except YamlProblem:
            return source
        for doc in documents:
            routines = doc.data.get("routines") if isinstance(doc.data, dict) else None
            for index in range(len(routines) if isinstance(routines, list) else 0):
                start = doc.mark_of(("routines", index))
                if (start.line, start.col) == (source.line, source.col):
                    mark = doc.mark_of(("routines", index, *_param_path(param)))
                    return Location(source.file, mark.line, mark.col)
        return source

    return locate


def _param_path(param: str | None) -> tuple[str, ...]:
    """A service ``param`` as a path: dotted (``triggers.t.at``) or a JSON pointer."""
    if not param:
        return ()
    if param.startswith("/"):
        return tuple(part.replace("~1", "/").replace("~0", "~") for part in param[1:].split("/"))
    return tuple(param.split("."))


def compute_plan(ctx: Context, out: Output, *, writable: bool = False) -> Planned:
    """Print the header, then load, read and plan; every failure exits 1 before any write.

    ``writable`` opens the project for the writes that follow (apply)."""
    out.header(ctx.endpoint.display, ctx.endpoint.origin, ctx.stack)
    loaded = load_desired(ctx.settings)
    if not loaded.ok:
        out.diagnostics(loaded.diagnostics)
        raise ReconcilerError("the manifests are invalid; nothing was read or written")
    backend = open_backend(ctx.endpoint, writable=writable)
    try:
        result = plan(ctx.settings, loaded, backend)
    except BackendError as err:
        backend.close()
        raise ReconcilerError(err.message) from None
    if not result.ok:
        out.diagnostics(result.diagnostics)
        backend.close()
        raise ReconcilerError("planning failed; nothing was written")
    if result.diagnostics:
        out.diagnostics(result.diagnostics)
    return Planned(result, backend, locator(loaded))


def refuse_held_back(plan: Plan) -> None:
    """Exit 1 when the mass-delete guard holds deletes back: applying cannot converge, so the
    plan check and the deploy both fail with the same message."""
    held = plan.held_back
    if held:
        shown = ", ".join(held[:5]) + (", …" if len(held) > 5 else "")
        raise ReconcilerError(
            f"{len(held)} delete(s) are held back by the mass-delete guard ({shown}); git and "
            "the project still differ",
            hint="if the deletes are intended, raise prune.max_deletes in reconciler.yaml (or "
            "pass --max-deletes)",
        )
