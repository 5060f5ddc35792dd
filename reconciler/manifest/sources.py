"""Finding manifest files and reading them as text, with every failure as a diagnostic.

Only regular files are read (a symbolic link to one is fine).  A FIFO, socket or device would
block ``open`` or never end, so a folder walk skips one with a warning and a path given by name
is an error; the check uses ``stat`` (never ``open``), and the file is then opened non-blocking
and checked again with ``fstat`` in case it was replaced in between.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from reconciler.diagnostics import Diagnostic, error, warning
from reconciler.manifest.project_walk import skipped, warning_for

MAX_FILE_BYTES = 1024 * 1024
MANIFEST_SUFFIXES = (".yaml", ".yml")
CONFIG_NAMES = ("reconciler.yaml", "reconciler.yml")
PROJECT_FILES = ("azure.yaml", "azure.yml")  # azd's project file, in azd's order of preference


@dataclass(frozen=True)
class SourceText:
    """A manifest file's decoded text and the SHA-256 of its bytes."""

    path: str
    text: str
    sha256: str


def discover(paths: list[str]) -> tuple[list[str], list[Diagnostic]]:
    """Manifest files under ``paths``: files as given, directories searched recursively.

    Directory walks take ``*.yaml``/``*.yml`` regular files, skip hidden entries and the project
    configuration file (and, with a warning, anything that is not a regular file), and never
    follow symbolic links to directories.  A folder holding azd's ``azure.yaml`` (or
    ``azure.yml``) is an azd project: only that file is taken from it (its routine services, and
    the ``$ref`` files they name), not the other YAML files of the project; a manifest or azd
    project below it that no path given reads is a warning at that file.  The result is
    sorted and free of duplicates so that every run sees the files in the same order.
    """
    found: list[str] = []
    problems: list[Diagnostic] = []
    projects: list[str] = []
    for raw in paths:
        mode = file_mode(raw)
        if mode is not None and stat.S_ISDIR(mode):
            inside = _walk(Path(raw), problems, projects)
            if not inside:
                problems.append(
                    warning("no manifest files (*.yaml, *.yml) in this folder", file=raw)
                )
            found.extend(inside)
        elif mode is None:
            problems.append(error("no such file or directory", file=raw))
        elif stat.S_ISREG(mode):
            found.append(str(Path(raw)))
        else:
            problems.append(error(not_regular(mode), file=raw))
    unique = sorted(set(found), key=lambda p: (os.path.dirname(p), os.path.basename(p)))
    return unique, problems + _unread(projects, unique)


def _unread(projects: list[str], found: list[str]) -> list[Diagnostic]:
    """A warning at each azd project file a walk took alone, naming the manifests and azd
    projects under its folder that no path given reads (``project_walk``)."""
    read = {os.path.abspath(path) for path in found}
    warnings: list[Diagnostic] = []
    for project in dict.fromkeys(projects):
        under = skipped(os.path.dirname(project), PROJECT_FILES, CONFIG_NAMES)
        missed = [(path, kind) for path, kind in under if os.path.abspath(path) not in read]
        if missed:
            warnings.append(warning_for(project, missed))
    return warnings


def file_mode(path: str) -> int | None:
    """``st_mode`` of ``path`` (following symbolic links); None when it does not exist.  A path
    that cannot be examined counts as a file, so that reading it reports why."""
    try:
        return os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None
    except OSError:
        return stat.S_IFREG


def not_regular(mode: int) -> str:
    """Why a path with ``mode`` is not read: ``not a regular file (a FIFO)``."""
    kinds = (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a folder"),
    )
    kind = next((name for test, name in kinds if test(mode)), "not a file")
    return f"not a regular file ({kind})"


def is_project_file(path: str) -> bool:
    """Whether ``path`` is named like azd's project file (``azure.yaml``, ``azure.yml``)."""
    return os.path.basename(path) in PROJECT_FILES


def _walk(root: Path, problems: list[Diagnostic], projects: list[str]) -> list[str]:
    files: list[str] = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        project = next((n for n in PROJECT_FILES if n in names), None)
        if project is not None:  # an azd project: its azure.yaml is the source
            files.append(os.path.join(folder, project))
            projects.append(os.path.join(folder, project))
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or name in CONFIG_NAMES or not name.endswith(MANIFEST_SUFFIXES):
                continue
            path = os.path.join(folder, name)
            mode = file_mode(path)
            if mode is None or stat.S_ISREG(mode):  # a broken link is reported when read
                files.append(path)
            else:
                problems.append(warning(f"{not_regular(mode)}; skipped", file=path))
    return files


class ReadError(Exception):
    """A file that cannot be read safely; the message is one line (without the path)."""


def read_regular(path: str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes. Opening never blocks
    (``O_NONBLOCK``, then ``fstat``), so a FIFO or device is refused, never read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except (OSError, ValueError) as err:
        raise ReadError(f"cannot read file: {_reason(err)}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ReadError(not_regular(info.st_mode))
        if info.st_size > limit:
            raise ReadError(_too_big(info.st_size, limit))
        data = _read_at_most(fd, limit + 1)
    except OSError as err:
        raise ReadError(f"cannot read file: {_reason(err)}") from None
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew after fstat
        raise ReadError(_too_big(len(data), limit))
    return data


def read_text(path: str) -> tuple[SourceText | None, Diagnostic | None]:
    """Read one manifest: regular files only, size limit, binary check and strict UTF-8, each
    as a diagnostic."""
    try:
        data = read_regular(path, MAX_FILE_BYTES)
    except ReadError as err:
        message = str(err)
        if message.startswith("file is "):
            message += " (split it into several files)"
        return None, error(message, file=path)
    return _decode(path, data)


def _reason(err: Exception) -> str:
    return (err.strerror if isinstance(err, OSError) else None) or str(err)


def _too_big(size: int, limit: int) -> str:
    return f"file is {size} bytes; the limit is {limit} bytes"


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _decode(path: str, data: bytes) -> tuple[SourceText | None, Diagnostic | None]:
    if b"\x00" in data:
        line, col = _position(data, data.index(b"\x00"))
        return None, error(
            "binary file (contains NUL bytes), not a YAML manifest", file=path, line=line, col=col
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line, col = _position(data, err.start)
        return None, error(
            f"not valid UTF-8 (byte 0x{data[err.start]:02x}); save the file as UTF-8",
            file=path,
            line=line,
            col=col,
        )
    if not text.strip() or all(_is_blank(line) for line in text.splitlines()):
        return None, error(
            "file is empty: a manifest needs a top-level 'routines:' list", file=path, line=1, col=1
        )
    return SourceText(path, text, hashlib.sha256(data).hexdigest()), None


def _is_blank(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#") or stripped in ("---", "...")


def _position(data: bytes, offset: int) -> tuple[int, int]:
    before = data[:offset]
    line = before.count(b"\n") + 1
    col = offset - (before.rfind(b"\n") + 1) + 1
    return line, col
