"""An approved plan (``apply --approved-plan``): read before anything is locked, compared
change by change with the fresh plan before anything is written."""

from __future__ import annotations

import json
from typing import Any

from reconciler.cli.files import read_document
from reconciler.diagnostics import ReconcilerError
from reconciler.plan import saved
from reconciler.plan.model import Plan


def read_approved(path: str) -> dict[str, Any]:
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


def check_approved(path: str, approved: dict[str, Any], plan: Plan) -> None:
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
