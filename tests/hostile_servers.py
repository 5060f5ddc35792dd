"""Tiny standard-library socket servers for tests that do not need the emulator.

``silent_server()`` accepts connections and never reads or answers; ``trickle_server(data,
interval)`` reads each request and sends ``data`` verbatim, one byte every ``interval`` seconds
(``http_response`` builds an HTTP/1.1 answer to send). Both are context managers yielding the
port on 127.0.0.1; at exit they stop every thread and close every socket, so they leak nothing
and a test can leave while a client still waits.

    with silent_server() as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=0.5)
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Final

HOST: Final = "127.0.0.1"
POLL: Final = 0.05
JOIN_TIMEOUT: Final = 5.0
HEAD_LIMIT: Final = 64 * 1024


class _Server:
    """A listening socket, the accept thread, and the connections and threads it started."""

    def __init__(self, serve: Callable[[socket.socket, threading.Event], None] | None) -> None:
        self.stop = threading.Event()
        self._serve = serve
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self.listener = socket.create_server((HOST, 0))
        self.listener.settimeout(POLL)
        self.port = int(self.listener.getsockname()[1])
        self._accepting = threading.Thread(target=self._accept, name="hostile-accept", daemon=True)

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._connections.append(connection)
                if self._serve is not None:
                    thread = threading.Thread(
                        target=self._serve, args=(connection, self.stop), daemon=True
                    )
                    self._threads.append(thread)
                    thread.start()

    def __enter__(self) -> int:
        self._accepting.start()
        return self.port

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self._accepting.join(JOIN_TIMEOUT)
        self.listener.close()
        with self._lock:
            connections, threads = list(self._connections), list(self._threads)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(JOIN_TIMEOUT)
        for connection in connections:
            connection.close()


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A server that accepts every connection and never reads from it or answers."""
    with _Server(None) as port:
        yield port


@contextlib.contextmanager
def trickle_server(data: bytes, interval: float) -> Iterator[int]:
    """A server that reads each request, then sends ``data`` one byte every ``interval`` s."""

    def serve(connection: socket.socket, stop: threading.Event) -> None:
        with contextlib.suppress(OSError):
            if not _read_request(connection, stop):
                return
            for index in range(len(data)):
                if index and stop.wait(interval):
                    return
                connection.sendall(data[index : index + 1])
            connection.shutdown(socket.SHUT_WR)

    with _Server(serve) as port:
        yield port


def http_response(
    body: bytes, *, status: str = "200 OK", content_type: str = "application/json"
) -> bytes:
    """A complete HTTP/1.1 answer carrying ``body`` (the connection closes after it)."""
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _read_request(connection: socket.socket, stop: threading.Event) -> bool:
    """Read the request's head and its ``Content-Length`` body; False if it never came."""
    connection.settimeout(POLL)
    received = b""
    while b"\r\n\r\n" not in received:
        if stop.is_set() or len(received) > HEAD_LIMIT:
            return False
        try:
            chunk = connection.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            return False
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    missing = _content_length(head) - len(body)
    while missing > 0 and not stop.is_set():
        try:
            chunk = connection.recv(min(missing, 65536))
        except TimeoutError:
            continue
        if not chunk:
            return False
        missing -= len(chunk)
    return not stop.is_set()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            return int(value.strip())
    return 0
