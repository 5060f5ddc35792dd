"""Finding manifest files and reading them as text, with every failure as a diagnostic."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from reconciler.diagnostics import Diagnostic, error, warning

MAX_FILE_BYTES = 1024 * 1024
MANIFEST_SUFFIXES = (".yaml", ".yml")
CONFIG_NAMES = ("reconciler.yaml", "reconciler.yml")


@dataclass(frozen=True)
class SourceText:
    """A manifest file's decoded text and the SHA-256 of its bytes."""

    path: str
    text: str
    sha256: str


def discover(paths: list[str]) -> tuple[list[str], list[Diagnostic]]:
    """Manifest files under ``paths``: files as given, directories searched recursively.

    Directory walks take ``*.yaml``/``*.yml`` files, skip hidden entries and the project
    configuration file, and never follow symbolic links to directories.  The result is sorted
    and free of duplicates so that every run sees the files in the same order.
    """
    found: list[str] = []
    problems: list[Diagnostic] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = _walk(path)
            if not inside:
                problems.append(
                    warning("no manifest files (*.yaml, *.yml) in this folder", file=raw)
                )
            found.extend(inside)
        elif path.is_file():
            found.append(str(path))
        else:
            problems.append(error("no such file or directory", file=raw))
    unique = sorted(set(found), key=lambda p: (os.path.dirname(p), os.path.basename(p)))
    return unique, problems


def _walk(root: Path) -> list[str]:
    files: list[str] = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith(".") or name in CONFIG_NAMES:
                continue
            if name.endswith(MANIFEST_SUFFIXES):
                files.append(os.path.join(folder, name))
    return files


def read_text(path: str) -> tuple[SourceText | None, Diagnostic | None]:
    """Read one manifest: size limit, binary check and strict UTF-8, each as a diagnostic."""
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            return None, error(
                f"file is {size} bytes; the limit is {MAX_FILE_BYTES} bytes "
                "(split it into several files)",
                file=path,
            )
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        return None, error(f"cannot read file: {err.strerror or err}", file=path)
    return _decode(path, data)


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
