"""The emulator's HTTP server: a ``ThreadingHTTPServer`` that tracks its open connections.

``Emulator.stop`` sets ``stopping`` (injected latency, hung and trickled answers end on it), then
``drain`` waits briefly for requests in progress and closes every connection still open. Each
connection is served by ``pipeline.RequestHandler``.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any

from reconciler.emulator.connection import shutdown
from reconciler.emulator.pipeline import RequestHandler
from reconciler.emulator.state import EmulatorState

log = logging.getLogger("reconciler.emulator.server")  # one logger for the HTTP side


class EmulatorHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its emulator state and its open connections.

    ``stopping`` is set first thing in ``Emulator.stop``: injected latency, hung and trickled
    answers end on it.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: EmulatorState) -> None:
        self.state = state
        self._connections: set[socket.socket] = set()
        self._busy = 0
        self._idle = threading.Condition()
        self.stopping = threading.Event()
        super().__init__(address, RequestHandler)

    def track(self, connection: socket.socket, *, add: bool) -> None:
        """Remember (or forget) an open client connection."""
        with self._idle:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def busy(self, delta: int) -> None:
        """Count requests in progress (``stop`` waits for them briefly)."""
        with self._idle:
            self._busy += delta
            self._idle.notify_all()

    def drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for requests in progress, then close every connection."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy and (left := deadline - time.monotonic()) > 0:
                self._idle.wait(left)
            connections = list(self._connections)
        for connection in connections:
            shutdown(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client hang-ups are routine here: log them only when verbose, never to stdout."""
        if self.state.verbose:
            log.debug("connection from %s failed", client_address, exc_info=True)


class EmulatorHTTPServer6(EmulatorHTTPServer):
    """The same server on an IPv6 address."""

    address_family = socket.AF_INET6


__all__ = ["EmulatorHTTPServer", "EmulatorHTTPServer6"]
