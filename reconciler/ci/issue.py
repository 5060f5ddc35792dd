"""The drift tracking issue: one open issue per environment, found by its label and its title
``Drift detected in <env>`` (or ``Unhealthy routines in <env>``, when only the routines'
health fails: ``reconciler status`` exit 2).

| drifted or unhealthy | open issue | action |
| --- | --- | --- |
| yes | no | create it (labelled), body = the drift report and/or the health report |
| yes | yes | replace its title and body with the new reports |
| no | yes | comment "Back in sync" and close it as completed |
| no | no | nothing |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.ci.comment import fit
from reconciler.ci.github import GitHub, html_url


@dataclass(frozen=True)
class Tracked:
    """What ``track`` did (``created``, ``updated``, ``closed`` or ``none``) and the issue."""

    action: str
    number: int | None = None
    url: str = ""


def title(environment: str, *, drifted: bool = True) -> str:
    """``Drift detected in <env>``; ``Unhealthy routines in <env>`` for health alone."""
    return f"Drift detected in {environment}" if drifted else f"Unhealthy routines in {environment}"


def find_open(gh: GitHub, repo: str, label: str, environment: str) -> dict[str, Any] | None:
    """The open issue (not pull request) with ``label`` and one of the environment's titles."""
    wanted = {title(environment), title(environment, drifted=False)}
    query = {"state": "open", "labels": label}
    for item in gh.paginate(f"/repos/{repo}/issues", query):
        if isinstance(item, dict) and "pull_request" not in item and item.get("title") in wanted:
            return item
    return None


def body(report: str, warning: str, run: str) -> str:
    """The issue body: the schedule warning (if any), the report, and which run checked."""
    parts = [warning.strip()] if warning.strip() else []
    parts.append(report.rstrip())
    checked = f"_Last checked by {run}_" if run else "_Last checked by the drift workflow_"
    return fit("\n\n".join(parts) + f"\n\n{checked}\n", hint="the drift-* artifact of the run")


def track(
    gh: GitHub,
    repo: str,
    environment: str,
    *,
    drifted: bool,
    report: str,
    unhealthy: bool = False,
    health: str = "",
    label: str = "drift",
    run: str = "",
    warning: str = "",
) -> Tracked:
    """Open, update or close the environment's tracking issue (``health``: the status report,
    shown when ``unhealthy``)."""
    existing = find_open(gh, repo, label, environment)
    if drifted or unhealthy:
        reports = [text for text, shown in ((report, drifted), (health, unhealthy)) if shown]
        text = gh.scrub(body("\n\n".join(r.rstrip() for r in reports), warning, run))
        named = title(environment, drifted=drifted)
        if existing is not None:
            path = f"/repos/{repo}/issues/{existing['number']}"
            changes = (
                {"body": text} if existing.get("title") == named else {"title": named, "body": text}
            )
            done = gh.request("PATCH", path, changes)
            return Tracked("updated", int(existing["number"]), html_url(done, existing))
        new = {"title": named, "body": text, "labels": [label]}
        done = gh.request("POST", f"/repos/{repo}/issues", new)
        return Tracked("created", int(done["number"]), html_url(done, {}))
    if existing is None:
        return Tracked("none")
    number = int(existing["number"])
    note = f"Back in sync (checked by {run})." if run else "Back in sync."
    if warning.strip():
        note = f"{warning.strip()}\n\n{note}"
    gh.request("POST", f"/repos/{repo}/issues/{number}/comments", {"body": gh.scrub(note)})
    closing = {"state": "closed", "state_reason": "completed"}
    done = gh.request("PATCH", f"/repos/{repo}/issues/{number}", closing)
    return Tracked("closed", number, html_url(done, existing))
