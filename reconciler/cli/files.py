"""Writing output files: private ones (saved plans) readable by the owner only.

Every failure is a ``ReconcilerError`` naming the path (``cannot write PATH: reason``), and a
path that exists but is not a regular file (a device such as ``/dev/null``, a folder, a symbolic
link) is refused rather than replaced or written through.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from typing import Any

from reconciler.diagnostics import ReconcilerError
from reconciler.manifest.sources import ReadError, read_regular


class OutputFileError(ReconcilerError):
    """An output file that cannot be written."""


def _fail(path: str, reason: str) -> OutputFileError:
    return OutputFileError(f"cannot write {path}: {reason}")


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _check_target(path: str) -> None:
    """Refuse an existing path that is not a regular file (checked without following links)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise _fail(path, _reason(error)) from None
    if stat.S_ISLNK(mode):
        raise _fail(path, "it is a symbolic link; give the real path")
    if not stat.S_ISREG(mode):
        raise _fail(path, "it exists and is not a regular file")


def make_folder(folder: str) -> None:
    """Create ``folder`` (and its parents) if needed, as a clear error when that fails."""
    if not folder:
        return
    try:
        os.makedirs(folder, exist_ok=True)
    except FileExistsError:
        raise _fail(folder, "it exists and is not a folder") from None
    except NotADirectoryError:
        raise _fail(folder, "part of the path is a file, not a folder") from None
    except OSError as error:
        raise _fail(folder, _reason(error)) from None


def _prepare(path: str) -> str:
    """Create the folder of ``path`` and refuse a target that is not a regular file; return
    the folder."""
    folder = os.path.dirname(path)
    make_folder(folder)
    _check_target(path)
    return folder


def check_writable(path: str) -> None:
    """Fail now, before any work is done, if ``path`` could not be written later: its folder is
    created, and a temporary file is made (and removed) next to it."""
    folder = _prepare(path)
    try:
        with tempfile.NamedTemporaryFile(dir=folder or ".", prefix=".reconciler-"):
            pass
    except OSError as error:
        raise _fail(path, _reason(error)) from None


def _replace(path: str, text: str, mode: int | None) -> None:
    """Write ``text`` to a temporary file beside ``path`` and move it into place, so a failed
    write never leaves a half-written file or removes the old one."""
    folder = _prepare(path)
    try:
        fd, temporary = tempfile.mkstemp(dir=folder or ".", prefix=".reconciler-")
    except OSError as error:
        raise _fail(path, _reason(error)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as error:
        _discard(temporary)
        raise _fail(path, _reason(error)) from None


def _discard(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def write_private(path: str, text: str) -> None:
    """Write ``text`` with mode 0600 (mkstemp creates it so; it is never wider, even briefly)."""
    _replace(path, text, None)


def write_text(path: str, text: str) -> None:
    """Write UTF-8 text (mode 0666 less the umask), creating the parent folder."""
    umask = os.umask(0)
    os.umask(umask)
    _replace(path, text, 0o666 & ~umask)


def write_json(path: str, document: dict[str, Any]) -> None:
    """Write a JSON document (pretty, UTF-8), creating the parent folder."""
    write_text(path, json.dumps(document, indent=2) + "\n")


PLAN_FILE_MAX = 256 * 1024 * 1024


def read_document(path: str, what: str) -> str:
    """The UTF-8 text of an input document (a saved plan, an approved plan, a plan JSON for
    render): a regular file of at most 256 MiB, opened without blocking; one clear line
    otherwise."""
    try:
        data = read_regular(path, PLAN_FILE_MAX)
    except ReadError as err:
        raise ReconcilerError(f"cannot use {what} {path}: {err}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReconcilerError(f"cannot use {what} {path}: it is not UTF-8 text") from None
