"""The sticky pull-request comment: one comment per marker, updated in place on every run.

A comment is ours when its body starts with ``<!-- MARKER -->`` and the bot user this token
acts as wrote it. Another user's comment with the same marker is never touched. Every page of
the pull request's comments is searched, so an old comment is found however long the thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from reconciler.ci import CIError
from reconciler.ci.github import GitHub, GitHubError, html_url

BODY_LIMIT = 65_536
"""GitHub refuses comment and issue bodies longer than this (characters)."""
ACTIONS_BOT = "github-actions[bot]"
"""The author of comments made with a workflow's ``GITHUB_TOKEN``."""
_MARKER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")


@dataclass(frozen=True)
class Posted:
    """What ``sticky`` did: ``created`` or ``updated``, and the comment's page."""

    action: str
    url: str


def marker_line(marker: str) -> str:
    if not _MARKER.match(marker):
        raise CIError(f"marker {marker!r} is not valid (letters, digits, '-', '_', '.', ':', '/')")
    return f"<!-- {marker} -->"


def with_marker(marker: str, body: str) -> str:
    """``body`` starting with the marker line (added when it is not already its first line)."""
    line = marker_line(marker)
    return body if body.startswith(line) else f"{line}\n{body}"


def fit(body: str, limit: int = BODY_LIMIT, hint: str = "the workflow run's log") -> str:
    """``body`` cut at a line boundary, with a note, when it is longer than GitHub allows."""
    if len(body) <= limit:
        return body
    note = f"\n\n> **Truncated**: too long for GitHub ({limit:,} characters); see {hint}.\n"
    head = body[: limit - len(note)]
    cut = head.rfind("\n")
    return (head[:cut] if cut > 0 else head) + note


def author(gh: GitHub, given: str | None = None) -> str:
    """The login whose comments count as ours: ``given``; else the token's own user
    (``GET /user`` answers for personal tokens); else, for a workflow's ``GITHUB_TOKEN``
    (which ``GET /user`` refuses), ``github-actions[bot]``."""
    if given:
        return given
    try:
        user = gh.request("GET", "/user")
    except GitHubError as err:
        if err.status in (401, 403, 404):
            return ACTIONS_BOT
        raise
    login = user.get("login") if isinstance(user, dict) else None
    return str(login) if login else ACTIONS_BOT


def find(gh: GitHub, repo: str, number: int, marker: str, login: str) -> dict[str, Any] | None:
    """The first comment on ``number`` that starts with the marker and ``login`` wrote."""
    line = marker_line(marker)
    for item in gh.paginate(f"/repos/{repo}/issues/{number}/comments"):
        if not isinstance(item, dict):
            continue
        user = item.get("user") or {}
        body = item.get("body") or ""
        if str(user.get("login", "")).lower() == login.lower() and body.startswith(line):
            return item
    return None


def sticky(
    gh: GitHub, repo: str, number: int, *, marker: str, body: str, login: str | None = None
) -> Posted:
    """Create the marker's comment on pull request ``number``, or update the one there is."""
    text = gh.scrub(fit(with_marker(marker, body)))
    existing = find(gh, repo, number, marker, author(gh, login))
    if existing is not None:
        done = gh.request(
            "PATCH", f"/repos/{repo}/issues/comments/{existing['id']}", {"body": text}
        )
        return Posted("updated", html_url(done, existing))
    done = gh.request("POST", f"/repos/{repo}/issues/{number}/comments", {"body": text})
    return Posted("created", html_url(done, {}))
