"""``reconciler init``: the files of a new routines repository and what to do next.

The templates are package data (``templates/``); ``render`` fills them in and ``guide`` writes
the next steps. Every link to this project's release (the schemas, the reusable workflows, the
pre-commit hook) points at the tag of the installed version, so a generated repository is
pinned to the version that generated it. The schema URL has one definition,
``reconciler.manifest.editor_schema.schema_url`` (the published schema's ``$id``), re-exported
here; the other links are built here from ``REPOSITORY`` and ``__version__``.
"""

from __future__ import annotations

from reconciler import REPOSITORY, __version__
from reconciler.manifest.editor_schema import schema_url

__all__ = ["release_tag", "repository_url", "schema_url", "workflow_ref"]


def release_tag() -> str:
    """The git tag of this release: ``v<version>``."""
    return f"v{__version__}"


def workflow_ref(job: str) -> str:
    """The ``uses:`` of this release's reusable workflow ``reconciler-<job>.yml`` (plan,
    apply or drift)."""
    return f"{REPOSITORY}/.github/workflows/reconciler-{job}.yml@{release_tag()}"


def repository_url() -> str:
    """The GitHub repository that publishes releases (the pre-commit hook's ``repo:``)."""
    return f"https://github.com/{REPOSITORY}"
