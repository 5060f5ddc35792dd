"""Open the backend an endpoint names."""

from __future__ import annotations

from reconciler.diagnostics import ReconcilerError
from reconciler.live.base import Backend, BackendError
from reconciler.live.endpoint import Endpoint


def open_backend(endpoint: Endpoint) -> Backend:
    """The local SQLite project or the Azure backend (SDK client)."""
    try:
        if endpoint.kind == "local":
            from reconciler.live.local import LocalBackend

            return LocalBackend(endpoint.value)
        from reconciler.live.azure import AzureBackend

        return AzureBackend(endpoint.value)
    except BackendError as err:
        raise ReconcilerError(err.message) from None
