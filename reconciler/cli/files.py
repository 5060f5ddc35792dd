"""Writing output files: private ones (saved plans) readable by the owner only."""

from __future__ import annotations

import json
import os
from typing import Any


def write_private(path: str, text: str) -> None:
    """Write ``text`` with mode 0600, replacing any older file (never widening its mode)."""
    if os.path.lexists(path):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_text(path: str, text: str) -> None:
    """Write UTF-8 text, creating the parent folder."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_json(path: str, document: dict[str, Any]) -> None:
    """Write a JSON document (pretty, UTF-8), creating the parent folder."""
    write_text(path, json.dumps(document, indent=2) + "\n")
