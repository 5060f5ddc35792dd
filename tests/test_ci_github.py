"""``reconciler.ci`` against a real local HTTP server that plays the GitHub REST API.

``FakeGitHub`` implements the few endpoints the action and the workflows use, with GitHub's
paging (``per_page``/``page`` and ``Link`` headers, capped at a small page size so that a long
thread really spans pages), bearer tokens (a workflow token that ``GET /user`` refuses, and a
personal token that it answers), scripted faults, and a log of every request.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from reconciler import __version__
from reconciler.ci import CIError, comment, issue, outputs, release, schedule
from reconciler.ci.context import annotation, format_outputs, pull_request
from reconciler.ci.github import GitHub, GitHubError
from tests.conftest import REPO

ACTIONS_TOKEN = "ghs_workflowtoken0123456789"
PERSONAL_TOKEN = "ghp_personaltoken0123456789"
REPOSITORY = "contoso/routines"
REPO_PATH = f"/repos/{REPOSITORY}"
USERS = {
    ACTIONS_TOKEN: {"login": "github-actions[bot]", "type": "Bot"},
    PERSONAL_TOKEN: {"login": "octocat", "type": "User"},
}


class FakeGitHub:
    """A threaded HTTP server with the state of one repository."""

    def __init__(self, page_size: int = 3) -> None:
        self.page_size = page_size
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.issues: list[dict[str, Any]] = []
        self.runs: dict[str, list[dict[str, Any]]] = {}
        self.refs: dict[str, str] = {}
        self.requests: list[tuple[str, str, str]] = []
        self.faults: list[tuple[str, int, str]] = []  # (path part, status, message)
        self.next_link_host: str | None = None
        self._ids = iter(range(1000, 100_000))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeGitHub:
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def new_id(self) -> int:
        return next(self._ids)

    def add_comment(self, number: int, body: str, login: str, kind: str = "Bot") -> int:
        item = {"id": self.new_id(), "body": body, "user": {"login": login, "type": kind}}
        item["html_url"] = f"https://github.com/{REPOSITORY}/pull/{number}#c{item['id']}"
        self.comments.setdefault(number, []).append(item)
        return int(item["id"])

    def add_issue(
        self, title: str, labels: list[str], state: str = "open", pr: bool = False
    ) -> int:
        number = len(self.issues) + 1
        item: dict[str, Any] = {
            "number": number,
            "title": title,
            "body": "",
            "state": state,
            "labels": [{"name": n} for n in labels],
            "html_url": f"https://github.com/{REPOSITORY}/issues/{number}",
            "comments": [],
        }
        if pr:
            item["pull_request"] = {"url": "..."}
        self.issues.append(item)
        return number

    def env(self, token: str = ACTIONS_TOKEN, **extra: str) -> dict[str, str]:
        """The environment of a step that talks to this server."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_"))}
        return {
            **base,
            "GITHUB_API_URL": self.url,
            "GITHUB_TOKEN": token,
            "GITHUB_REPOSITORY": REPOSITORY,
            **extra,
        }


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_PATCH(self) -> None:
            self._dispatch("PATCH")

        def _dispatch(self, method: str) -> None:
            auth = self.headers.get("Authorization", "")
            fake.requests.append((method, self.path, auth))
            token = auth.removeprefix("Bearer ")
            if token not in USERS:
                return self._send(401, {"message": "Bad credentials"})
            for fault in fake.faults:
                if fault[0] in self.path:
                    fake.faults.remove(fault)
                    return self._send(fault[1], {"message": fault[2]})
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            status, doc, headers = _route(fake, method, parts.path, query, body, USERS[token])
            self._send(status, doc, headers)
            return None

        def _send(self, status: int, doc: Any, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(raw)

    return Handler


Answer = tuple[int, Any, dict[str, str]]


def _page(fake: FakeGitHub, path: str, items: list[Any], query: dict[str, str]) -> Answer:
    size = min(int(query.get("per_page", 30)), fake.page_size)
    page = int(query.get("page", 1))
    chunk = items[(page - 1) * size : page * size]
    headers = {}
    if page * size < len(items):
        host = fake.next_link_host or fake.url
        rest = {**query, "page": str(page + 1)}
        link = f"{host}{path}?" + "&".join(f"{k}={v}" for k, v in rest.items())
        headers["Link"] = f'<{link}>; rel="next"'
    return 200, chunk, headers


def _route(
    fake: FakeGitHub,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
    user: dict[str, str],
) -> Answer:
    if (method, path) == ("GET", "/user"):
        if user["type"] == "Bot":
            return 403, {"message": "Resource not accessible by integration"}, {}
        return 200, user, {}
    request = (fake, method, path, query, body, user)
    for handler in (_comments, _issues, _runs, _refs):
        answer = handler(*request)
        if answer is not None:
            return answer
    return 404, {"message": "Not Found"}, {}


def _comments(*request: Any) -> Answer | None:
    fake, method, path, query, body, user = request
    if match := re.fullmatch(rf"{REPO_PATH}/issues/(\d+)/comments", path):
        number = int(match.group(1))
        if method == "GET":
            return _page(fake, path, fake.comments.get(number, []), query)
        if number in fake.comments or number > 100:  # a pull request
            fake.add_comment(number, body["body"], user["login"], user["type"])
            return 201, fake.comments[number][-1], {}
        [found] = [i for i in fake.issues if i["number"] == number]
        found["comments"].append(body["body"])
        return 201, {"id": fake.new_id()}, {}
    if (match := re.fullmatch(rf"{REPO_PATH}/issues/comments/(\d+)", path)) and method == "PATCH":
        for item in (c for items in fake.comments.values() for c in items):
            if item["id"] == int(match.group(1)):
                item["body"] = body["body"]
                return 200, item, {}
        return 404, {"message": "Not Found"}, {}
    return None


def _issues(*request: Any) -> Answer | None:
    fake, method, path, query, body, _ = request
    if path == f"{REPO_PATH}/issues" and method == "POST":
        fake.add_issue(body["title"], body["labels"])
        fake.issues[-1]["body"] = body["body"]
        return 201, fake.issues[-1], {}
    if path == f"{REPO_PATH}/issues":
        label = query.get("labels", "")
        items = [
            i
            for i in fake.issues
            if i["state"] == query.get("state", "open")
            and (not label or label in {lab["name"] for lab in i["labels"]})
        ]
        return _page(fake, path, items, query)
    if (match := re.fullmatch(rf"{REPO_PATH}/issues/(\d+)", path)) and method == "PATCH":
        item = fake.issues[int(match.group(1)) - 1]
        item.update(body)
        return 200, item, {}
    return None


def _runs(*request: Any) -> Answer | None:
    fake, _, path, query, _, _ = request
    if match := re.fullmatch(rf"{REPO_PATH}/actions/workflows/([^/]+)/runs", path):
        runs = [
            r
            for r in fake.runs.get(match.group(1), [])
            if r["status"] == query.get("status") and r["event"] == query.get("event")
        ]
        return 200, {"total_count": len(runs), "workflow_runs": runs[:1]}, {}
    return None


def _refs(*request: Any) -> Answer | None:
    fake, method, path, _, body, _ = request
    if (match := re.fullmatch(rf"{REPO_PATH}/git/refs/tags/(.+)", path)) and method == "PATCH":
        if match.group(1) not in fake.refs:
            return 422, {"message": "Reference does not exist"}, {}
        fake.refs[match.group(1)] = body["sha"]
        return 200, {"ref": f"refs/tags/{match.group(1)}"}, {}
    if path == f"{REPO_PATH}/git/refs" and method == "POST":
        fake.refs[body["ref"].removeprefix("refs/tags/")] = body["sha"]
        return 201, {"ref": body["ref"]}, {}
    return None


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        yield server


def client(fake: FakeGitHub, token: str = ACTIONS_TOKEN) -> GitHub:
    return GitHub(fake.url, token, retries=1, backoff=0.01)


def ci(fake: FakeGitHub, *args: str, cwd: Path | None = None, **env: str) -> Any:
    """``python -m reconciler.ci ARGS`` in a subprocess, as a workflow step runs it."""
    return subprocess.run(
        [sys.executable, "-m", "reconciler.ci", *args],
        cwd=cwd or REPO,
        env=fake.env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


MARKER = "reconciler-plan"


# --- the sticky comment -------------------------------------------------------------------


def test_the_first_run_creates_the_comment_and_later_runs_update_it(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    body = tmp_path / "comment.md"
    for text in ("<!-- reconciler-plan -->\n## Plan one", "<!-- reconciler-plan -->\n## Plan two"):
        body.write_text(text)
        done = ci(fake, "comment", "--marker", MARKER, "--body-file", str(body), "--pr", "101")
        assert done.returncode == 0, done.stderr
    assert "created the <!-- reconciler-plan --> comment on #101" not in done.stdout
    assert done.stdout.startswith("updated the <!-- reconciler-plan --> comment on #101")
    [only] = fake.comments[101]
    assert only["body"] == "<!-- reconciler-plan -->\n## Plan two"
    assert only["user"]["login"] == "github-actions[bot]"
    methods = [m for m, p, _ in fake.requests if "/comments" in p and m != "GET"]
    assert methods == ["POST", "PATCH"]


def test_the_pull_request_number_comes_from_the_event_payload(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 107}}))
    body = tmp_path / "c.md"
    body.write_text("no marker yet")
    done = ci(
        fake, "comment", "--marker", "reconciler-plan:dev", "--body-file", str(body),
        GITHUB_EVENT_PATH=str(event),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert fake.comments[107][0]["body"] == "<!-- reconciler-plan:dev -->\nno marker yet"
    assert pull_request(None, {"GITHUB_EVENT_PATH": str(event)}) == 107
    event.write_text(json.dumps({"issue": {"number": 9, "pull_request": {}}}))
    assert pull_request(None, {"GITHUB_EVENT_PATH": str(event)}) == 9
    event.write_text(json.dumps({"issue": {"number": 9}}))  # a plain issue
    with pytest.raises(CIError, match="not a pull request event"):
        pull_request(None, {"GITHUB_EVENT_PATH": str(event)})


def test_a_marker_comment_by_another_user_is_not_touched(fake: FakeGitHub) -> None:
    theirs = fake.add_comment(
        102, "<!-- reconciler-plan -->\nquoted by a person", "mallory", "User"
    )
    gh = client(fake)
    done = comment.sticky(gh, REPOSITORY, 102, marker=MARKER, body="<!-- reconciler-plan -->\nx")
    assert done.action == "created"
    assert fake.comments[102][0]["id"] == theirs
    assert fake.comments[102][0]["body"] == "<!-- reconciler-plan -->\nquoted by a person"
    again = comment.sticky(gh, REPOSITORY, 102, marker=MARKER, body="y")
    assert again.action == "updated" and len(fake.comments[102]) == 2


def test_only_a_comment_that_starts_with_the_marker_is_ours(fake: FakeGitHub) -> None:
    fake.add_comment(103, "<!-- reconciler-plan:dev -->\n<!-- reconciler-plan -->", ACTIONS)
    fake.add_comment(103, "see <!-- reconciler-plan --> above", ACTIONS)
    done = comment.sticky(client(fake), REPOSITORY, 103, marker=MARKER, body="new")
    assert done.action == "created" and len(fake.comments[103]) == 3


ACTIONS = "github-actions[bot]"


def test_the_comment_is_found_beyond_the_first_page(fake: FakeGitHub) -> None:
    for i in range(7):
        fake.add_comment(104, f"discussion {i}", "someone", "User")
    ours = fake.add_comment(104, "<!-- reconciler-plan -->\nold plan", ACTIONS)
    done = comment.sticky(client(fake), REPOSITORY, 104, marker=MARKER, body="new plan")
    assert done.action == "updated"
    assert len(fake.comments[104]) == 8
    assert fake.comments[104][-1] == {
        "id": ours,
        "body": "<!-- reconciler-plan -->\nnew plan",
        "user": {"login": ACTIONS, "type": "Bot"},
        "html_url": f"https://github.com/{REPOSITORY}/pull/104#c{ours}",
    }
    pages = [p for m, p, _ in fake.requests if m == "GET" and "/issues/104/comments" in p]
    assert len(pages) == 3 and "page=3" in pages[-1]


def test_a_personal_token_matches_comments_of_its_own_user(fake: FakeGitHub) -> None:
    fake.add_comment(105, "<!-- reconciler-plan -->\nby the bot", ACTIONS)
    mine = fake.add_comment(105, "<!-- reconciler-plan -->\nmine", "octocat", "User")
    done = comment.sticky(client(fake, PERSONAL_TOKEN), REPOSITORY, 105, marker=MARKER, body="z")
    assert done.action == "updated"
    assert [c["body"] for c in fake.comments[105] if c["id"] == mine] == [
        "<!-- reconciler-plan -->\nz"
    ]
    assert comment.author(client(fake)) == ACTIONS
    assert comment.author(client(fake), "my-app[bot]") == "my-app[bot]"


def test_a_too_long_body_is_cut_with_a_note_and_the_token_never_posted(fake: FakeGitHub) -> None:
    long = "\n".join(f"line {i} " + "x" * 80 for i in range(2000)) + ACTIONS_TOKEN
    comment.sticky(client(fake), REPOSITORY, 106, marker=MARKER, body=long)
    posted = fake.comments[106][0]["body"]
    assert len(posted) <= comment.BODY_LIMIT
    assert posted.rstrip().endswith("see the workflow run's log.")
    short = f"token {ACTIONS_TOKEN}"
    comment.sticky(client(fake), REPOSITORY, 106, marker=MARKER, body=short)
    assert fake.comments[106][0]["body"].endswith("token ***")


# --- errors: one line, exit 1, no traceback, no token ---------------------------------------


def test_an_api_error_is_one_line_without_the_token(fake: FakeGitHub, tmp_path: Path) -> None:
    body = tmp_path / "c.md"
    body.write_text("x")
    fake.faults.append(("/comments", 403, "Resource not accessible by integration"))
    done = ci(fake, "comment", "--marker", MARKER, "--body-file", str(body), "--pr", "110")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"error: GitHub API GET /repos/{REPOSITORY}/issues/110/comments: 403 Forbidden: "
        "Resource not accessible by integration (check the job's permissions: and the "
        "token's scopes)\n"
    )
    fake.faults.append(("/comments", 422, "Validation Failed"))
    done = ci(fake, "comment", "--marker", MARKER, "--body-file", str(body), "--pr", "110")
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1
    assert ACTIONS_TOKEN not in done.stdout + done.stderr and "Traceback" not in done.stderr


def test_bad_credentials_missing_token_and_unreachable_api(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    body = tmp_path / "c.md"
    body.write_text("x")
    args = ("comment", "--marker", MARKER, "--body-file", str(body), "--pr", "1")
    done = ci(fake, *args, GITHUB_TOKEN="ghs_wrong")
    assert done.returncode == 1
    assert done.stderr.endswith("401 Unauthorized: Bad credentials (check the token)\n")
    assert "ghs_wrong" not in done.stderr
    done = ci(fake, *args, GITHUB_TOKEN="")
    assert done.returncode == 1
    assert done.stderr.startswith("error: GITHUB_TOKEN is not set")
    done = ci(fake, *args, GITHUB_API_URL="http://127.0.0.1:9")
    assert done.returncode == 1 and done.stderr.startswith("error: cannot reach the GitHub API")
    done = ci(fake, *args, GITHUB_API_URL="http://api.example.com")
    assert done.stderr == (
        "error: refusing plain http:// for the GitHub API at api.example.com: use https://\n"
    )
    done = ci(fake, "comment", "--marker", "bad marker", "--body-file", str(body), "--pr", "1")
    assert done.returncode == 1 and "marker 'bad marker' is not valid" in done.stderr
    done = ci(fake, "comment", "--marker", MARKER)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert "required: --body-file" in done.stderr


def test_transient_errors_are_retried_and_next_links_stay_on_the_api_host(
    fake: FakeGitHub,
) -> None:
    fake.faults.append(("/comments", 502, "Bad Gateway"))
    assert comment.sticky(client(fake), REPOSITORY, 120, marker=MARKER, body="a").action == (
        "created"
    )
    for i in range(5):
        fake.add_comment(121, f"c{i}", "someone", "User")
    fake.next_link_host = "http://127.0.0.2:1"
    with pytest.raises(GitHubError, match="refusing to follow a next-page link to another host"):
        comment.sticky(client(fake), REPOSITORY, 121, marker=MARKER, body="b")
    assert all(p.startswith("/") for _, p, _ in fake.requests)


# --- the drift tracking issue -----------------------------------------------------------------


def test_drift_opens_updates_and_closes_one_issue_per_environment(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    fake.add_issue("Drift detected in dev", ["bug"])  # another label: not ours
    fake.add_issue("Drift detected in dev", ["drift"], pr=True)  # a pull request: not ours
    fake.add_issue("Drift detected in prod", ["drift"])  # another environment
    report = tmp_path / "drift-dev.md"
    report.write_text("<!-- reconciler-drift:dev -->\n## Reconciler drift report\nfirst\n")
    args = ["drift-issue", "--environment", "dev", "--report", str(report)]
    run_env = {"GITHUB_RUN_ID": "42", "GITHUB_SERVER_URL": "https://github.com"}
    done = ci(fake, *args, "--drifted", "true", **run_env)
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout
        == f"tracking issue for dev: created #4 https://github.com/{REPOSITORY}/issues/4\n"
    )
    created = fake.issues[3]
    assert (created["title"], created["labels"], created["state"]) == (
        "Drift detected in dev",
        [{"name": "drift"}],
        "open",
    )
    assert created["body"].endswith(
        f"first\n\n_Last checked by https://github.com/{REPOSITORY}/actions/runs/42_\n"
    )
    report.write_text("<!-- reconciler-drift:dev -->\nsecond\n")
    done = ci(fake, *args, "--drifted", "true", **run_env)
    assert done.stdout.startswith("tracking issue for dev: updated #4")
    assert "second" in fake.issues[3]["body"] and len(fake.issues) == 4
    done = ci(fake, "drift-issue", "--environment", "dev", "--drifted", "false", **run_env)
    assert done.stdout.startswith("tracking issue for dev: closed #4")
    assert (fake.issues[3]["state"], fake.issues[3]["state_reason"]) == ("closed", "completed")
    assert fake.issues[3]["comments"] == [
        f"Back in sync (checked by https://github.com/{REPOSITORY}/actions/runs/42)."
    ]
    done = ci(fake, "drift-issue", "--environment", "dev", "--drifted", "false")
    assert done.stdout == "tracking issue for dev: none\n"
    assert [i["state"] for i in fake.issues[:3]] == ["open", "open", "open"]


def test_the_issue_is_found_beyond_the_first_page_and_carries_the_schedule_warning(
    fake: FakeGitHub,
) -> None:
    for i in range(7):
        fake.add_issue(f"Drift detected in team{i}", ["drift"])
    target = fake.add_issue("Drift detected in dev", ["drift"])
    done = issue.track(
        client(fake),
        REPOSITORY,
        "dev",
        drifted=True,
        report="report",
        warning="> [!WARNING]\n> late",
    )
    assert (done.action, done.number) == ("updated", target)
    assert fake.issues[target - 1]["body"].startswith("> [!WARNING]\n> late\n\nreport\n")
    closed = issue.track(client(fake), REPOSITORY, "dev", drifted=False, report="", warning="w")
    assert closed.action == "closed"
    assert fake.issues[target - 1]["comments"] == ["w\n\nBack in sync."]


def test_drift_issue_needs_a_report_when_drifted(fake: FakeGitHub) -> None:
    done = ci(fake, "drift-issue", "--environment", "dev", "--drifted", "true")
    assert (done.returncode, done.stderr) == (
        1,
        "error: --report FILE is required with --drifted true\n",
    )
    done = ci(fake, "drift-issue", "--environment", "dev", "--drifted", "maybe")
    assert done.returncode == 1 and "invalid choice: 'maybe'" in done.stderr


def test_failing_health_opens_the_issue_and_drift_and_health_share_it(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    health = tmp_path / "status-dev.md"
    health.write_text("<!-- reconciler-status -->\n## Routine health\nfailing: r1\n")
    drift = tmp_path / "drift-dev.md"
    drift.write_text("<!-- reconciler-drift:dev -->\nchanged: r2\n")
    base = ["drift-issue", "--environment", "dev", "--health-report", str(health)]
    done = ci(fake, *base, "--drifted", "false", "--unhealthy", "true")
    assert done.returncode == 0, done.stderr
    [opened] = fake.issues
    assert opened["title"] == "Unhealthy routines in dev" and "failing: r1" in opened["body"]
    both = ci(fake, *base, "--report", str(drift), "--drifted", "true", "--unhealthy", "true")
    assert both.stdout.startswith("tracking issue for dev: updated #1")
    assert opened["title"] == "Drift detected in dev"  # the same issue, renamed
    assert opened["body"].index("changed: r2") < opened["body"].index("failing: r1")
    only_drift = ci(fake, *base, "--report", str(drift), "--drifted", "true")
    assert only_drift.returncode == 0 and "failing: r1" not in opened["body"]
    closed = ci(fake, *base, "--drifted", "false", "--unhealthy", "false")
    assert closed.stdout.startswith("tracking issue for dev: closed #1") and len(fake.issues) == 1
    missing = ci(fake, "drift-issue", "--environment", "dev", "--drifted", "false",
                 "--unhealthy", "true")  # fmt: skip
    assert (missing.returncode, missing.stderr) == (
        1,
        "error: --health-report FILE is required with --unhealthy true\n",
    )


def test_outputs_from_a_status_document(tmp_path: Path) -> None:
    status = tmp_path / "status.json"
    status.write_text(json.dumps({"healthy": False, "routines": [{"name": "secret-name"}]}))
    assert outputs.from_status(str(status)) == [("unhealthy", "true")]
    status.write_text(json.dumps({"healthy": True}))
    assert outputs.from_status(str(status)) == [("unhealthy", "false")]
    status.write_text("{}")
    with pytest.raises(CIError, match="is not a status JSON document"):
        outputs.from_status(str(status))


# --- the schedule check ----------------------------------------------------------------------


def _run(hours_ago: float) -> dict[str, Any]:
    started = datetime.now(UTC) - timedelta(hours=hours_ago)
    return {
        "status": "success",
        "event": "schedule",
        "run_started_at": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "html_url": f"https://github.com/{REPOSITORY}/actions/runs/7",
    }


def test_a_late_schedule_warns_in_the_log_the_summary_and_the_warning_file(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    fake.runs["drift.yml"] = [_run(75)]
    summary, output, warning = tmp_path / "summary.md", tmp_path / "out", tmp_path / "w.md"
    done = ci(
        fake, "schedule-check", "--expected-interval-hours", "24", "--warning-out", str(warning),
        GITHUB_WORKFLOW_REF=f"{REPOSITORY}/.github/workflows/drift.yml@refs/heads/main",
        GITHUB_STEP_SUMMARY=str(summary), GITHUB_OUTPUT=str(output),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert line.startswith("::warning title=Drift check is late::The previous successful ")
    assert "drift.yml started 3.1 days ago" in line and "twice the expected interval" in line
    assert "after 60 days without activity" in line
    text = warning.read_text()
    assert text.startswith("> [!WARNING]\n> **The scheduled drift check is late.**")
    assert text.rstrip().endswith(f"Last one: https://github.com/{REPOSITORY}/actions/runs/7")
    assert summary.read_text() == text + "\n"
    assert output.read_text() == "stale=true\n"
    asked = [p for _, p, _ in fake.requests]
    assert asked == [
        f"/repos/{REPOSITORY}/actions/workflows/drift.yml/runs"
        "?status=success&event=schedule&per_page=1"
    ]


def test_a_recent_or_missing_scheduled_run_does_not_warn(fake: FakeGitHub, tmp_path: Path) -> None:
    warning = tmp_path / "w.md"
    args = ["schedule-check", "--workflow", "drift.yml", "--warning-out", str(warning)]
    done = ci(fake, *args)
    assert done.returncode == 0
    assert done.stdout.startswith("No earlier successful scheduled run of drift.yml")
    assert "stale=false" in done.stdout and warning.read_text() == ""
    fake.runs["drift.yml"] = [_run(30)]
    done = ci(fake, *args, "--expected-interval-hours", "24")
    assert done.stdout.startswith("The previous successful scheduled run of drift.yml was 30 hours")
    fake.runs["drift.yml"] = [_run(30)]
    result = schedule.check(client(fake), REPOSITORY, "drift.yml", 12)
    assert result.stale


def test_the_workflow_is_named_by_its_file(fake: FakeGitHub) -> None:
    ref = "contoso/routines/.github/workflows/drift.yml@refs/heads/main"
    assert schedule.workflow_file(ref) == "drift.yml"
    assert schedule.workflow_file("1234") == "1234"
    with pytest.raises(CIError, match="cannot tell the workflow"):
        schedule.workflow_file("../../etc")
    done = ci(fake, "schedule-check")
    assert done.stderr.startswith("error: no workflow: pass --workflow FILE.yml")
    done = ci(fake, "schedule-check", "--workflow", "x.yml", "--expected-interval-hours", "0")
    assert done.stderr == "error: the expected interval must be positive, not 0 hours\n"


# --- outputs, argument splitting, release tags -----------------------------------------------


def test_outputs_come_from_the_plan_and_drift_documents(tmp_path: Path) -> None:
    plan, drift, out = tmp_path / "plan.json", tmp_path / "drift.json", tmp_path / "out"
    plan.write_text(json.dumps({"has_changes": True, "changes": [{"after": {"secret": "s3"}}]}))
    drift.write_text(json.dumps({"drifted": False}))
    env = {**os.environ, "GITHUB_OUTPUT": str(out)}
    done = subprocess.run(
        [sys.executable, "-m", "reconciler.ci", "outputs", "exit-code=0",
         "--plan", str(plan), "--drift", str(drift)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.read_text() == (f"exit-code=0\nhas-changes=true\nplan-json={plan}\ndrift=false\n")
    assert "s3" not in out.read_text()
    plan.write_text("{}")
    with pytest.raises(CIError, match="no boolean 'has_changes'"):
        outputs.from_plan(str(plan))
    with pytest.raises(CIError, match="cannot read the drift JSON"):
        outputs.from_drift(str(tmp_path / "missing.json"))
    text = format_outputs([("report", "two\nlines")])
    assert re.fullmatch(r"report<<(ghadelimiter_\w+)\ntwo\nlines\n\1\n", text)
    with pytest.raises(CIError, match="output name 'bad key' is not valid"):
        format_outputs([("bad key", "x")])
    assert annotation("warning", "50% done\nnext", "a:b") == (
        "::warning title=a%3Ab::50%25 done%0Anext"
    )


def test_split_args_splits_like_a_shell_without_expanding(tmp_path: Path) -> None:
    env = {**os.environ, "ARGS": "--var 'GREETING=hello world' $HOME * `id`"}
    done = subprocess.run(
        [sys.executable, "-m", "reconciler.ci", "split-args", "--from-env", "ARGS"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.stdout.split("\0") == ["--var", "GREETING=hello world", "$HOME", "*", "`id`", ""]
    with pytest.raises(CIError, match="cannot split the arguments"):
        outputs.split_args("'unbalanced")


def test_the_release_tag_must_be_the_version_and_the_major_tag_moves(
    fake: FakeGitHub, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = ci(fake, "check-tag", f"v{__version__}", GITHUB_OUTPUT=str(out))
    assert done.returncode == 0, done.stderr
    major = f"v{__version__.split('.')[0]}"
    assert out.read_text() == f"version={__version__}\nmajor={major}\n"
    done = ci(fake, "check-tag", "v99.0.0")
    assert done.returncode == 1
    assert done.stderr.startswith("error: tag v99.0.0 does not match reconciler.__version__")
    with pytest.raises(CIError, match="not a release tag"):
        release.check_tag("v1.2", "1.2")
    assert release.check_tag("refs/tags/v1.4.2", "1.4.2").major == "v1"
    sha, newer = "a" * 40, "b" * 40
    assert ci(fake, "move-tag", "v1", "--sha", sha).stdout == f"created tag v1 at {sha}\n"
    assert ci(fake, "move-tag", "v1", "--sha", newer).stdout == f"moved tag v1 at {newer}\n"
    assert fake.refs == {"v1": newer}
    assert ci(fake, "move-tag", "v1.2.3", "--sha", sha).stderr == (
        "error: 'v1.2.3' is not a major tag (v1, v2, ...)\n"
    )


def test_reconciler_ci_needs_only_the_standard_library() -> None:
    """release.yml runs it from a bare checkout, before any dependency is installed."""
    code = (
        "import sys; import reconciler.ci.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'yaml', 'pydantic', 'click', 'azure', 'rich', 'jsonschema', 'deepdiff'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stdout == "[]\n"
