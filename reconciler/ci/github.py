"""A small GitHub REST client on ``urllib``: JSON requests, Link-header paging, one-line errors.

The token goes only to the API base it was configured with (``$GITHUB_API_URL``): a next-page
link to another origin is refused, plain ``http://`` is refused for any host that is not
loopback, and no message ever contains the token.
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

from reconciler import __version__
from reconciler.ci import CIError

DEFAULT_API = "https://api.github.com"
MAX_PAGES = 200
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_LOOPBACK = ("127.", "localhost", "[::1]", "::1")


class GitHubError(CIError):
    """The API answered with an error status, or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _check_base(base: str) -> str:
    parts = urllib.parse.urlsplit(base)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise CIError(f"GITHUB_API_URL {base!r} is not an http(s) URL")
    if parts.scheme == "http" and not host.startswith(_LOOPBACK):
        raise CIError(f"refusing plain http:// for the GitHub API at {host}: use https://")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise CIError("GITHUB_API_URL must not carry user-info, a query or a fragment")
    return base.rstrip("/")


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.netloc


class GitHub:
    """Requests against one API base with one token."""

    def __init__(self, base: str, token: str, retries: int = 2, backoff: float = 1.0) -> None:
        self.base = _check_base(base)
        self._token = token
        self.retries = retries
        self.backoff = backoff

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GitHub:
        env = os.environ if environ is None else environ
        token = env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or ""
        if not token.strip():
            raise CIError(
                "GITHUB_TOKEN is not set: give the step env GITHUB_TOKEN: ${{ github.token }}"
            )
        return cls(env.get("GITHUB_API_URL") or DEFAULT_API, token.strip())

    def scrub(self, text: str) -> str:
        """``text`` with the token replaced by ``***``."""
        return text.replace(self._token, "***") if self._token else text

    def url(self, path: str, query: Mapping[str, str | int] | None = None) -> str:
        url = self.base + path
        return f"{url}?{urllib.parse.urlencode(query)}" if query else url

    def request(
        self, method: str, path: str, body: Any = None, query: Mapping[str, str | int] | None = None
    ) -> Any:
        """One request; the decoded JSON answer (None when empty)."""
        payload, _ = self._send(method, self.url(path, query), body)
        return payload

    def paginate(self, path: str, query: Mapping[str, str | int] | None = None) -> Iterator[Any]:
        """Every item of a list endpoint, following ``Link: <...>; rel="next"`` page by page."""
        url: str | None = self.url(path, {"per_page": 100, **(query or {})})
        for _ in range(MAX_PAGES):
            if url is None:
                return
            items, headers = self._send("GET", url, None)
            if not isinstance(items, list):
                raise GitHubError(f"GET {path}: expected a list, got {type(items).__name__}")
            yield from items
            url = self._next_page(path, headers.get("Link", ""))
        raise GitHubError(f"GET {path}: more than {MAX_PAGES} pages; giving up")

    def _next_page(self, path: str, link: str) -> str | None:
        match = _NEXT.search(link)
        if match is None:
            return None
        url = match.group(1)
        if _origin(url) != _origin(self.base):
            raise GitHubError(f"GET {path}: refusing to follow a next-page link to another host")
        return url

    def _send(self, method: str, url: str, body: Any) -> tuple[Any, Mapping[str, str]]:
        for attempt in range(self.retries + 1):
            try:
                return self._once(method, url, body)
            except GitHubError as err:
                if err.status not in RETRY_STATUSES or attempt == self.retries:
                    raise
                time.sleep(self.backoff * (2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method: str, url: str, body: Any) -> tuple[Any, Mapping[str, str]]:
        data = None if body is None else json.dumps(body).encode()
        # The scheme and host are checked (_check_base, _next_page): no file: or custom URLs.
        req = urllib.request.Request(  # noqa: S310
            url, data=data, method=method, headers=self._headers(data)
        )
        where = f"{method} {urllib.parse.urlsplit(url).path}"
        try:
            with urllib.request.urlopen(req, timeout=30) as answer:  # noqa: S310
                raw = answer.read()
                headers = dict(answer.headers.items())
        except urllib.error.HTTPError as err:
            raise GitHubError(self.scrub(_http_error(where, err)), err.code) from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            message = f"cannot reach the GitHub API ({where}): {reason}"
            raise GitHubError(self.scrub(message)) from None
        try:
            return (json.loads(raw) if raw.strip() else None), headers
        except ValueError:
            raise GitHubError(f"{where}: the answer is not JSON") from None

    def _headers(self, data: bytes | None) -> dict[str, str]:
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self._token}",
            "User-Agent": f"foundry-routines-reconciler/{__version__}",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        return headers


def _http_error(where: str, err: urllib.error.HTTPError) -> str:
    """``GET /path: 404 Not Found: <GitHub's message>``, on one line."""
    message = ""
    try:
        doc = json.loads(err.read() or b"{}")
        if isinstance(doc, dict):
            message = str(doc.get("message", ""))
    except (ValueError, OSError):
        pass
    text = f"GitHub API {where}: {err.code} {err.reason}"
    if message:
        text += ": " + " ".join(message.split())[:300]
    hint = {401: "check the token", 403: "check the job's permissions: and the token's scopes"}
    return f"{text} ({hint[err.code]})" if err.code in hint else text


def html_url(*docs: Any) -> str:
    """The first ``html_url`` among the API answers ``docs`` ('' when none has one)."""
    for doc in docs:
        if isinstance(doc, dict) and doc.get("html_url"):
            return str(doc["html_url"])
    return ""
