"""A routine's smoke test as the plan carries it (``reconcile.smoke`` in a manifest; run by
``apply --smoke``, ``reconciler.app.smoke``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

SMOKED_ACTIONS: Final = ("create", "update", "replace", "enable")
"""The actions after which a routine that declares a smoke test is dispatched."""


def will_smoke(smoke: object, action: str, shown: dict[str, Any] | None) -> bool:
    """``apply --smoke`` dispatches this change: it declares a smoke test, its action is one of
    ``SMOKED_ACTIONS`` and git does not declare the routine disabled (``shown``: its body or
    desired side; a disabled routine is never dispatched)."""
    return (
        smoke is not None and action in SMOKED_ACTIONS and (shown or {}).get("enabled") is not False
    )


@dataclass(frozen=True)
class Smoke:
    """Dispatch once with ``input`` (when ``has_input``; else the routine's own), wait up to
    ``timeout`` seconds for the run."""

    timeout: int
    input: Any = None
    has_input: bool = False


def smoke_to_json(smoke: Smoke) -> dict[str, Any]:
    """The public plan's view: the timeout and whether an input is given (never the input: it
    may hold what a reviewer should not see in a comment)."""
    return {"timeout_seconds": smoke.timeout, "input_given": smoke.has_input}


def encode(smoke: Smoke | None) -> dict[str, Any] | None:
    """The saved plan's lossless form (the file is a secret: it holds the input)."""
    if smoke is None:
        return None
    return {"timeout": smoke.timeout, "input": smoke.input, "has_input": smoke.has_input}


def decode(data: Any) -> Smoke | None:
    """What ``encode`` wrote (None for a plan saved without smoke)."""
    if data is None:
        return None
    return Smoke(int(data["timeout"]), data.get("input"), bool(data.get("has_input")))
