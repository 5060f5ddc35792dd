"""The emulator's fault configuration: what goes wrong, and its JSON form.

A ``FaultConfig`` says what goes wrong: a fixed latency per request, random rates of faults
(optionally only for some HTTP methods, reproducible with a seed), a scripted queue for tests
("the next N matching requests get X") and a switch for the list routes. The fault kinds (the
``fault`` of a script step; most also have a rate):

- ``400``, ``403``, ``429``, ``500``, ``503``: the service's error answer (script steps may set
  ``message``/``param``; 429/503 carry ``Retry-After``). Rates: ``rate_429/500/503``.
- ``drop_before`` / ``drop_after``: the socket is closed without any response, *before* the
  request is processed (nothing was written) or *after* (the write committed, the client never
  hears about it). Rate ``drop_rate`` with ``drop_mode`` ``before``, ``after`` or ``random``
  (each drop picks one of the two with the seeded random; counted as the kind it picked).
- ``bad_json`` (``{"data": [``, truncated, as application/json), ``html``
  (``<html><body>Bad gateway</body></html>`` as text/html), ``empty`` (application/json with
  ``Content-Length: 0``) and ``wrong_shape`` (valid JSON of the wrong shape: ``{"data": ["a",
  "b"], "next_link": null}`` on the list routes, ``"just a string"`` where a routine is
  expected, ``[1, 2]`` on DELETE and ``:dispatch_async``): a bad body with status 200, or the
  script step's ``status`` (e.g. an HTML 502). The request is not processed. Rate
  ``rate_bad_body``; ``bad_body`` names the kind the rate injects (``any`` = one at random).
- ``hang``: the request is read and never answered; the connection stays open until the client
  hangs up or the emulator stops (the request is not processed). Rate ``rate_hang``.
- ``trickle``: the request is processed and its correct response (status line and headers
  included) is sent one byte every ``trickle_interval`` seconds, so a client's per-read timeout
  never fires; it stops when the emulator stops. Rate ``rate_trickle``.

The agents route (``GET /agents/{agent_name}``, read by the plan's agent check) gets a fault
only from a script step whose ``route`` names it, e.g. ``{"fault": "403", "route": "GET
/agents/{agent_name}", "count": 5}``; rates and steps without a route leave it alone.

``list_mode`` changes every page of ``GET /routines`` and ``GET /routines/{name}/runs`` (it is a
switch, not a fault: scripted and rate faults still apply first): ``normal``; ``repeat_cursor``
(``next_link`` carries the request's own ``after`` again, or on the first page its normal
``next_link``, so page 2 links to page 2 and a naive pager loops forever; ``has_more`` is always
true); ``endless`` (every page is new, never-seen fake routines or runs, ``limit`` of them
(default 20), with a fresh ``next_link``; the store is not read). ``FaultInjector`` (in
``faults.py``) turns a configuration into per-request decisions; its ``injected()`` counts every
fault by kind, and the pages served in each list mode as ``repeat_cursor`` / ``endless``.

The JSON form (``GET``/``PUT /_emulator/faults``; every key is optional, unknown keys are
refused; a step's ``status`` is only shown when set)::

    {"latency_ms": 0, "rate_429": 0.0, "rate_500": 0.0, "rate_503": 0.0, "drop_rate": 0.0,
     "drop_mode": "before", "retry_after": 1, "methods": [], "seed": null,
     "rate_bad_body": 0.0, "bad_body": "any", "rate_hang": 0.0, "rate_trickle": 0.0,
     "trickle_interval": 1.0, "list_mode": "normal",
     "script": [{"fault": "429", "count": 1, "method": "PUT", "route": null,
                 "retry_after": null, "message": null, "param": null},
                {"fault": "html", "status": 502, "route": "GET /routines"}]}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, cast, get_args

StatusFault = Literal["400", "403", "429", "500", "503"]
BodyFault = Literal["bad_json", "html", "empty", "wrong_shape"]
FaultKind = Literal[StatusFault, "drop_before", "drop_after", BodyFault, "hang", "trickle"]
DropMode = Literal["before", "after", "random"]
BadBody = Literal[BodyFault, "any"]
ListMode = Literal["normal", "repeat_cursor", "endless"]
FAULT_KINDS: Final[tuple[str, ...]] = get_args(FaultKind)
BODY_FAULTS: Final[tuple[str, ...]] = get_args(BodyFault)
LIST_MODES: Final[tuple[str, ...]] = get_args(ListMode)
LIST_ROUTES: Final = frozenset({"GET /routines", "GET /routines/{name}/runs"})
NAMED_ONLY_ROUTES: Final = frozenset({"GET /agents/{agent_name}"})
"""Routes that only script steps naming them reach (no rates, no step without a route)."""
COUNTED_KINDS: Final[tuple[str, ...]] = (*FAULT_KINDS, "repeat_cursor", "endless")
STATUS_OF: Final[dict[str, int]] = {kind: int(kind) for kind in get_args(StatusFault)}
# rate field -> the fault it injects (None: drop_mode / bad_body decide)
RATES: Final[dict[str, str | None]] = {
    "rate_429": "429",
    "rate_500": "500",
    "rate_503": "503",
    "drop_rate": None,
    "rate_bad_body": None,
    "rate_hang": "hang",
    "rate_trickle": "trickle",
}
_CHOICES: Final[dict[str, tuple[str, ...]]] = {
    "drop_mode": get_args(DropMode),
    "bad_body": get_args(BadBody),
    "list_mode": LIST_MODES,
}
_METHODS: Final = frozenset({"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"})
_CONFIG_KEYS: Final = frozenset(
    {
        *RATES,
        *_CHOICES,
        "latency_ms",
        "retry_after",
        "methods",
        "seed",
        "trickle_interval",
        "script",
    }
)
_STEP_KEYS: Final = frozenset(
    {"fault", "count", "method", "route", "retry_after", "message", "param", "status"}
)


@dataclass(frozen=True)
class ScriptStep:
    """The next ``count`` requests matching ``method``/``route`` (None = any) get ``fault``.

    ``status`` (bad-body faults only) replaces the 200 such an answer has by default.
    """

    fault: FaultKind
    count: int = 1
    method: str | None = None
    route: str | None = None
    retry_after: int | None = None
    message: str | None = None
    param: str | None = None
    status: int | None = None

    def __post_init__(self) -> None:
        """Only bad-body faults take a ``status`` (200-599, not 204 or 304: they have no body)."""
        if self.status is None:
            return
        if self.fault not in BODY_FAULTS:
            raise ValueError(f"script.status applies only to {', '.join(BODY_FAULTS)}")
        if not 200 <= self.status <= 599 or self.status in (204, 304):
            raise ValueError("script.status must be from 200 to 599 (not 204 or 304)")

    def matches(self, method: str, route: str) -> bool:
        """True when this step applies to a request on ``route`` (e.g. ``PUT /routines/{name}``)."""
        return (self.method is None or self.method == method) and (
            self.route is None or self.route == route
        )

    def to_json(self) -> dict[str, Any]:
        """The step as JSON (``status`` only when set, so older readers see the same keys)."""
        data: dict[str, Any] = {
            "fault": self.fault,
            "count": self.count,
            "method": self.method,
            "route": self.route,
            "retry_after": self.retry_after,
            "message": self.message,
            "param": self.param,
        }
        if self.status is not None:
            data["status"] = self.status
        return data

    @classmethod
    def from_json(cls, data: Any) -> ScriptStep:
        """Parse one script step; raises ValueError naming the bad field."""
        if not isinstance(data, Mapping):
            raise ValueError("script: each step must be an object")
        _reject_unknown(data, _STEP_KEYS, "script step")
        fault = data.get("fault")
        if fault not in FAULT_KINDS:
            raise ValueError(f"script.fault must be one of {', '.join(FAULT_KINDS)}")
        route = data.get("route")
        if route is not None and not isinstance(route, str):
            raise ValueError("script.route must be a string such as 'PUT /routines/{name}'")
        return cls(
            fault=cast(FaultKind, fault),
            count=_int(data.get("count", 1), "script.count", minimum=1),
            method=_optional_method(data.get("method"), "script.method"),
            route=route,
            retry_after=_optional_int(data.get("retry_after"), "script.retry_after"),
            message=_optional_text(data.get("message"), "script.message"),
            param=_optional_text(data.get("param"), "script.param"),
            status=_optional_int(data.get("status"), "script.status"),
        )


@dataclass(frozen=True)
class FaultConfig:
    """What the emulator injects; every field has a harmless default."""

    latency_ms: float = 0.0
    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_503: float = 0.0
    drop_rate: float = 0.0
    drop_mode: DropMode = "before"
    retry_after: int = 1
    methods: tuple[str, ...] = ()
    seed: int | None = None
    script: tuple[ScriptStep, ...] = field(default_factory=tuple)
    rate_bad_body: float = 0.0
    bad_body: BadBody = "any"
    rate_hang: float = 0.0
    rate_trickle: float = 0.0
    trickle_interval: float = 1.0
    list_mode: ListMode = "normal"

    def __post_init__(self) -> None:
        """Validate ranges (rates are probabilities that must not add up to more than 1)."""
        if not 0 <= self.latency_ms <= 600_000:
            raise ValueError("latency_ms must be between 0 and 600000")
        for name in RATES:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if sum(getattr(self, name) for name in RATES) > 1.0 + 1e-9:
            raise ValueError(f"{' + '.join(RATES)} must not exceed 1")
        for name in _CHOICES:
            _choice(getattr(self, name), name)
        if self.retry_after < 0:
            raise ValueError("retry_after must be >= 0")
        if not 0 < self.trickle_interval <= 60:
            raise ValueError("trickle_interval must be more than 0 and at most 60 (seconds)")

    def to_json(self) -> dict[str, Any]:
        """The configuration as JSON (what ``GET /_emulator/faults`` returns)."""
        return {
            "latency_ms": self.latency_ms,
            **{name: getattr(self, name) for name in RATES},
            "drop_mode": self.drop_mode,
            "retry_after": self.retry_after,
            "methods": list(self.methods),
            "seed": self.seed,
            "bad_body": self.bad_body,
            "trickle_interval": self.trickle_interval,
            "list_mode": self.list_mode,
            "script": [step.to_json() for step in self.script],
        }

    @classmethod
    def from_json(cls, data: Any) -> FaultConfig:
        """Parse a full configuration (missing keys take defaults); raises ValueError."""
        if not isinstance(data, Mapping):
            raise ValueError("the fault configuration must be a JSON object")
        _reject_unknown(data, _CONFIG_KEYS, "fault configuration")
        methods = data.get("methods") or []
        if not isinstance(methods, list):
            raise ValueError("methods must be a list such as ['PUT']")
        script = data.get("script") or []
        if not isinstance(script, list):
            raise ValueError("script must be a list of steps")
        return cls(
            latency_ms=_number(data.get("latency_ms", 0), "latency_ms"),
            rate_429=_rate(data, "rate_429"),
            rate_500=_rate(data, "rate_500"),
            rate_503=_rate(data, "rate_503"),
            drop_rate=_rate(data, "drop_rate"),
            drop_mode=cast(DropMode, _choice(data.get("drop_mode", "before"), "drop_mode")),
            retry_after=_int(data.get("retry_after", 1), "retry_after", minimum=0),
            methods=tuple(cast(str, _optional_method(m, "methods")) for m in methods),
            seed=_optional_int(data.get("seed"), "seed"),
            script=tuple(ScriptStep.from_json(step) for step in script),
            rate_bad_body=_rate(data, "rate_bad_body"),
            bad_body=cast(BadBody, _choice(data.get("bad_body", "any"), "bad_body")),
            rate_hang=_rate(data, "rate_hang"),
            rate_trickle=_rate(data, "rate_trickle"),
            trickle_interval=_number(data.get("trickle_interval", 1.0), "trickle_interval"),
            list_mode=cast(ListMode, _choice(data.get("list_mode", "normal"), "list_mode")),
        )


def _reject_unknown(data: Mapping[str, Any], known: frozenset[str], what: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"unknown {what} field(s): {', '.join(map(str, unknown))}; "
            f"known: {', '.join(sorted(known))}"
        )


def _choice(value: Any, name: str) -> str:
    """``value`` when it is one of the choices of the field ``name``."""
    if not isinstance(value, str) or value not in _CHOICES[name]:
        raise ValueError(f"{name} must be one of {', '.join(_CHOICES[name])}, not {value!r}")
    return value


def _rate(data: Mapping[str, Any], name: str) -> float:
    return _number(data.get(name, 0), name)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number")
    return float(value)


def _int(value: Any, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}")
    return value


def _optional_int(value: Any, name: str) -> int | None:
    return None if value is None else _int(value, name, minimum=0)


def _optional_text(value: Any, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} must be a string")
    return value


def _optional_method(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value.upper() not in _METHODS:
        raise ValueError(f"{name} must be an HTTP method such as PUT")
    return value.upper()
