"""``reconciler apply``: make the project match the manifests, or apply a saved plan."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import FrameType
from typing import Any

import click

from reconciler import audit
from reconciler.apply import DEFAULT_BREAKER, DEFAULT_CONCURRENCY, ApplyResult, apply_plan
from reconciler.cli import saved_apply
from reconciler.cli.common import (
    deadline_after,
    now,
    parse_timeout,
    timeout_option,
)
from reconciler.cli.context import PruneArgs, TargetArgs, build, prune_options, target_options
from reconciler.cli.files import check_writable, read_document, write_json
from reconciler.cli.planning import (
    duration_text,
    load_checked,
    locator,
    plan_live,
    refuse_held_back,
    source_locator,
    stack_lock,
)
from reconciler.diagnostics import ReconcilerError
from reconciler.live.factory import open_backend
from reconciler.live.locking import STALE_SECONDS, Lease
from reconciler.manifest.sources import MANIFEST_SUFFIXES
from reconciler.plan import saved
from reconciler.plan.model import Plan
from reconciler.views import factory, progress
from reconciler.views.base import View


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@target_options
@prune_options
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    help="Changes in flight at once.",
)
@click.option(
    "--max-failures",
    type=click.IntRange(min=0),
    default=DEFAULT_BREAKER,
    show_default=True,
    help="Stop starting changes after this many consecutive failures (0: never).",
)
@click.option(
    "--approved-plan",
    type=click.Path(dir_okay=False, exists=True),
    default=None,
    help="A plan JSON (from plan --json-out) that reviewers approved: refuse, changing nothing, "
    "unless the new plan makes exactly the same changes.",
)
@click.option(
    "--audit-out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write a JSON audit record (commit, actor, run, plan, per-change result) here.",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(factory.FORMATS),
    default=None,
    help="text (default), json (prints the audit record), markdown, or github (default "
    "under GitHub Actions).",
)
@click.option(
    "--lock-timeout",
    default="0",
    show_default=True,
    metavar="DURATION",
    help="Wait this long (e.g. 5m) for another apply of the same stack to finish, instead of "
    "failing at once (the embedded project and the emulator hold one lock per stack).",
)
@timeout_option("60m", "nothing new starts after it, and changes in flight are reported")
def apply(
    *,
    paths: tuple[str, ...],
    target: TargetArgs,
    pruning: PruneArgs,
    auto_approve: bool,
    concurrency: int,
    max_failures: int,
    approved_plan: str | None,
    audit_out: str | None,
    output: str | None,
    lock_timeout: str,
    timeout: str,
) -> int:
    """Apply the manifests (re-plans, then asks), or a saved plan: 'apply PLANFILE'.

    Without a terminal, apply needs --auto-approve or a saved plan. Deletes run last, and only
    when pruning (--prune, or the configured prune policy for the configured manifests).
    Immediately before each write the routine is read again: a routine changed since the plan
    is a conflict and is not written; a write whose outcome is unknown is read back. One apply
    per stack holds a lock on the embedded project and the emulator (--lock-timeout waits for
    it). Exit code 0 when every change succeeded, 1 otherwise (also on a conflict, when the
    --timeout passed, or when the mass-delete guard held deletes back). Ctrl-C or SIGTERM
    starts nothing new, waits for the changes in flight and exits 130; a second one stops
    waiting.
    """
    out = factory.make(output)
    limit = parse_timeout(timeout, "--timeout")
    deadline = deadline_after(limit)
    wait = parse_timeout(lock_timeout, "--lock-timeout", zero="fail at once") or 0.0
    if audit_out:
        check_writable(audit_out)
    saved_file = paths[0] if len(paths) == 1 and _is_plan_file(paths[0]) else None
    if saved_file:
        saved_apply.refuse_options(target, pruning, approved_plan)
    approved = _read_approved(approved_plan) if approved_plan else {}
    with ExitStack() as held:
        if saved_file:
            plan, backend, lease = saved_apply.load(
                saved_file, target, out, held, wait=wait, limit=limit, deadline=deadline
            )
            _preview(plan, out)
            locate = source_locator()
        else:
            ctx = build(target, paths, pruning)
            loaded = load_checked(ctx, out)
            backend = held.enter_context(open_backend(ctx.endpoint, writable=True))
            lease = held.enter_context(stack_lock(backend, ctx.stack, wait, deadline, out))
            plan = plan_live(ctx, loaded, backend, out, timeout=limit, deadline=deadline)
            locate = locator(loaded)
            _preview(plan, out)
            if approved_plan:
                _check_approved(approved_plan, approved, plan)
            if plan.has_changes:
                _confirm(auto_approve or approved_plan is not None, out)
        started = now()
        watch = progress.ApplyProgress(out.human, len(plan.pending), out.progress)
        with _interrupts(out) as stop, _losing(lease, stop), progress.shown(watch):
            result = apply_plan(
                plan,
                backend,
                concurrency=concurrency,
                max_consecutive_failures=max_failures,
                on_result=watch.on_result,
                on_start=watch.on_start,
                locate=locate,
                stop=stop,
                deadline=deadline,
            )
    document = audit.record(
        plan, result, audit.run_context(os.environ, _git_commit()), started, now()
    )
    out.apply_record(document)
    try:
        if lease.lost.is_set():
            out.apply_summary(result, held_back=len(plan.held_back))
            raise _lost(plan.stack)
        return _finish(plan, result, out, limit)
    finally:
        if audit_out:
            write_json(audit_out, document)


@contextmanager
def _losing(lease: Lease, stop: threading.Event) -> Iterator[None]:
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


def _lost(stack: str) -> ReconcilerError:
    return ReconcilerError(
        f"this apply lost the lock of stack {stack}: it stalled for longer than "
        f"{int(STALE_SECONDS)} s and another apply took the lock over; nothing new was started",
        hint="run plan to see where the project stands",
    )


@contextmanager
def _interrupts(out: View) -> Iterator[threading.Event]:
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


def _git_commit() -> str | None:
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


def _is_plan_file(path: str) -> bool:
    """A saved plan is an existing file not named like a manifest (a path that does not exist
    is a manifest path, reported as missing)."""
    exists = os.path.lexists(path)
    return exists and not path.endswith(MANIFEST_SUFFIXES) and not os.path.isdir(path)


def _confirm(auto_approve: bool, out: View) -> None:
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


def _read_approved(path: str) -> dict[str, Any]:
    """The approved plan document, read before anything is locked or planned."""
    try:
        approved = json.loads(read_document(path, "approved plan"))
    except ValueError as err:
        raise ReconcilerError(
            f"refusing to apply: cannot use approved plan {path}: {err}"
        ) from None
    if not isinstance(approved, dict):
        raise ReconcilerError(
            f"refusing to apply: cannot use approved plan {path}: not a plan JSON document"
        )
    return approved


def _check_approved(path: str, approved: dict[str, Any], plan: Plan) -> None:
    """Refuse (writing nothing) unless ``plan`` is the approved one."""
    try:
        saved.check_approved_scope(approved, plan)
        differ = saved.unapproved_changes(approved, plan)
    except (OSError, ValueError, AttributeError, KeyError, TypeError) as err:
        raise ReconcilerError(
            f"refusing to apply: cannot use approved plan {path}: {err}"
        ) from None
    if differ:
        raise ReconcilerError(
            f"refusing to apply: the plan differs from the approved plan for {', '.join(differ)} "
            "(the project or the manifests changed since approval); nothing was changed",
            hint="plan again and have the new plan approved",
        )


def _preview(plan: Plan, out: View) -> None:
    """The plan before applying it (with --output json it is part of the audit record)."""
    out.preview(plan)


def _finish(plan: Plan, result: ApplyResult, out: View, limit: float | None) -> int:
    """Exit 0 only when every change succeeded and no delete waits behind the guard; 130 when
    interrupted, 1 when the --timeout passed (after saying what was done)."""
    if plan.has_changes:
        out.apply_summary(result, held_back=len(plan.held_back))
    if result.timed_out:
        raise ReconcilerError(
            f"apply stopped: the --timeout of {duration_text(limit)} passed; nothing new was "
            "started, and changes still in flight may or may not have taken effect",
            hint="run plan to see where the project stands",
        )
    if result.interrupted:
        raise ReconcilerError(
            "apply was interrupted: changes already sent may have taken effect; nothing new "
            "was started",
            hint="run plan to see where the project stands",
            exit_code=130,
        )
    refuse_held_back(plan)
    return 0 if result.ok else 1
