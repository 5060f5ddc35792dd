"""Open the backend an endpoint names."""

from __future__ import annotations

import os

from reconciler.live.base import Backend
from reconciler.live.endpoint import Endpoint


def open_backend(endpoint: Endpoint, *, writable: bool = False) -> Backend:
    """The local SQLite project or the Azure backend (SDK client).

    A local project file is created only by a command that writes (``writable``); reading a
    path that does not exist sees an empty project and leaves nothing behind.  Other commands
    open an existing file read-only (SQLite ``mode=ro``), so they work on read-only media and
    can never change it.
    """
    if endpoint.kind == "local":
        from reconciler.live.local import LocalBackend, MissingLocalProject  # noqa: PLC0415

        if writable:
            return LocalBackend(endpoint.value)
        if not os.path.exists(endpoint.value):
            return MissingLocalProject(endpoint.value)
        backend = LocalBackend(endpoint.value, read_only=True)
        if backend.store.empty:  # a file without tables yet: apply would initialize it
            backend.close()
            return MissingLocalProject(endpoint.value)
        return backend
    # The SDK takes most of a second to import: only azure endpoints pay for it.
    from reconciler.live.azure import AzureBackend  # noqa: PLC0415

    return AzureBackend(endpoint.value)
