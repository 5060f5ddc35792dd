"""The emulator's per-request pipeline: the Foundry Routines REST contract over a ``RoutineStore``.

Each routine request goes: route -> counters -> injected latency/fault -> auth -> api-version ->
Foundry-Features -> body -> store. ``/_emulator/...`` requests go to ``admin.py`` instead (not
counted, no faults). Every answer carries ``x-ms-request-id``; every error has the service's
error body. Reading and writing are ``connection.ConnectionHandler``'s.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from reconciler.emulator import hostile
from reconciler.emulator.admin import PREFIX, handle_admin
from reconciler.emulator.connection import ConnectionHandler
from reconciler.emulator.fault_config import BODY_FAULTS, STATUS_OF
from reconciler.emulator.faults import Decision
from reconciler.emulator.handlers import Request, handle
from reconciler.emulator.protocol import (
    HttpError,
    Reply,
    check_api_version,
    check_auth,
    check_features,
    error_body,
)
from reconciler.emulator.routes import RoutineRoute, match
from reconciler.service import ServiceError, StoreError

log = logging.getLogger("reconciler.emulator.server")  # one logger for the HTTP side


class RequestHandler(ConnectionHandler):
    """One client connection; every method goes through ``_handle``."""

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


__all__ = ["RequestHandler"]
