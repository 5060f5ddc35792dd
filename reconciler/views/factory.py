"""Pick the view once: ``--output`` when given, else ``github`` under GitHub Actions, else text.

The chosen view is also remembered as the active one, so that a failure raised anywhere in a
command is reported in the same format (``cli/main.py``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from reconciler.views.base import View
from reconciler.views.documents import JsonView, MarkdownView
from reconciler.views.formats import FORMATS
from reconciler.views.github import GitHubView
from reconciler.views.human import HumanView

__all__ = ["FORMATS", "View", "active", "make", "resolve"]

_active: list[View] = []


def resolve(output: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The format name: explicit, else ``github`` under GitHub Actions, else ``text``."""
    if output:
        return output
    env = os.environ if environ is None else environ
    return "github" if env.get("GITHUB_ACTIONS") == "true" else "text"


def make(output: str | None) -> View:
    """The view for ``--output`` (remembered as the active view)."""
    chosen = resolve(output)
    classes: dict[str, type[HumanView]] = {
        "text": HumanView,
        "json": JsonView,
        "markdown": MarkdownView,
        "github": GitHubView,
    }
    view: View = classes[chosen]()
    _active[:] = [view]
    return view


def active() -> View:
    """The view the running command chose (the default one before it chose)."""
    return _active[0] if _active else make(None)
