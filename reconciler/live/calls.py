"""Per-thread accounting of backend calls: how many requests and retries one change took.

``with tally() as t:`` around the calls of one change makes every HTTP attempt this thread makes
count in ``t`` (the SDK's calls are synchronous, so a thread serves one change at a time).
Tallies nest: an inner one adds its counts to the outer one when it ends. The transport side
(``wiretap``) records into ``current()``; nothing here imports the SDK.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

EXCERPT_MAX = 80


@dataclass
class Tally:
    """Requests sent (first attempts), retries beyond them, and the last status seen."""

    requests: int = 0
    retries: int = 0
    last_status: int | None = None


@dataclass(frozen=True)
class LastResponse:
    """The most recent response this thread received (for bad-body messages): the start of
    its body is kept as bytes and only turned into text when a message needs it."""

    status: int
    content_type: str
    head: bytes

    @property
    def excerpt(self) -> str:
        """A short printable excerpt of the body ('' when empty)."""
        return excerpt(self.head.decode("utf-8", "replace"))


_local = threading.local()


@contextmanager
def tally() -> Iterator[Tally]:
    """Count this thread's attempts in a new ``Tally`` for the duration of the block."""
    outer: Tally | None = getattr(_local, "tally", None)
    inner = Tally()
    _local.tally = inner
    try:
        yield inner
    finally:
        _local.tally = outer
        if outer is not None:
            outer.requests += inner.requests
            outer.retries += inner.retries
            outer.last_status = inner.last_status or outer.last_status


def current() -> Tally | None:
    """This thread's innermost tally, if any."""
    found: Tally | None = getattr(_local, "tally", None)
    return found


def remember(response: LastResponse | None) -> None:
    """Record (or, with None, forget) this thread's last response."""
    _local.last = response


def last_response() -> LastResponse | None:
    """The last response received on this thread, or None."""
    found: LastResponse | None = getattr(_local, "last", None)
    return found


def excerpt(text: str, limit: int = EXCERPT_MAX) -> str:
    """A short, one-line, printable excerpt of a body."""
    flat = " ".join(text[: limit * 4].split())
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in flat)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
