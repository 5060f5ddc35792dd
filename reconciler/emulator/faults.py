"""Fault and latency injection for the emulator.

A ``FaultConfig`` says what goes wrong: a fixed latency per request, random rates of 429 / 500 /
503 answers and dropped connections (optionally only for some HTTP methods, reproducible with a
seed), and a scripted queue for tests ("the next N matching requests get X"; scripts may also
answer 403, as the service does for an identity without a role on the project, or 400 with a
given message and param, e.g. to stand in for a rule only the real service knows). A dropped
connection closes the socket without any response, either *before* the request is processed
(nothing was written) or *after* (the write committed, the client never hears about it).

The JSON form (``GET``/``PUT /_emulator/faults``)::

    {"latency_ms": 0, "rate_429": 0.0, "rate_500": 0.0, "rate_503": 0.0, "drop_rate": 0.0,
     "drop_mode": "before", "retry_after": 1, "methods": [], "seed": null,
     "script": [{"fault": "429", "count": 1, "method": "PUT", "route": null,
                 "retry_after": null}]}
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal, cast, get_args

FaultKind = Literal["400", "403", "429", "500", "503", "drop_before", "drop_after"]
DropMode = Literal["before", "after"]
FAULT_KINDS: Final[tuple[str, ...]] = get_args(FaultKind)
STATUS_OF: Final[dict[str, int]] = {
    "400": 400,
    "403": 403,
    "429": 429,
    "500": 500,
    "503": 503,
}
_METHODS: Final = frozenset({"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"})
_CONFIG_KEYS: Final = frozenset(
    {
        "latency_ms",
        "rate_429",
        "rate_500",
        "rate_503",
        "drop_rate",
        "drop_mode",
        "retry_after",
        "methods",
        "seed",
        "script",
    }
)
_STEP_KEYS: Final = frozenset(
    {"fault", "count", "method", "route", "retry_after", "message", "param"}
)


@dataclass(frozen=True)
class ScriptStep:
    """The next ``count`` requests matching ``method``/``route`` (None = any) get ``fault``."""

    fault: FaultKind
    count: int = 1
    method: str | None = None
    route: str | None = None
    retry_after: int | None = None
    message: str | None = None
    param: str | None = None

    def matches(self, method: str, route: str) -> bool:
        """True when this step applies to a request on ``route`` (e.g. ``PUT /routines/{name}``)."""
        return (self.method is None or self.method == method) and (
            self.route is None or self.route == route
        )

    def to_json(self) -> dict[str, Any]:
        """The step as JSON."""
        return {
            "fault": self.fault,
            "count": self.count,
            "method": self.method,
            "route": self.route,
            "retry_after": self.retry_after,
            "message": self.message,
            "param": self.param,
        }

    @classmethod
    def from_json(cls, data: Any) -> ScriptStep:
        """Parse one script step; raises ValueError naming the bad field."""
        if not isinstance(data, Mapping):
            raise ValueError("script: each step must be an object")
        _reject_unknown(data, _STEP_KEYS, "script step")
        fault = data.get("fault")
        if fault not in FAULT_KINDS:
            raise ValueError(f"script.fault must be one of {', '.join(FAULT_KINDS)}")
        method = _optional_method(data.get("method"), "script.method")
        route = data.get("route")
        if route is not None and not isinstance(route, str):
            raise ValueError("script.route must be a string such as 'PUT /routines/{name}'")
        return cls(
            fault=cast(FaultKind, fault),
            count=_int(data.get("count", 1), "script.count", minimum=1),
            method=method,
            route=route,
            retry_after=_optional_int(data.get("retry_after"), "script.retry_after"),
            message=_optional_text(data.get("message"), "script.message"),
            param=_optional_text(data.get("param"), "script.param"),
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

    def __post_init__(self) -> None:
        """Validate ranges (rates are probabilities that must not add up to more than 1)."""
        if not 0 <= self.latency_ms <= 600_000:
            raise ValueError("latency_ms must be between 0 and 600000")
        for name in ("rate_429", "rate_500", "rate_503", "drop_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.rate_429 + self.rate_500 + self.rate_503 + self.drop_rate > 1.0 + 1e-9:
            raise ValueError("rate_429 + rate_500 + rate_503 + drop_rate must not exceed 1")
        if self.drop_mode not in ("before", "after"):
            raise ValueError("drop_mode must be 'before' or 'after'")
        if self.retry_after < 0:
            raise ValueError("retry_after must be >= 0")

    def to_json(self) -> dict[str, Any]:
        """The configuration as JSON (what ``GET /_emulator/faults`` returns)."""
        return {
            "latency_ms": self.latency_ms,
            "rate_429": self.rate_429,
            "rate_500": self.rate_500,
            "rate_503": self.rate_503,
            "drop_rate": self.drop_rate,
            "drop_mode": self.drop_mode,
            "retry_after": self.retry_after,
            "methods": list(self.methods),
            "seed": self.seed,
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
        drop_mode = data.get("drop_mode", "before")
        if drop_mode not in ("before", "after"):
            raise ValueError("drop_mode must be 'before' or 'after'")
        return cls(
            latency_ms=_number(data.get("latency_ms", 0), "latency_ms"),
            rate_429=_number(data.get("rate_429", 0), "rate_429"),
            rate_500=_number(data.get("rate_500", 0), "rate_500"),
            rate_503=_number(data.get("rate_503", 0), "rate_503"),
            drop_rate=_number(data.get("drop_rate", 0), "drop_rate"),
            drop_mode=cast(DropMode, drop_mode),
            retry_after=_int(data.get("retry_after", 1), "retry_after", minimum=0),
            methods=tuple(cast(str, _optional_method(m, "methods")) for m in methods),
            seed=_optional_int(data.get("seed"), "seed"),
            script=tuple(ScriptStep.from_json(step) for step in script),
        )


@dataclass(frozen=True)
class Decision:
    """What happens to one request: wait ``latency`` seconds, then ``fault`` (None = serve)."""

    latency: float = 0.0
    fault: FaultKind | None = None
    retry_after: int = 1
    message: str | None = None
    param: str | None = None


class FaultInjector:
    """Thread-safe decisions from a ``FaultConfig``; counts every fault it injects."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self._config = config or FaultConfig()
        self._random = random.Random(self._config.seed)  # noqa: S311 - not for security
        self._script = list(self._config.script)
        self._injected: dict[str, int] = {}

    @property
    def config(self) -> FaultConfig:
        """The current configuration, with the script's remaining steps."""
        with self._lock:
            return replace(self._config, script=tuple(self._script))

    def configure(self, config: FaultConfig) -> None:
        """Replace the configuration (and the script queue); re-seeds the random rates."""
        with self._lock:
            self._config = config
            self._random = random.Random(config.seed)  # noqa: S311 - not for security
            self._script = list(config.script)

    def decide(self, method: str, route: str) -> Decision:
        """The decision for a request with ``method`` on ``route``; scripted steps go first."""
        with self._lock:
            config = self._config
            latency = config.latency_ms / 1000.0
            step = self._from_script(method, route)
            fault = step.fault if step else None
            if fault is None and (not config.methods or method in config.methods):
                fault = self._from_rates(config)
            if fault is not None:
                self._injected[fault] = self._injected.get(fault, 0) + 1
            retry_after = step.retry_after if step else None
            return Decision(
                latency=latency,
                fault=fault,
                retry_after=config.retry_after if retry_after is None else retry_after,
                message=step.message if step else None,
                param=step.param if step else None,
            )

    def injected(self) -> dict[str, int]:
        """How many faults of each kind were injected since the last reset."""
        with self._lock:
            return {kind: self._injected.get(kind, 0) for kind in FAULT_KINDS}

    def reset_counts(self) -> None:
        """Zero the injected-fault counters."""
        with self._lock:
            self._injected.clear()

    def _from_script(self, method: str, route: str) -> ScriptStep | None:
        for index, step in enumerate(self._script):
            if step.matches(method, route):
                if step.count > 1:
                    self._script[index] = replace(step, count=step.count - 1)
                else:
                    del self._script[index]
                return step
        return None

    def _from_rates(self, config: FaultConfig) -> FaultKind | None:
        draw = self._random.random()
        drop: FaultKind = "drop_before" if config.drop_mode == "before" else "drop_after"
        thresholds: tuple[tuple[float, FaultKind], ...] = (
            (config.rate_429, "429"),
            (config.rate_500, "500"),
            (config.rate_503, "503"),
            (config.drop_rate, drop),
        )
        edge = 0.0
        for rate, kind in thresholds:
            edge += rate
            if draw < edge:
                return kind
        return None


def _reject_unknown(data: Mapping[str, Any], known: frozenset[str], what: str) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown {what} field(s): {', '.join(map(str, unknown))}")


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
