"""One client connection of the emulator: reading request bodies and writing answers.

``ConnectionHandler`` is the I/O half of the emulator's request handler (``pipeline.py`` has the
other half): it tracks its connection on the server, reads the bounded request body, writes JSON
and raw answers with the headers every answer carries (``x-ms-request-id``, the client's
``x-ms-client-request-id``, ``Retry-After`` on 429/503), trickles them, drops or holds the
connection, and gives malformed requests the service's JSON error body.
"""

from __future__ import annotations

import contextlib
import io
import json
import socket
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, Final, cast

from reconciler.emulator import hostile
from reconciler.emulator.hostile import JSON_TYPE, RawAnswer
from reconciler.emulator.protocol import (
    MAX_BODY,
    HttpError,
    Reply,
    check_content_length,
    error_body,
    too_large,
)
from reconciler.emulator.state import EmulatorState

if TYPE_CHECKING:
    from reconciler.emulator.http_server import EmulatorHTTPServer

IDLE_TIMEOUT: Final = 120.0
DISCARD_MAX: Final = 16 * MAX_BODY


class ConnectionHandler(BaseHTTPRequestHandler):
    """The reading and writing of one client connection (HTTP/1.1 keep-alive)."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK hold every response for ~40 ms.
    disable_nagle_algorithm = True
    server_version = "reconciler-emulator"
    timeout = IDLE_TIMEOUT
    _request_id = ""
    _status: int | None = None

    @property
    def _server(self) -> EmulatorHTTPServer:
        return cast("EmulatorHTTPServer", self.server)

    @property
    def _state(self) -> EmulatorState:
        return self._server.state

    def setup(self) -> None:
        """Track the connection so ``stop`` can close it."""
        super().setup()
        self._server.track(self.connection, add=True)

    def finish(self) -> None:
        """Forget the connection."""
        try:
            super().finish()
        finally:
            self._server.track(self.connection, add=False)

    def version_string(self) -> str:
        """The ``Server`` header."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the base class's access log (the pipeline writes its own when verbose)."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests get the service's JSON error body too."""
        del explain
        self.close_connection = True
        phrase = _phrase(code)
        code_text = phrase.lower().replace(" ", "_").replace("-", "_")
        self._request_id = self._request_id or str(uuid.uuid4())
        self._send(
            Reply(code, error_body(code, code_text, message or phrase), {"Connection": "close"})
        )

    def _read_body(self) -> bytes:
        """The whole request body (bounded); chunked uploads are refused with 411."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            raise HttpError(
                411,
                "length_required",
                "chunked request bodies are not supported; send Content-Length",
            )
        length = check_content_length(self.headers.get("Content-Length"))
        if length > MAX_BODY:
            if length <= DISCARD_MAX:  # read it so the client sees the 413, not a reset
                _discard(self.rfile, length)
            raise too_large(length)
        return self.rfile.read(length) if length else b""

    def _base_url(self) -> str:
        host = self.headers.get("Host")
        if not host:
            address, port = cast(tuple[str, int], self.server.server_address)[:2]
            host = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        return f"http://{host}"

    def _drop(self) -> None:
        """Close the connection without sending anything."""
        self.close_connection = True
        self._status = 0
        shutdown(self.connection)

    def _hang(self) -> None:
        """Answer nothing until the client hangs up or the emulator stops, then close."""
        self.close_connection = True
        self._status = -1
        hostile.hold(self.connection, self._server.stopping)
        shutdown(self.connection)

    def _send(self, reply: Reply, *, count: bool = True, trickle: float = 0) -> None:
        """Write ``reply`` as JSON; 429/503 answers always carry ``Retry-After``."""
        data = b"" if reply.body is None else json.dumps(reply.body).encode("utf-8")
        headers = dict(reply.headers)
        if reply.status in (429, 503):
            headers.setdefault("Retry-After", str(self._state.faults.config.retry_after))
        answer = RawAnswer(reply.status, JSON_TYPE if data else None, data, headers)
        self._send_raw(answer, count=count, trickle=trickle)

    def _send_raw(self, answer: RawAnswer, *, count: bool = True, trickle: float = 0) -> None:
        """Write ``answer`` with the headers every answer carries (admin answers are not counted).

        With ``trickle`` > 0 the whole response goes out one byte every ``trickle`` seconds.
        """
        self._status = answer.status
        if count:  # before the client can see the answer and read the counters
            self._state.counters.status(answer.status)
        if trickle <= 0:
            self._write(answer)
            return
        real, buffer = self.wfile, io.BytesIO()
        self.wfile = buffer
        try:
            self._write(answer)
        finally:
            self.wfile = real
        try:
            done = hostile.trickle(real.write, buffer.getvalue(), trickle, self._server.stopping)
        except OSError:
            done = False
        if not done:
            self.close_connection = True
            shutdown(self.connection)

    def _write(self, answer: RawAnswer) -> None:
        """Status line, headers and body, to ``wfile``."""
        self.send_response(answer.status)
        self.send_header("x-ms-request-id", self._request_id)
        headers_in = getattr(self, "headers", None)
        client_id = headers_in.get("x-ms-client-request-id") if headers_in else None
        if client_id:
            self.send_header("x-ms-client-request-id", client_id)
        if answer.content_type:
            self.send_header("Content-Type", answer.content_type)
        if answer.status not in (204, 304):
            self.send_header("Content-Length", str(len(answer.data)))
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.end_headers()
        if answer.data and self.command != "HEAD":
            self.wfile.write(answer.data)


def shutdown(connection: socket.socket) -> None:
    """Shut ``connection`` down both ways (an already closed socket is fine)."""
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


def _phrase(status: int) -> str:
    """The reason phrase of a status code ("Error" for unknown codes)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _discard(stream: io.BufferedIOBase, length: int) -> None:
    """Read and drop ``length`` bytes (an oversize body we refuse)."""
    while length > 0:
        chunk = stream.read(min(length, 65536))
        if not chunk:
            return
        length -= len(chunk)


__all__ = ["DISCARD_MAX", "IDLE_TIMEOUT", "ConnectionHandler", "shutdown"]
