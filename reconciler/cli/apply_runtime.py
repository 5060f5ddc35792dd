"""What runs around an apply: interrupts, a lost lock, the confirmation, the commit."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import click

from reconciler.diagnostics import ReconcilerError
from reconciler.live.locking import STALE_SECONDS, Lease
from reconciler.views.base import View


@contextmanager
def losing(lease: Lease, stop: threading.Event) -> Iterator[None]:
    """A lost lock (this apply stalled, another took the lock over) stops starting changes."""
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            if lease.lost.is_set():
                stop.set()
                return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()


def lost(stack: str) -> ReconcilerError:
    return ReconcilerError(
        f"this apply lost the lock of stack {stack}: it stalled for longer than "
        f"{int(STALE_SECONDS)} s and another apply took the lock over; nothing new was started",
        hint="run plan to see where the project stands",
    )


@contextmanager
def interrupts(out: View) -> Iterator[threading.Event]:
    """Ctrl-C or SIGTERM (what CI sends on cancel) during apply: the first sets the event
    (nothing new starts; what is in flight is waited for and reported), a second stops waiting."""
    stop = threading.Event()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        out.line(
            "Stopping: nothing new starts; waiting for the changes in flight (interrupt again "
            "to stop waiting)",
            "yellow",
        )

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def git_commit() -> str | None:
    """The checked-out commit, for audit records made outside GitHub Actions."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [git, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def confirm(auto_approve: bool, out: View) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise ReconcilerError(
            "apply needs confirmation, and there is no terminal to ask in",
            hint="pass --auto-approve, or apply a saved plan: 'reconciler plan --out plan.json' "
            "then 'reconciler apply plan.json'",
        )
    out.line("Do you want to perform these actions? Only 'yes' will be accepted.")
    answer = click.prompt("  Enter a value", default="", show_default=False)
    if answer.strip() != "yes":
        raise ReconcilerError("apply cancelled; nothing was changed")
