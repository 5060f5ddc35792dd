"""One change against the project: read, compare, write, and verify an unknown outcome.

Immediately before writing, the routine is read (one GET) and compared with what the plan saw
(``plan.precheck``): already as desired -> nothing is written; as planned -> written; anything
else -> a conflict, nothing written. When a write fails in a way that may have taken effect (a
dropped connection or timeout after sending, retries that ran out, a bad response body), the
routine is read again: the change is ``ok`` when it took effect, ``failed`` when the routine is
as it was, a ``conflict`` otherwise. A failure is never reported for a change that took effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reconciler.live.base import Backend, BackendError
from reconciler.plan import precheck
from reconciler.plan.fingerprint import ABSENT
from reconciler.plan.model import Action, Change

Status = Literal["ok", "failed", "conflict", "unknown", "skipped"]
"""``unknown``: still in flight when apply stopped waiting; it may or may not take effect."""


@dataclass(frozen=True)
class Outcome:
    """A change's status and message, and the service's ``param`` of a refused write."""

    status: Status
    message: str = ""
    param: str | None = None


def execute(backend: Backend, change: Change, stack: str) -> Outcome:
    """Compare, then write ``change`` (a replace is a delete, then a create)."""
    try:
        live = backend.get(change.name)
    except BackendError as err:
        return Outcome(
            "failed", f"could not read it before writing: {err.message}; nothing written"
        )
    check = precheck.before_write(change, live, stack)
    if check.verdict == "done":
        return Outcome("ok", check.why)
    if check.verdict == "conflict":
        return _conflict(check.why, written=False)
    if change.action is not Action.REPLACE:
        return _step(backend, change, change.action, change.fingerprint)
    return _replace(backend, change)


def _replace(backend: Backend, change: Change) -> Outcome:
    """Delete, then create (the service honours ``authorization`` only at creation)."""
    deleted = _step(backend, change, Action.DELETE, change.fingerprint)
    if deleted.status != "ok":
        return deleted
    created = _step(backend, change, Action.CREATE, ABSENT)
    if created.status == "failed":
        return Outcome(
            "failed",
            f"deleted, but re-creating failed: {created.message} (the next apply creates it)",
            created.param,
        )
    return created


def _send(backend: Backend, change: Change, step: Action) -> None:
    if step in (Action.CREATE, Action.UPDATE):
        backend.create_or_update(change.name, change.body or {})
    elif step is Action.ENABLE:
        backend.enable(change.name)
    elif step is Action.DISABLE:
        backend.disable(change.name)
    elif step is Action.DELETE:
        backend.delete(change.name)


def _step(backend: Backend, change: Change, step: Action, before: str) -> Outcome:
    """Send one write; on an error that may have taken effect, read back and decide."""
    try:
        _send(backend, change, step)
    except BackendError as err:
        if step is Action.DELETE and err.kind == "not_found":
            return Outcome("ok", "already gone")
        if not err.maybe_applied:
            return Outcome("failed", err.message, err.param)
        return _verify(backend, change, step, before, err)
    return Outcome("ok")


def _verify(
    backend: Backend, change: Change, step: Action, before: str, err: BackendError
) -> Outcome:
    try:
        live = backend.get(change.name)
    except BackendError as again:
        return Outcome(
            "failed",
            f"{err.message}; reading it back failed too ({again.message}), so whether it took "
            "effect is unknown: run plan to see",
        )
    check = precheck.after_failure(change, step, live, before)
    if check.verdict == "done":
        return Outcome("ok", f"verified after {_cause(err)}")
    if check.verdict == "unchanged":
        return Outcome("failed", f"{err.message} (verified: not applied)", err.param)
    return _conflict(check.why, written=None)


def _conflict(why: str, *, written: bool | None) -> Outcome:
    tail = "nothing written" if written is False else "the write's outcome was overtaken"
    return Outcome("conflict", f"changed in the project since the plan ({why}); {tail}")


def _cause(err: BackendError) -> str:
    """A few words for what went wrong before the write was verified."""
    if err.kind == "unreachable":
        return "a dropped connection or timeout"
    if err.status is not None and err.status < 400:
        return f"a bad {err.status} response"
    if err.status is not None:
        return f"a {err.status} answer"
    return "an error"
