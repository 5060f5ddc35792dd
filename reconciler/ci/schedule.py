"""Is the scheduled drift check still running? GitHub delays scheduled runs under load, may drop
them, and disables the schedule of a public repository after 60 days without activity. A run
(scheduled or by hand) looks up the previous *successful scheduled* run of its workflow and
warns when it is older than twice the expected interval."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.ci import CIError
from reconciler.ci.github import GitHub

_WORKFLOW_FILE = re.compile(r"^[A-Za-z0-9_.-]+\.ya?ml$")


@dataclass(frozen=True)
class Freshness:
    """The previous successful scheduled run (None: there is none) and the verdict."""

    workflow: str
    expected: timedelta
    previous: datetime | None
    url: str
    stale: bool

    def age(self, now: datetime) -> timedelta | None:
        return None if self.previous is None else now - self.previous


def workflow_file(ref: str) -> str:
    """``drift.yml`` from ``owner/repo/.github/workflows/drift.yml@refs/heads/main``
    (``$GITHUB_WORKFLOW_REF``: in a reusable workflow, the *calling* workflow), or a file name
    or a numeric workflow id as given."""
    path = ref.split("@", 1)[0].rstrip("/")
    name = path.rsplit("/", 1)[-1]
    if name.isdigit() or _WORKFLOW_FILE.match(name):
        return name
    raise CIError(f"cannot tell the workflow from {ref!r}: pass --workflow FILE.yml")


def check(
    gh: GitHub, repo: str, workflow: str, interval_hours: float, now: datetime | None = None
) -> Freshness:
    """The last successful scheduled run of ``workflow``; stale when it started more than
    2 x ``interval_hours`` before ``now``."""
    if interval_hours <= 0:
        raise CIError(f"the expected interval must be positive, not {interval_hours:g} hours")
    expected = timedelta(hours=interval_hours)
    query: dict[str, str | int] = {"status": "success", "event": "schedule", "per_page": 1}
    answer = gh.request("GET", f"/repos/{repo}/actions/workflows/{workflow}/runs", query=query)
    runs = answer.get("workflow_runs") if isinstance(answer, dict) else None
    if not isinstance(runs, list):
        raise CIError(f"GitHub API: the runs of {workflow} came back without workflow_runs")
    if not runs:
        return Freshness(workflow, expected, None, "", stale=False)
    started = _started(runs[0])
    current = now or datetime.now(UTC)
    url = str(runs[0].get("html_url") or "")
    return Freshness(workflow, expected, started, url, stale=current - started > 2 * expected)


def _started(run: Any) -> datetime:
    text = run.get("run_started_at") or run.get("created_at") if isinstance(run, dict) else None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise CIError(f"GitHub API: a workflow run has no valid start time ({text!r})") from None


def hours(delta: timedelta) -> str:
    total = delta.total_seconds() / 3600
    return f"{total / 24:.1f} days" if total >= 48 else f"{total:.0f} hours"


def message(result: Freshness, now: datetime | None = None) -> str:
    """One line for the log: the verdict and, when stale, why it matters."""
    current = now or datetime.now(UTC)
    every = hours(result.expected)
    if result.previous is None:
        return (
            f"No earlier successful scheduled run of {result.workflow} (expected every {every}); "
            "nothing to compare yet."
        )
    age = hours(current - result.previous)
    when = result.previous.strftime("%Y-%m-%d %H:%M UTC")
    if not result.stale:
        return f"The previous successful scheduled run of {result.workflow} was {age} ago ({when})."
    return (
        f"The previous successful scheduled run of {result.workflow} started {age} ago ({when}), "
        f"more than twice the expected interval of {every}: GitHub delays or drops scheduled "
        "runs under load, and disables the schedule of a public repository after 60 days "
        "without activity. Drift may have gone unnoticed in between; check that the workflow "
        "is enabled (gh workflow enable) and see docs/gitops.md, 'The 60-day rule'."
    )


def markdown(result: Freshness, now: datetime | None = None) -> str:
    """The warning as a GitHub alert block (job summary and tracking issue); '' when fresh."""
    if not result.stale:
        return ""
    text = message(result, now)
    if result.url:
        text += f" Last one: {result.url}"
    return f"> [!WARNING]\n> **The scheduled drift check is late.** {text}\n"
