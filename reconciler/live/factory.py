"""Open the backend an endpoint names."""

from __future__ import annotations

from reconciler.diagnostics import ReconcilerError
from reconciler.live.base import Backend, BackendError
from reconciler.live.endpoint import Endpoint


def open_backend(endpoint: Endpoint) -> Backend:
    """The local SQLite project or the Azure backend (SDK client)."""
    try:
        if endpoint.kind == "local":
            from reconciler.live.local import LocalBackend  # noqa: PLC0415

            return LocalBackend(endpoint.value)
        # The SDK takes most of a second to import: only azure endpoints pay for it.
        from reconciler.live.azure import AzureBackend  # noqa: PLC0415

        return AzureBackend(endpoint.value)
    except BackendError as err:
        raise ReconcilerError(err.message) from None
