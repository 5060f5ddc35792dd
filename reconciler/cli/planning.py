"""The part of plan, apply and drift that is the same: header, load, read live, plan."""

from __future__ import annotations

from reconciler.cli.context import Context
from reconciler.diagnostics import ReconcilerError
from reconciler.engine import load_desired, plan
from reconciler.live.base import Backend, BackendError
from reconciler.live.factory import open_backend
from reconciler.plan.model import Plan
from reconciler.views.output import Output


def compute_plan(ctx: Context, out: Output) -> tuple[Plan, Backend]:
    """Print the header, then load, read and plan; every failure exits 1 before any write."""
    out.header(ctx.endpoint.display, ctx.endpoint.origin, ctx.stack)
    loaded = load_desired(ctx.settings)
    if not loaded.ok:
        out.diagnostics(loaded.diagnostics)
        raise ReconcilerError("the manifests are invalid; nothing was read or written")
    backend = open_backend(ctx.endpoint)
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
    return result, backend
