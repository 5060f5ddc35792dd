"""The in-process emulator of the Foundry Routines REST contract over a ``RoutineStore``.

Standard library only (``ThreadingHTTPServer``, HTTP/1.1 keep-alive). ``Emulator`` opens the
store, binds the server and serves in a background thread, and stops it all again. The pieces:
``http_server.py`` (the server and its connection tracking), ``pipeline.py`` (what each request
goes through: route -> counters -> injected latency/fault -> auth -> api-version ->
Foundry-Features -> body -> store) and ``connection.py`` (reading requests, writing answers).

    with Emulator("emu.db") as emu:
        client = AIProjectClient(endpoint=emu.endpoint(), credential=...)
        client.beta.routines.get("r1", enforce_https=False)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Final

from reconciler.contract.agents import AgentInfo
from reconciler.emulator.clock import EmulatedClock
from reconciler.emulator.fault_config import FaultConfig
from reconciler.emulator.faults import FaultInjector
from reconciler.emulator.http_server import EmulatorHTTPServer, EmulatorHTTPServer6
from reconciler.emulator.protocol import DEFAULT_PROJECT
from reconciler.emulator.state import EmulatorState
from reconciler.emulator.ticker import Ticker
from reconciler.service import RoutineStore
from reconciler.service.failures import AgentFailure
from reconciler.service.timers import DEFAULT_TIMER_AFTER_FIRE, TimerAfterFire

DEFAULT_HOST: Final = "127.0.0.1"
DRAIN_SECONDS: Final = 5.0


class Emulator:
    """An in-process emulator: ``start()`` binds (port 0 = any free port), ``stop()`` ends it.

    ``agents`` (when given) replaces the file's agent registry at start; ``None`` keeps it.
    ``failures`` (when given) replaces the file's injected agent failures likewise.
    """

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
        timer_after_fire: TimerAfterFire = DEFAULT_TIMER_AFTER_FIRE,
        agents: Sequence[AgentInfo] | None = None,
        failures: Sequence[AgentFailure] | None = None,
    ) -> None:
        self.db = os.fspath(db)
        self.host = host
        self.port = port
        self._token = token or None
        self._faults = faults
        self.clock = clock if clock is not None else EmulatedClock(speed=clock_speed)
        self._verbose = verbose
        self._tick_interval = tick_interval
        self.timer_after_fire = timer_after_fire
        self._agents = None if agents is None else list(agents)
        self._failures = None if failures is None else list(failures)
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
        store = RoutineStore(self.db, self.clock, timer_after_fire=self.timer_after_fire)
        try:
            if self._agents is not None:  # replaces the file's registry (empty: permissive)
                store.replace_agents(self._agents)
            if self._failures is not None:
                store.replace_failures(self._failures)
        except BaseException:
            store.close()
            raise
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
