"""The routine operations: a matched route plus its query and body, answered from the store."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, urlencode

from reconciler.contract import limits
from reconciler.emulator import agents
from reconciler.emulator.fault_config import ListMode
from reconciler.emulator.hostile import endless_cursor, endless_page, fake_routines, fake_runs
from reconciler.emulator.protocol import API_VERSION, HttpError, Reply, json_object
from reconciler.emulator.routes import RoutineRoute
from reconciler.service import DEFAULT_PAGE_SIZE, RoutineStore
from reconciler.service.filters import run_filter

Query = Mapping[str, list[str]]
Json = dict[str, Any]

_DISPATCH_KEYS: Final = frozenset({"payload"})


@dataclass(frozen=True)
class Request:
    """What a routine operation needs from the HTTP request (and the fault list mode)."""

    route: RoutineRoute
    query: Query
    body: bytes
    content_type: str | None
    base_url: str
    path: str
    list_mode: ListMode = "normal"

    @property
    def name(self) -> str:
        """The routine name of a per-routine route."""
        assert self.route.name is not None
        return self.route.name

    def param(self, key: str) -> str | None:
        """One query parameter (the last one wins when repeated)."""
        values = self.query.get(key)
        return values[-1] if values else None


def handle(store: RoutineStore, request: Request) -> Reply:
    """Run the request's operation against the store (raises ServiceError / HttpError)."""
    return _OPERATIONS[request.route.operation](store, request)


def _put(store: RoutineStore, request: Request) -> Reply:
    body = json_object(request.body, request.content_type, required=True)
    return Reply(200, store.put(request.route.project, request.name, body))


def _get(store: RoutineStore, request: Request) -> Reply:
    return Reply(200, store.get(request.route.project, request.name))


def _delete(store: RoutineStore, request: Request) -> Reply:
    store.delete(request.route.project, request.name)
    return Reply(204)


def _enable(store: RoutineStore, request: Request) -> Reply:
    return Reply(200, store.set_enabled(request.route.project, request.name, True))


def _disable(store: RoutineStore, request: Request) -> Reply:
    return Reply(200, store.set_enabled(request.route.project, request.name, False))


def _dispatch(store: RoutineStore, request: Request) -> Reply:
    body = json_object(request.body, request.content_type, required=False)
    unknown = sorted(set(body) - _DISPATCH_KEYS)
    if unknown:
        raise HttpError(
            400,
            "invalid_value",
            f"unknown field {unknown[0]!r} in the dispatch body; only 'payload' is accepted",
            param=unknown[0],
        )
    return Reply(200, store.dispatch(request.route.project, request.name, body.get("payload")))


def _legacy_dispatch(_store: RoutineStore, request: Request) -> Reply:
    raise HttpError(
        404,
        "not_found",
        f"the :dispatch route is not available; use POST /routines/"
        f"{quote(request.name, safe='')}:dispatch_async",
    )


def _list(store: RoutineStore, request: Request) -> Reply:
    limit, after, order = _page_args(request, default_order="asc")
    if request.list_mode == "endless":
        page = endless_page(after)
        return _page(
            request, fake_routines(page, _size(limit)), endless_cursor(page + 1), limit, order
        )
    items, cursor = store.list(request.route.project, limit=limit, after=after, order=order)
    return _page(request, items, cursor, limit, order)


def _list_runs(store: RoutineStore, request: Request) -> Reply:
    limit, after, order = _page_args(request, default_order="desc")
    expression = request.param("filter")
    if request.list_mode == "endless":
        run_filter(expression)  # a bad filter is still a 400
        page = endless_page(after)
        runs = fake_runs(request.name, page, _size(limit))
        return _page(request, runs, endless_cursor(page + 1), limit, order)
    items, cursor = store.list_runs(
        request.route.project,
        request.name,
        limit=limit,
        after=after,
        order=order,
        filter_expression=expression,
    )
    return _page(request, items, cursor, limit, order)


def _size(limit: int | None) -> int:
    """The page size of an endless page (the store's rule: 1..LIST_PAGE_MAX, default 20)."""
    if limit is None:
        return DEFAULT_PAGE_SIZE
    if not 1 <= limit <= limits.LIST_PAGE_MAX:
        raise HttpError(
            400,
            "invalid_value",
            f"limit must be an integer from 1 to {limits.LIST_PAGE_MAX}, not {limit!r}",
            param="limit",
        )
    return limit


def _page_args(request: Request, *, default_order: str) -> tuple[int | None, str | None, str]:
    """``limit`` (parsed; the store checks its range), ``after`` and ``order``."""
    text = request.param("limit")
    limit: int | None = None
    if text is not None:
        try:
            limit = int(text)
        except ValueError:
            raise HttpError(
                400, "invalid_value", f"limit must be an integer, not {text!r}", param="limit"
            ) from None
    return limit, request.param("after"), request.param("order") or default_order


def _page(
    request: Request, items: list[Json], cursor: str | None, limit: int | None, order: str
) -> Reply:
    """An OpenAI-style list page whose ``next_link`` is the absolute URL of the next page.

    In the ``repeat_cursor`` list mode, ``next_link`` repeats the request's own cursor (on the
    first page: the normal next cursor, or none, i.e. the first page again) and never ends.
    """
    repeat = request.list_mode == "repeat_cursor"
    if repeat:
        cursor = request.param("after") or cursor
    next_link = _link(request, limit, order, cursor) if cursor is not None or repeat else None
    return Reply(
        200,
        {
            "object": "list",
            "data": items,
            "first_id": _identity(items[0]) if items else None,
            "last_id": _identity(items[-1]) if items else None,
            "has_more": next_link is not None,
            "next_link": next_link,
        },
    )


def _link(request: Request, limit: int | None, order: str, after: str | None) -> str:
    """The absolute URL of the page after ``after`` (None: the first page)."""
    params: dict[str, str] = {"api-version": API_VERSION}
    if limit is not None:
        params["limit"] = str(limit)
    params["order"] = order
    if after is not None:
        params["after"] = after
    flt = request.param("filter")
    if flt is not None:
        params["filter"] = flt
    return f"{request.base_url}{request.path}?{urlencode(params, quote_via=quote)}"


def _identity(item: Json) -> Any:
    return item.get("id", item.get("name"))


_OPERATIONS: Final[dict[str, Callable[[RoutineStore, Request], Reply]]] = {
    "put": _put,
    "get": _get,
    "delete": _delete,
    "enable": _enable,
    "disable": _disable,
    "dispatch": _dispatch,
    "legacy_dispatch": _legacy_dispatch,
    "list": _list,
    "list_runs": _list_runs,
    "get_agent": agents.get_agent,
}
