"""The delivery policy of a routine's runs (docs/design.md, "Service contract").

The service tries each delivery (a schedule or timer firing, an event, a dispatch) up to
``MAX_ATTEMPTS`` times, waiting an exponential backoff from ``BACKOFF_FIRST`` seconds capped at
``BACKOFF_CAP`` between attempts and giving each attempt ``ATTEMPT_TIMEOUT`` seconds; an agent
answer of 408, 429 or 5xx (or a timeout) is retried, any other 4xx is terminal. The emulator's
runs follow it (``reconciler.service.attempts``) and so does a client waiting for a dispatch
(``reconciler.app.dispatching``): one definition for both.
"""

from __future__ import annotations

from typing import Final

MAX_ATTEMPTS: Final = 3
BACKOFF_FIRST: Final = 1.0
BACKOFF_CAP: Final = 5.0
ATTEMPT_TIMEOUT: Final = 30.0
TIMEOUT_STATUS: Final = 408


def retried(status: int | None) -> bool:
    """True when an attempt that failed with ``status`` is tried again (408, 429, 5xx; a
    failure without a status, such as a timeout, too)."""
    if status is None:
        return True
    return status in (TIMEOUT_STATUS, 429) or 500 <= status <= 599


def backoff(attempt: int) -> float:
    """Seconds waited before attempt number ``attempt`` (2 -> 1 s, 3 -> 2 s, ... at most 5 s)."""
    if attempt < 2:
        return 0.0
    return min(BACKOFF_CAP, BACKOFF_FIRST * float(2 ** (attempt - 2)))


def final_failure(status: int | None, attempt: int) -> bool:
    """True when a failed attempt number ``attempt`` is the delivery's last one."""
    return attempt >= MAX_ATTEMPTS or not retried(status)
