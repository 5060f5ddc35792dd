"""``reconcile.smoke`` in a manifest: its checks and the plan's ``Smoke``."""

from __future__ import annotations

from typing import Any, Final

from reconciler.contract.limits import DISPATCH_INPUT_MAX, input_size
from reconciler.contract.timer import parse_duration
from reconciler.manifest.models import SmokeSettings
from reconciler.manifest.pointers import PointerProblem
from reconciler.plan.smoke import Smoke

TIMEOUT_MAX: Final = 3600
DEFAULT_TIMEOUT: Final = 300


def timeout_seconds(value: object) -> int | None:
    """Seconds of a smoke ``timeout`` (a duration or an integer), None when it is neither or is
    out of range (1 s to 1 h)."""
    if isinstance(value, bool):
        return None
    seconds = (
        value
        if isinstance(value, int)
        else parse_duration(value)
        if isinstance(value, str)
        else None
    )
    if seconds is None or not 0 < seconds <= TIMEOUT_MAX:
        return None
    return seconds


def check_smoke(reconcile: Any) -> list[PointerProblem]:
    """Problems of ``reconcile.smoke.timeout`` and ``.input`` (wrong types are the schema's)."""
    smoke = reconcile.get("smoke") if isinstance(reconcile, dict) else None
    if not isinstance(smoke, dict):
        return []
    return _check_input(smoke) + _check_timeout(smoke)


def _check_input(smoke: dict[str, Any]) -> list[PointerProblem]:
    """An input the service would refuse at dispatch (counted as its dispatch check counts)."""
    size = input_size(smoke.get("input"))
    if size <= DISPATCH_INPUT_MAX:
        return []
    message = (
        f"smoke input is {size:,} characters; the service accepts at most "
        f"{DISPATCH_INPUT_MAX:,} in a dispatch"
    )
    return [PointerProblem(("reconcile", "smoke", "input"), message)]


def _check_timeout(smoke: dict[str, Any]) -> list[PointerProblem]:
    if "timeout" not in smoke:
        return []
    value = smoke["timeout"]
    if not isinstance(value, int | str) or timeout_seconds(value) is not None:
        return []
    return [
        PointerProblem(
            ("reconcile", "smoke", "timeout"),
            f"smoke timeout {value!r} must be a duration from 1s to 1h (e.g. 90s, 5m) or "
            f"seconds from 1 to {TIMEOUT_MAX}",
        )
    ]


def to_smoke(settings: SmokeSettings | None) -> Smoke | None:
    """The plan's view of a checked ``reconcile.smoke``."""
    if settings is None:
        return None
    given = "input" in settings.model_fields_set
    return Smoke(
        timeout=timeout_seconds(settings.timeout) or DEFAULT_TIMEOUT,
        input=settings.input if given else None,
        has_input=given,
    )
