"""Fingerprints of live routines: what a saved plan checks before it applies."""

from __future__ import annotations

import hashlib
import json
from typing import Any

ABSENT = "absent"
_VOLATILE = ("created_at", "updated_at")


# One encoder for every digest: ``json.dumps`` with these options builds a new one per call.
_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode


def _canonical_json(value: Any) -> str:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)``."""
    return _ENCODE(value)


def _digest(value: Any) -> str:
    return hashlib.sha256(_canonical_json(value).encode()).hexdigest()[:16]


def field_prints(
    live: dict[str, Any] | None, normalized: tuple[dict[str, Any], Any] | None = None
) -> dict[str, str]:
    """A short digest of each canonical field (and of the ownership record) of a live
    routine: what a conflict message compares to name the fields that changed, without
    keeping (or showing) their values. ``normalized``: ``normalize.live(live)`` when the
    caller has it already."""
    if live is None:
        return {}
    if normalized is None:
        from reconciler.plan import normalize  # noqa: PLC0415 - normalize imports ownership

        normalized = normalize.live(live)
    canonical, record = normalized
    prints = {key: _digest(value) for key, value in canonical.items()}
    prints["ownership"] = _digest(None if record is None else record.render())
    return prints


def fingerprint(live: dict[str, Any] | None) -> str:
    """SHA-256 of the routine's content (timestamps left out), or ``absent``."""
    if live is None:
        return ABSENT
    content = {k: v for k, v in live.items() if k not in _VOLATILE}
    return hashlib.sha256(_canonical_json(content).encode()).hexdigest()
