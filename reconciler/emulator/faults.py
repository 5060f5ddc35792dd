"""Fault and latency injection for the emulator: thread-safe decisions from a ``FaultConfig``.

``FaultInjector`` turns the configuration into one ``Decision`` per request (scripted steps
first, then the seeded random rates) and counts what it injects. The fault kinds, the list modes
and the JSON form of the configuration are described in ``fault_config.py``; every name defined
there can still be imported from here.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, replace
from typing import cast

from reconciler.emulator.fault_config import (
    BODY_FAULTS,
    COUNTED_KINDS,
    FAULT_KINDS,
    LIST_MODES,
    LIST_ROUTES,
    NAMED_ONLY_ROUTES,
    RATES,
    STATUS_OF,
    BadBody,
    BodyFault,
    DropMode,
    FaultConfig,
    FaultKind,
    ListMode,
    ScriptStep,
    StatusFault,
)


@dataclass(frozen=True)
class Decision:
    """What happens to one request: wait ``latency`` seconds, then ``fault`` (None = serve).

    ``status`` is a bad body's status; ``list_mode`` applies when a list page is served.
    """

    latency: float = 0.0
    fault: FaultKind | None = None
    retry_after: int = 1
    message: str | None = None
    param: str | None = None
    status: int = 200
    trickle_interval: float = 1.0
    list_mode: ListMode = "normal"


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
            named_only = route in NAMED_ONLY_ROUTES
            step = self._from_script(method, route, named_only)
            fault = step.fault if step else None
            if (
                fault is None
                and not named_only
                and (not config.methods or method in config.methods)
            ):
                fault = self._from_rates(config)
            self._count(fault)
            list_mode = config.list_mode if route in LIST_ROUTES else "normal"
            if list_mode != "normal" and fault in (None, "trickle", "drop_after"):
                self._count(list_mode)
            retry_after = step.retry_after if step else None
            return Decision(
                latency=config.latency_ms / 1000.0,
                fault=fault,
                retry_after=config.retry_after if retry_after is None else retry_after,
                message=step.message if step else None,
                param=step.param if step else None,
                status=200 if step is None or step.status is None else step.status,
                trickle_interval=config.trickle_interval,
                list_mode=list_mode,
            )

    def injected(self) -> dict[str, int]:
        """How many faults of each kind (and list-mode pages) were injected since the reset."""
        with self._lock:
            return {kind: self._injected.get(kind, 0) for kind in COUNTED_KINDS}

    def reset_counts(self) -> None:
        """Zero the injected-fault counters."""
        with self._lock:
            self._injected.clear()

    def _count(self, kind: str | None) -> None:
        if kind is not None:
            self._injected[kind] = self._injected.get(kind, 0) + 1

    def _from_script(self, method: str, route: str, named_only: bool) -> ScriptStep | None:
        for index, step in enumerate(self._script):
            if step.matches(method, route) and (step.route == route or not named_only):
                if step.count > 1:
                    self._script[index] = replace(step, count=step.count - 1)
                else:
                    del self._script[index]
                return step
        return None

    def _from_rates(self, config: FaultConfig) -> FaultKind | None:
        """A fault drawn from the rates (new rates come last, so old seeds keep their outcomes)."""
        draw = self._random.random()
        edge = 0.0
        for name, kind in RATES.items():
            edge += getattr(config, name)
            if draw < edge:
                return cast(FaultKind, kind or self._drawn_kind(name, config))
        return None

    def _drawn_kind(self, rate: str, config: FaultConfig) -> str:
        """A drop's mode (``random``: a second draw) or a bad body's kind (``any``: likewise)."""
        if rate == "drop_rate":
            mode = config.drop_mode
            if mode == "random":
                mode = "before" if self._random.random() < 0.5 else "after"
            return f"drop_{mode}"
        return self._random.choice(BODY_FAULTS) if config.bad_body == "any" else config.bad_body


__all__ = [
    "BODY_FAULTS",
    "COUNTED_KINDS",
    "FAULT_KINDS",
    "LIST_MODES",
    "LIST_ROUTES",
    "RATES",
    "STATUS_OF",
    "BadBody",
    "BodyFault",
    "Decision",
    "DropMode",
    "FaultConfig",
    "FaultInjector",
    "FaultKind",
    "ListMode",
    "ScriptStep",
    "StatusFault",
]
