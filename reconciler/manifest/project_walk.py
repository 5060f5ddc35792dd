"""What a folder walk leaves unread because a folder is an azd project.

From a folder holding ``azure.yaml`` only that file is read (and the ``$ref`` files it names),
so a manifest beside it (``manifests/m.yaml``) or another azd project below it
(``apps/bot/azure.yaml``) is silently not part of the plan, and ``--prune`` would delete their
routines. ``skipped`` finds those files: a YAML file with a top-level ``routines:`` key (a
manifest) and a nested ``azure.yaml`` that declares routine services; other YAML (azd's
``infra/``, agent definitions, ``$ref`` files) is not worth a warning. A file is recognised by
its text (a line ``routines:`` at column 0; the routine host named), without parsing it.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Collection
from typing import Final

from reconciler.diagnostics import Diagnostic, warning

MAX_EXAMINED: Final = 2000  # YAML files read to decide, per project folder
MAX_SHOWN: Final = 5
SNIFF_BYTES: Final = 256 * 1024
_MANIFEST = re.compile(r"^routines\s*:", re.MULTILINE)
_ROUTINE_HOST = "azure.ai.routine"


Skipped = list[tuple[str, str]]  # (path, "a manifest" | "an azd project")


def skipped(folder: str, project_files: Collection[str], config_names: Collection[str]) -> Skipped:
    """The manifests and routine-declaring azd projects under the azd project ``folder`` that a
    walk does not read (paths joined to ``folder`` and normalized, in walk order)."""
    found: Skipped = []
    examined = 0
    for here, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        nested = next((n for n in project_files if n in names), None)
        if here != folder and nested is not None:
            dirs[:] = []
            examined += 1
            if _holds(os.path.join(here, nested), _ROUTINE_HOST):
                found.append((os.path.normpath(os.path.join(here, nested)), "an azd project"))
            continue
        for name in sorted(names):
            if examined >= MAX_EXAMINED:
                return found
            if _ignored(name, here == folder, project_files, config_names):
                continue
            examined += 1
            path = os.path.join(here, name)
            if _holds(path, None):
                found.append((os.path.normpath(path), "a manifest"))
    return found


def _ignored(
    name: str, root: bool, project_files: Collection[str], config_names: Collection[str]
) -> bool:
    if name.startswith(".") or name in config_names or not name.endswith((".yaml", ".yml")):
        return True
    return root and name in project_files


def _holds(path: str, needle: str | None) -> bool:
    """Whether the regular file ``path`` names ``needle`` (None: has a top-level routines:)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, "rb") as handle:
            text = handle.read(SNIFF_BYTES).decode("utf-8", "replace")
    except OSError:
        return False
    return _MANIFEST.search(text) is not None if needle is None else needle in text


def warning_for(project: str, missed: Skipped) -> Diagnostic:
    """The warning at ``project`` (an azure.yaml) naming the files ``missed``."""
    shown = [f"{path} ({kind})" for path, kind in missed[:MAX_SHOWN]]
    more = f" and {len(missed) - MAX_SHOWN} more" if len(missed) > MAX_SHOWN else ""
    example = " ".join([os.path.dirname(project) or ".", *(path for path, _ in missed[:2])])
    return warning(
        f"this folder is an azd project, so only {os.path.basename(project)} is read (and its "
        f"$ref files); not read: {', '.join(shown)}{more}; to include them, give them as paths "
        f"too (e.g. `{example}`) or list them under manifests: in reconciler.yaml",
        file=project,
    )
