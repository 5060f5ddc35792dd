"""Everything one running emulator shares between its request threads."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.emulator.clock import EmulatedClock
from reconciler.emulator.counters import Counters
from reconciler.emulator.faults import FaultInjector
from reconciler.emulator.ticker import Ticker
from reconciler.service import RoutineStore


@dataclass
class EmulatorState:
    """The store, the clock and the test knobs behind one emulator."""

    store: RoutineStore
    clock: EmulatedClock
    ticker: Ticker
    faults: FaultInjector = field(default_factory=FaultInjector)
    counters: Counters = field(default_factory=Counters)
    token: str | None = None
    verbose: bool = False
