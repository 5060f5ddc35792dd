"""The emulator's HTTP server: the Foundry Routines REST contract over a ``RoutineStore``.

Standard library only (``ThreadingHTTPServer``, HTTP/1.1 keep-alive). Each routine request goes:
route -> counters -> injected latency/fault -> auth -> api-version -> Foundry-Features -> body ->
store. Every answer carries ``x-ms-request-id``; every error has the service's error body.

    with Emulator("emu.db") as emu:
        client = AIProjectClient(endpoint=emu.endpoint(), credential=...)
        client.beta.routines.get("r1", enforce_https=False)
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import socket
import sys
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final, cast
from urllib.parse import parse_qs, urlsplit

from reconciler.emulator import hostile
from reconciler.emulator.admin import PREFIX, handle_admin
from reconciler.emulator.clock import EmulatedClock
from reconciler.emulator.faults import BODY_FAULTS, STATUS_OF, Decision, FaultConfig, FaultInjector
from reconciler.emulator.handlers import Request, handle
from reconciler.emulator.hostile import JSON_TYPE, RawAnswer
from reconciler.emulator.protocol import (
    MAX_BODY,
    HttpError,
    Reply,
    check_api_version,
    check_auth,
    check_content_length,
    check_features,
    error_body,
    too_large,
)
from reconciler.emulator.routes import RoutineRoute, match
from reconciler.emulator.state import EmulatorState
from reconciler.emulator.ticker import Ticker
from reconciler.service import RoutineStore, ServiceError, StoreError

log = logging.getLogger(__name__)

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PROJECT: Final = "_project"
IDLE_TIMEOUT: Final = 120.0
DRAIN_SECONDS: Final = 5.0
DISCARD_MAX: Final = 16 * MAX_BODY


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
            _shutdown(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client hang-ups are routine here: log them only when verbose, never to stdout."""
        if self.state.verbose:
            log.debug("connection from %s failed", client_address, exc_info=True)


class EmulatorHTTPServer6(EmulatorHTTPServer):
    """The same server on an IPv6 address."""

    address_family = socket.AF_INET6


class RequestHandler(BaseHTTPRequestHandler):
    """One client connection; every method goes through ``_handle``."""

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
        return cast(EmulatorHTTPServer, self.server)

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

    def do_GET(self) -> None:
        """GET."""
        self._handle()

    def do_PUT(self) -> None:
        """PUT."""
        self._handle()

    def do_POST(self) -> None:
        """POST."""
        self._handle()

    def do_DELETE(self) -> None:
        """DELETE."""
        self._handle()

    def do_PATCH(self) -> None:
        """PATCH (405 on every route)."""
        self._handle()

    def do_HEAD(self) -> None:
        """HEAD (405 on every route; no body)."""
        self._handle()

    def do_OPTIONS(self) -> None:
        """OPTIONS (405 on every route)."""
        self._handle()

    def version_string(self) -> str:
        """The ``Server`` header."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the base class's access log (``_log`` writes our own when verbose)."""

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

    # -- the request pipeline --

    def _handle(self) -> None:
        started = time.perf_counter()
        self._request_id = str(uuid.uuid4())
        self._status = None
        self._server.busy(+1)
        try:
            self._serve()
        finally:
            self._server.busy(-1)
            self._log(started)

    def _serve(self) -> None:
        split = urlsplit(self.path)
        try:
            raw = self._read_body()
        except HttpError as err:
            self.close_connection = True
            self._send(err.reply())
            return
        if split.path == PREFIX or split.path.startswith(PREFIX + "/"):
            reply = _guard(lambda: handle_admin(self._state, self.command, split.path, raw))
            self._send(reply, count=False)
            return
        try:
            route = match(self.command, split.path)
        except HttpError as err:
            self._state.counters.request("unmatched")
            self._send(err.reply())
            return
        self._serve_routine(route, split.path, parse_qs(split.query, keep_blank_values=True), raw)

    def _serve_routine(
        self, route: RoutineRoute, path: str, query: dict[str, list[str]], raw: bytes
    ) -> None:
        state = self._state
        state.counters.request(route.key)
        decision = state.faults.decide(self.command, route.key)
        if decision.latency > 0:
            self._server.stopping.wait(decision.latency)
        if self._serve_fault(decision, route):
            return
        request = Request(
            route,
            query,
            raw,
            self.headers.get("Content-Type"),
            self._base_url(),
            path,
            decision.list_mode,
        )
        reply = _guard(lambda: self._checked(request))
        if decision.fault == "drop_after":
            self._drop()
            return
        self._send(reply, trickle=decision.trickle_interval if decision.fault == "trickle" else 0)

    def _serve_fault(self, decision: Decision, route: RoutineRoute) -> bool:
        """Answer a fault that replaces the request's processing; False for any other."""
        fault = decision.fault
        if fault == "drop_before":
            self._drop()
        elif fault in STATUS_OF:
            self._send(hostile.fault_reply(decision))
        elif fault in BODY_FAULTS:
            self._send_raw(hostile.bad_body(fault, route.key, decision.status))
        elif fault == "hang":
            self._hang()
        else:
            return False
        return True

    def _checked(self, request: Request) -> Reply:
        """The protocol checks, then the store operation."""
        check_auth(self.headers.get("Authorization"), self._state.token)
        check_api_version(request.query)
        check_features(self.headers.get("Foundry-Features"))
        return handle(self._state.store, request)

    # -- I/O helpers --

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
        _shutdown(self.connection)

    def _hang(self) -> None:
        """Answer nothing until the client hangs up or the emulator stops, then close."""
        self.close_connection = True
        self._status = -1
        hostile.hold(self.connection, self._server.stopping)
        _shutdown(self.connection)

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
            _shutdown(self.connection)

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

    def _log(self, started: float) -> None:
        if not self._state.verbose:
            return
        elapsed = (time.perf_counter() - started) * 1000
        names = {0: "dropped", -1: "hung"}
        status = names.get(self._status, str(self._status)) if self._status else str(self._status)
        path = urlsplit(self.path).path
        sys.stderr.write(f"{self.command} {path} {status} {elapsed:.1f}ms\n")
        sys.stderr.flush()


def _guard(produce: Any) -> Reply:
    """Run ``produce()``; store and protocol errors become error replies, crashes a 500."""
    try:
        return cast(Reply, produce())
    except HttpError as err:
        return err.reply()
    except ServiceError as err:
        return Reply(err.status, err.to_body())
    except StoreError as err:
        return Reply(500, error_body(500, "store_error", str(err)))
    except Exception as err:
        log.exception("emulator request failed")
        return Reply(
            500, error_body(500, "internal_error", f"the emulator failed: {type(err).__name__}")
        )


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


def _shutdown(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


class Emulator:
    """An in-process emulator: ``start()`` binds (port 0 = any free port), ``stop()`` ends it."""

    def __init__(
        self,
        db: str | os.PathLike[str],
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        token: str | None = None,
        faults: FaultConfig | None = None,
        clock: EmulatedClock | None = None,
        clock_speed: float = 1.0,
        verbose: bool = False,
        tick_interval: float = 0.2,
    ) -> None:
        self.db = os.fspath(db)
        self.host = host
        self.port = port
        self._token = token or None
        self._faults = faults
        self.clock = clock if clock is not None else EmulatedClock(speed=clock_speed)
        self._verbose = verbose
        self._tick_interval = tick_interval
        self._state: EmulatorState | None = None
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> EmulatorState:
        """The running emulator's shared state (store, faults, counters...)."""
        if self._state is None:
            raise RuntimeError("the emulator is not started")
        return self._state

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running emulator."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def endpoint(self, project: str = DEFAULT_PROJECT) -> str:
        """The project endpoint the SDK takes: ``http://HOST:PORT/api/projects/<project>``."""
        return f"{self.url}/api/projects/{project}"

    def start(self) -> Emulator:
        """Open the store, bind, and serve in a background thread; returns self."""
        if self._server is not None:
            return self
        store = RoutineStore(self.db, self.clock)
        ticker = Ticker(store, self.clock, self._tick_interval)
        state = EmulatorState(
            store=store,
            clock=self.clock,
            ticker=ticker,
            faults=FaultInjector(self._faults),
            token=self._token,
            verbose=self._verbose,
        )
        server_class = EmulatorHTTPServer6 if ":" in self.host else EmulatorHTTPServer
        try:
            server = server_class((self.host, self.port), state)
        except BaseException:
            store.close()
            raise
        self.port = int(server.server_address[1])
        self._state, self._server = state, server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="emulator-http",
            daemon=True,
        )
        self._thread.start()
        ticker.start()
        return self

    def stop(self) -> None:
        """Stop serving, close connections, stop the ticker and close the store (idempotent)."""
        server, state = self._server, self._state
        if server is None or state is None:
            return
        server.stopping.set()
        server.shutdown()
        server.server_close()
        server.drain(DRAIN_SECONDS)
        if self._thread is not None:
            self._thread.join(timeout=10)
        state.ticker.stop()
        state.store.close()
        self._server = self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


__all__ = ["DEFAULT_HOST", "DEFAULT_PROJECT", "Emulator"]
