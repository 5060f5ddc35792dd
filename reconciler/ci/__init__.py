"""GitHub glue for the action and the reusable workflows: ``python -m reconciler.ci``.

The sticky pull-request comment, the drift tracking issue, step outputs, the check that the
scheduled drift workflow still runs, and the release's tag checks. Everything here uses the
standard library only (``urllib`` for the REST API), so it runs from a source checkout before
the reconciler's dependencies are installed (``release.yml`` does that). The API base is
``$GITHUB_API_URL`` and the token ``$GITHUB_TOKEN``; the token is never printed.
"""

from __future__ import annotations


class CIError(Exception):
    """An error reported as one line (``error: ...``), exit code 1."""
