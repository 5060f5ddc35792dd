"""Reading routines as the service sends them, through the SDK client's own pipeline.

The SDK's ``routines.list`` turns every routine of every page into a model object (0.8 s of CPU
per 10,000 routines), which the reconciler would turn straight back into the wire dict it
compares. ``AIProjectClient.send_request`` (the SDK's documented way to send a request through
the client's policies: authentication, retries, the wiretap) returns the page as it came, so a
page is parsed once, by ``json``. The request is the documented contract (docs/design.md,
"Service contract"): ``GET /routines?api-version=v1&limit=100`` with ``Foundry-Features``, then
each ``next_link``. Single routines use the operations themselves (one model each).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from reconciler.live.azure_errors import BadResponse

API_VERSION = "v1"
HEADERS = {"Accept": "application/json", "Foundry-Features": "Routines=V2Preview"}


def pages(client: Any, limit: int, call: dict[str, Any]) -> Iterator[tuple[list[Any], str | None]]:
    """Each page's items and its ``next_link`` (None on the last page)."""
    request = HttpRequest(
        "GET", "/routines", params={"api-version": API_VERSION, "limit": limit}, headers=HEADERS
    )
    while True:
        data = _page(client.send_request(request, **call))
        items, following = data.get("data"), data.get("next_link")
        if not isinstance(items, list):
            raise BadResponse("expected a page with a 'data' list")
        if following is not None and not isinstance(following, str):
            raise BadResponse("expected next_link to be text")
        yield items, following or None
        if not following:
            return
        request = HttpRequest("GET", _with_version(following), headers=HEADERS)


def _page(response: Any) -> dict[str, Any]:
    if response.status_code >= 400:
        raise HttpResponseError(response=response)
    data = json.loads(response.read() or b"null")
    if not isinstance(data, dict):
        raise BadResponse(f"expected a page object, got {type(data).__name__}")
    return data


def _with_version(link: str) -> str:
    """``next_link`` with ``api-version`` (as the SDK re-adds it to every next page)."""
    parts = urlsplit(link)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "api-version"
    ]
    query.append(("api-version", API_VERSION))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def guarded_runs(pager: Any) -> Iterator[Any]:
    """The run records of the SDK's paged ``list_runs``, page by page, each once; a repeated
    ``next_link`` or a page that promises more but adds no new run stops with ``BadResponse``
    (a paging loop; as ``walk_pages`` for routines)."""
    seen: set[str] = set()
    cursors: set[str] = set()
    pages = pager.by_page()
    for page in pages:
        before = len(seen)
        for item in page:
            ident = str(item.get("id"))
            if ident not in seen:
                seen.add(ident)
                yield item
        following = pages.continuation_token
        if not following:
            return
        if following in cursors:
            raise BadResponse("the service repeated a next_link cursor of the runs (a paging loop)")
        if len(seen) == before:
            raise BadResponse("a page of runs with a next_link added no new runs (a paging loop)")
        cursors.add(following)
