"""What a GitHub Actions runner tells a step: the repository, the pull request, the run, and the
files a step writes its outputs (``$GITHUB_OUTPUT``) and its job summary
(``$GITHUB_STEP_SUMMARY``) to."""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
from collections.abc import Mapping, Sequence

from reconciler.ci import CIError

_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def environ(env: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """``env``, or the process environment when it is None."""
    return os.environ if env is None else env


def repository(given: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """``owner/name``: ``given``, else ``$GITHUB_REPOSITORY``."""
    value = given or environ(env).get("GITHUB_REPOSITORY", "")
    if not _REPOSITORY.match(value):
        shown = repr(value) if value else "not set"
        raise CIError(f"the repository must be OWNER/NAME (--repo or GITHUB_REPOSITORY): {shown}")
    return value


def pull_request(given: int | None = None, env: Mapping[str, str] | None = None) -> int:
    """The pull request's number: ``given``, else from the event payload
    (``$GITHUB_EVENT_PATH``: ``pull_request.number``, or ``issue.number`` for a comment on a
    pull request)."""
    if given is not None:
        return given
    path = environ(env).get("GITHUB_EVENT_PATH", "")
    event: object = {}
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                event = json.load(handle)
        except (OSError, ValueError) as err:
            raise CIError(f"cannot read the event payload {path}: {err}") from None
    number = _event_number(event)
    if number is None:
        raise CIError("not a pull request event: pass --pr NUMBER")
    return number


def _event_number(event: object) -> int | None:
    if not isinstance(event, dict):
        return None
    for key in ("pull_request", "issue"):
        item = event.get(key)
        is_pr = key == "pull_request" or (isinstance(item, dict) and "pull_request" in item)
        if is_pr and isinstance(item, dict) and isinstance(item.get("number"), int):
            return int(item["number"])
    return None


def run_url(env: Mapping[str, str] | None = None) -> str:
    """This workflow run's page, or '' outside Actions."""
    e = environ(env)
    if not (e.get("GITHUB_REPOSITORY") and e.get("GITHUB_RUN_ID")):
        return ""
    server = e.get("GITHUB_SERVER_URL") or "https://github.com"
    return f"{server}/{e['GITHUB_REPOSITORY']}/actions/runs/{e['GITHUB_RUN_ID']}"


def format_outputs(pairs: Sequence[tuple[str, str]]) -> str:
    """``key=value`` lines for ``$GITHUB_OUTPUT``; a value with a line break uses GitHub's
    ``key<<DELIMITER`` form with a random delimiter, so it cannot end the value early."""
    lines: list[str] = []
    for key, value in pairs:
        if not _KEY.match(key):
            raise CIError(f"output name {key!r} is not valid (letters, digits, '-', '_')")
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            lines += [f"{key}<<{delimiter}", value, delimiter]
        else:
            lines.append(f"{key}={value}")
    return "".join(line + "\n" for line in lines)


def write_outputs(pairs: Sequence[tuple[str, str]], env: Mapping[str, str] | None = None) -> None:
    """Append ``pairs`` to ``$GITHUB_OUTPUT`` (to stdout when it is not set, e.g. by hand)."""
    text = format_outputs(pairs)
    path = environ(env).get("GITHUB_OUTPUT", "")
    if not path:
        sys.stdout.write(text)
        return
    _append(path, text, "GITHUB_OUTPUT")


def append_summary(markdown: str, env: Mapping[str, str] | None = None) -> None:
    """Append ``markdown`` to the job summary, when ``$GITHUB_STEP_SUMMARY`` is set."""
    path = environ(env).get("GITHUB_STEP_SUMMARY", "")
    if path:
        _append(path, markdown.rstrip("\n") + "\n\n", "GITHUB_STEP_SUMMARY")


def _append(path: str, text: str, name: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as err:
        raise CIError(f"cannot write {name} ({path}): {err.strerror or err}") from None


def annotation(level: str, message: str, title: str = "") -> str:
    """A ``::warning``/``::notice`` workflow command on one line (GitHub's escaping)."""
    text = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    head = f"::{level}"
    if title:
        head += " title=" + title.replace("%", "%25").replace(",", "%2C").replace(":", "%3A")
    return f"{head}::{text}"


def write_text(path: str, text: str, what: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as err:
        raise CIError(f"cannot write {what} {path}: {err.strerror or err}") from None


def read_text(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or err
        raise CIError(f"cannot read {what} {path}: {reason}") from None
