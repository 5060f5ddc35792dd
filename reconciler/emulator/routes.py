"""Matching request paths to the Routines REST routes (and the one agents route the
reconciler reads, ``GET /agents/{agent_name}``).

Paths are matched *before* percent-decoding, so a name's own ``:`` (sent as ``%3A``) is never
mistaken for an operation suffix such as ``:enable``; project and routine names are then decoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

from reconciler.emulator.protocol import HttpError, method_not_allowed

_PATH: Final = re.compile(
    r"^/api/projects/(?P<project>[^/]+)/routines"
    r"(?:/(?P<name>[^/:]+)(?P<suffix>:[^/]*|/runs)?)?$"
)
_AGENT_PATH: Final = re.compile(r"^/api/projects/(?P<project>[^/]+)/agents/(?P<name>[^/]+)$")
AGENT_ROUTE: Final = "GET /agents/{agent_name}"

# (suffix, has name) -> {method: (operation, counter key)}
_TABLE: Final[dict[tuple[str, bool], dict[str, tuple[str, str]]]] = {
    ("", False): {"GET": ("list", "GET /routines")},
    ("", True): {
        "PUT": ("put", "PUT /routines/{name}"),
        "GET": ("get", "GET /routines/{name}"),
        "DELETE": ("delete", "DELETE /routines/{name}"),
    },
    (":enable", True): {"POST": ("enable", "POST /routines/{name}:enable")},
    (":disable", True): {"POST": ("disable", "POST /routines/{name}:disable")},
    (":dispatch_async", True): {"POST": ("dispatch", "POST /routines/{name}:dispatch_async")},
    (":dispatch", True): {"POST": ("legacy_dispatch", "POST /routines/{name}:dispatch")},
    ("/runs", True): {"GET": ("list_runs", "GET /routines/{name}/runs")},
}


@dataclass(frozen=True)
class RoutineRoute:
    """A matched routine route: the operation, its counter key and the decoded names."""

    operation: str
    key: str
    project: str
    name: str | None


def match(method: str, raw_path: str) -> RoutineRoute:
    """The route for ``method`` on ``raw_path``; 404 for unknown paths, 405 for wrong methods."""
    agent = _AGENT_PATH.match(raw_path)
    if agent is not None:
        if method != "GET":
            raise method_not_allowed(method, ("GET",))
        project, name = (unquote(agent.group(key)) for key in ("project", "name"))
        return RoutineRoute("get_agent", AGENT_ROUTE, project, name)
    found = _PATH.match(raw_path)
    if found is None:
        raise HttpError(404, "not_found", f"no route for {method} {unquote(raw_path)}")
    raw_name = found.group("name")
    suffix = found.group("suffix") or ""
    methods = _TABLE.get((suffix, raw_name is not None))
    if methods is None:
        raise HttpError(
            404,
            "not_found",
            f"unknown routine operation {suffix!r}: the routes are :enable, "
            ":disable, :dispatch_async and /runs",
        )
    if method not in methods:
        raise method_not_allowed(method, methods)
    operation, key = methods[method]
    return RoutineRoute(
        operation=operation,
        key=key,
        project=unquote(found.group("project")),
        name=None if raw_name is None else unquote(raw_name),
    )
