"""The Foundry service model that the embedded project and the emulator share.

``RoutineStore`` behaves like the Foundry Routines service over one SQLite file: the ``local``
backend (``reconciler.live.local``) calls it in process, and the emulator
(``reconciler.emulator``) serves it over HTTP. It builds only on ``reconciler.contract`` (the
wire schema, the rules, the one firing definition, the lock holder), never on the client side
(``reconciler.live``, ``reconciler.manifest``).

The modules follow the concerns of a request, each small enough to read on its own:

- ``errors``: ``ServiceError`` (an HTTP-shaped refusal: status, code, message, param, details),
  ``StoreError`` (the file cannot serve as a project) and the 400/404 helpers every other
  module raises with; it imports nothing of the package, so everything can use it.
- ``clock``: where the time comes from (``Clock``, ``SystemClock``, ``SYSTEM_CLOCK``); the
  emulator passes an accelerated one.
- ``requests``: what the service accepts (PUT body validation and defaults, timer resolution,
  page arguments, dispatch payloads); pure functions of the request, no storage.
- ``cursors``: the opaque paging cursors of the list routes.
- ``runs``: the firing model (watermarks, settling before a change), which firings are due
  (through ``reconciler.contract.firing``) and what a run record looks like; no SQL.
- ``attempts``: a delivery's attempts over time (queued -> dispatching -> completed | failed,
  retried by the delivery policy of ``reconciler.contract.delivery``) and how a run reads at a
  given time; ``failures``: the agents whose attempts fail (injected for tests);
  ``run_rows``: writing attempts to, and reading pages from, the ``runs`` table.
- ``filters``: the ``filter`` of ``list_runs``, the subset of MLflow's search syntax served.
- ``events``: GitHub issue and custom events (checking one, which triggers take it, its
  ``event_fire`` run), handed in by the emulator's admin route or ``--fire-event``.
- ``rows``: the stored routine (``Routine``) and reading and writing its row.
- ``sqlite``: every SQL statement, schema creation and checking, opening a connection, WAL,
  and the one-line description of a SQLite failure; no state.
- ``locks``: the stack-lock table (one apply per stack), served by the store and the emulator.
- ``connections``: ``ProjectFile``, the stateful part of a file: a connection per thread and
  process, transactions, read-only and immutable opening; ``RoutineStore``'s base class.
- ``store``: ``RoutineStore`` itself, the service operations, each one transaction.

Splitting the stateless SQLite helpers (``sqlite``) from the per-thread connection state
(``connections``), and the service operations (``store``) from both, keeps each module under
300 lines and lets the operations read as the service contract, not as database plumbing.
"""

from __future__ import annotations

from reconciler.service.clock import SYSTEM_CLOCK, Clock, SystemClock
from reconciler.service.errors import ServiceError, StoreError
from reconciler.service.requests import DEFAULT_PAGE_SIZE
from reconciler.service.runs import FIRE_MAX_PER_ROUTINE
from reconciler.service.sqlite import SCHEMA_VERSION
from reconciler.service.store import RoutineStore

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "FIRE_MAX_PER_ROUTINE",
    "SCHEMA_VERSION",
    "SYSTEM_CLOCK",
    "Clock",
    "RoutineStore",
    "ServiceError",
    "StoreError",
    "SystemClock",
]
