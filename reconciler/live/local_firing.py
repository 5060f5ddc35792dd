"""Settle the embedded project's due schedule firings before its runs are read.

The embedded project has no ticker: nothing fires its schedules and timers while no command
runs. ``reconciler status`` (and ``runs``) on a ``local:`` endpoint therefore first write a
delivery run for every firing that came due since the project was last settled (the store's
``fire_due``, at most ``FIRE_MAX_PER_ROUTINE`` per routine), as the service would have, so an
enabled schedule is judged on its deliveries instead of turning "silent" an hour after apply.
A file that is missing, not writable (read-only media) or not initialized is left alone.
"""

from __future__ import annotations

import os

from reconciler.live.base import BackendError
from reconciler.live.endpoint import Endpoint
from reconciler.service.errors import ServiceError


def settle_due_firings(endpoint: Endpoint, now: float) -> int:
    """Fire what came due up to ``now`` in a writable ``local:`` project; how many firings
    (0 for another endpoint or a file this command may not change)."""
    if endpoint.kind != "local" or not _writable(endpoint.value):
        return 0
    from reconciler.live.local import LocalBackend  # noqa: PLC0415

    try:
        with LocalBackend(endpoint.value) as backend:
            return backend.store.fire_due(now)
    except (BackendError, ServiceError):
        return 0  # reading the project then reports what is wrong with it


def _writable(path: str) -> bool:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isfile(path) or os.path.getsize(path) == 0:  # nothing to fire; never create
        return False
    return os.access(path, os.W_OK) and os.access(folder, os.W_OK)
