"""Fingerprints of live routines: what a saved plan checks before it applies."""

from __future__ import annotations

import hashlib
import json
from typing import Any

ABSENT = "absent"
_VOLATILE = ("created_at", "updated_at")


def fingerprint(live: dict[str, Any] | None) -> str:
    """SHA-256 of the routine's content (timestamps left out), or ``absent``."""
    if live is None:
        return ABSENT
    content = {k: v for k, v in live.items() if k not in _VOLATILE}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
