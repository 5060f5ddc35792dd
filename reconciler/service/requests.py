"""What the service accepts: PUT bodies, list arguments and dispatch payloads.

``validate_put`` runs every check of ``PUT /routines/{name}`` in the service's order (the name,
the body's shape, the wire schema of ``reconciler.contract.wire_schema``, then the cross-field
rules of ``reconciler.contract.rules``) and reduces the body to what the store keeps, with the
defaults of a full replace (omitted fields are reset, never kept) and timers resolved to unix
seconds. Every refusal is a 400 ``ServiceError``.

The wire schema is generated from the strict model (``RoutineBody``), which accepts nothing the
schema rejects: a body the strict model accepts skips jsonschema (the slowest check), and
only a body it rejects is explained by the schema, so the messages are the schema's as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError

from reconciler.contract import limits, nesting
from reconciler.contract.models import RoutineBody
from reconciler.contract.rules import check_name, check_routine
from reconciler.contract.schema_errors import problems
from reconciler.contract.timer import resolve_at
from reconciler.contract.wire_schema import wire_validator
from reconciler.service.errors import bad_argument, detail, invalid, param_of

Json = dict[str, Any]

DEFAULT_PAGE_SIZE: Final = 20
ORDERS: Final = ("asc", "desc")
READ_ONLY_FIELDS: Final = frozenset({"created_at", "updated_at"})


@dataclass(frozen=True)
class Desired:
    """A validated PUT body, reduced to what the store keeps."""

    description: str
    enabled: bool
    triggers: Json
    action: Json
    identity: str


def validate_put(
    name: str, body: object, now: int, current_at: Mapping[str, int] | None = None
) -> Desired:
    """Every check of ``PUT /routines/{name}``, in the service's order; raises 400."""
    name_problems = [detail("name", v.message) for v in check_name(name)]
    if name_problems:
        raise invalid(name_problems)
    if not isinstance(body, dict):
        raise invalid([detail(None, "the request body must be a JSON object")])
    if nesting.value_too_deep(body):
        raise invalid([detail(None, f"the routine {nesting.MESSAGE}")])
    body_name = body.get("name")
    if body_name is not None and body_name != name:
        message = f"name {body_name!r} in the body does not match {name!r} in the path"
        raise invalid([detail("name", message)])
    body = without_read_only(body)
    schema = schema_problems(body)
    if schema:
        raise invalid(schema)
    without_name = {key: value for key, value in body.items() if key != "name"}
    found = [
        v
        for v in check_routine(without_name, now=now, current_at=current_at)
        if v.severity == "error"
    ]
    rules = [detail(param_of(v.path), v.message) for v in found]
    if rules:
        raise invalid(rules)
    return desired(body, now)


def without_read_only(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without the read-only fields a client echoes back after a GET, whatever their
    type: azd sends ``created_at``/``updated_at`` as RFC 3339 text, the service ignores them."""
    if not READ_ONLY_FIELDS.intersection(body):
        return body
    return {key: value for key, value in body.items() if key not in READ_ONLY_FIELDS}


def schema_problems(body: dict[str, Any]) -> list[Json]:
    """The wire schema's problems with ``body`` (jsonschema runs only for a body the strict
    model rejects, as the manifest loader does)."""
    try:
        RoutineBody.model_validate(body, strict=True)
    except ValidationError:
        return [detail(param_of(p.path), p.message) for p in problems(wire_validator(), body)]
    return []


def desired(body: Mapping[str, Any], now: int) -> Desired:
    """Defaults for omitted fields (full replace) and timers resolved to unix seconds."""
    authorization = body.get("authorization") or {}
    return Desired(
        description=body.get("description") or "",
        enabled=body.get("enabled") is not False,
        triggers={key: resolved_trigger(value, now) for key, value in body["triggers"].items()},
        action=dict(body["action"]),
        identity=str(authorization.get("identity") or "agent"),
    )


def resolved_trigger(trigger: Mapping[str, Any], now: int) -> Json:
    """A copy of ``trigger`` whose timer ``at`` (int, ISO text or duration) is an integer."""
    resolved = dict(trigger)
    if resolved.get("type") == "timer":
        resolved["at"] = resolve_at(resolved["at"], None, now).epoch
    return resolved


def check_page_args(limit: int | None, order: str) -> int:
    """The page size to use; 400 for a limit outside 1..LIST_PAGE_MAX or an unknown order."""
    if order not in ORDERS:
        raise bad_argument("order", f"order must be 'asc' or 'desc', not {order!r}")
    if limit is None:
        return DEFAULT_PAGE_SIZE
    if (
        isinstance(limit, bool)
        or not isinstance(limit, int)
        or not 1 <= limit <= limits.LIST_PAGE_MAX
    ):
        raise bad_argument(
            "limit", f"limit must be an integer from 1 to {limits.LIST_PAGE_MAX}, not {limit!r}"
        )
    return limit


def check_payload(payload: object, action_type: str) -> None:
    """A dispatch payload is optional; when given, its ``type`` must be the action's."""
    if payload is None:
        return
    if not isinstance(payload, dict):
        raise bad_argument("payload", "payload must be a JSON object")
    if nesting.value_too_deep(payload):
        raise bad_argument("payload", f"payload {nesting.MESSAGE}")
    given = payload.get("type")
    if given != action_type:
        message = f"payload type {given!r} does not match the routine's action type {action_type!r}"
        raise bad_argument("payload.type", message)
    size = limits.input_size(payload.get("input"))
    if size > limits.DISPATCH_INPUT_MAX:
        message = (
            f"payload input is {size:,} characters; the service accepts at most "
            f"{limits.DISPATCH_INPUT_MAX:,}"
        )
        raise bad_argument("payload.input", message)
