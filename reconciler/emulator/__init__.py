"""An HTTP emulator of the Foundry Routines REST contract over the embedded SQLite store.

The real ``azure-ai-projects`` SDK can be driven against it end to end with no cloud account;
it injects latency and faults, and fires schedule/timer routines into run records.
"""

from reconciler.emulator.clock import EmulatedClock
from reconciler.emulator.fault_config import FaultConfig, ScriptStep
from reconciler.emulator.faults import FaultInjector
from reconciler.emulator.server import DEFAULT_PROJECT, Emulator

__all__ = [
    "DEFAULT_PROJECT",
    "EmulatedClock",
    "Emulator",
    "FaultConfig",
    "FaultInjector",
    "ScriptStep",
]
