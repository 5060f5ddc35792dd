"""Time-zone names accepted by a routine's ``schedule`` trigger.

A ``time_zone`` is either an IANA name (``Europe/Stockholm``, ``UTC``, legacy links such as
``US/Eastern`` included) or a Windows zone name (``W. Europe Standard Time``). Windows names are
mapped to IANA with the CLDR-derived table shipped by ``tzlocal`` (``tzlocal.windows_tz.win_tz``).

The set of valid IANA names is the ``tzdata`` package's ``zones`` list, not whatever happens to
be under the machine's ``/usr/share/zoneinfo``: that keeps the answer identical on every
machine (a system directory may also hold ``localtime``, ``posix/...`` or ``right/...`` entries,
which are not zone names, and a case-insensitive file system would otherwise accept
``europe/stockholm`` on one laptop and not in CI).
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import zoneinfo
from typing import Final

from tzlocal.windows_tz import win_tz

__all__ = ["is_windows_zone", "resolve_zone"]

_WINDOWS_TO_IANA: Final[dict[str, str]] = dict(win_tz)
# Placeholder entries in tzdata that are not places anyone schedules in.
_NOT_ZONES: Final = frozenset({"Factory", "localtime", "posixrules"})
_SUGGESTION_CUTOFF: Final = 0.8
_SUGGESTION_MAX_INPUT: Final = 100


def is_windows_zone(name: str) -> bool:
    """Return True if ``name`` is a Windows time-zone name known to the CLDR mapping.

    ``UTC`` is both an IANA and a Windows name, so this returns True for it.
    """
    return name in _WINDOWS_TO_IANA


@functools.lru_cache(maxsize=256)
def resolve_zone(name: str) -> zoneinfo.ZoneInfo:
    """Resolve an IANA or Windows time-zone name to a ``ZoneInfo``.

    IANA names win when a name is both (``UTC``); Windows names map through the CLDR table.
    Raises ``ValueError`` with a one-line message (with a "did you mean" suggestion when a
    known name is close) for anything else. Successful results are cached.
    """
    _reject_malformed(name)
    if name in _iana_names():
        return zoneinfo.ZoneInfo(name)
    if name in _WINDOWS_TO_IANA:
        return zoneinfo.ZoneInfo(_WINDOWS_TO_IANA[name])
    raise ValueError(_unknown_zone_message(name))


def _reject_malformed(name: str) -> None:
    """Raise ``ValueError`` for names that must never reach ``zoneinfo`` (empty, path-like)."""
    if not isinstance(name, str):
        raise ValueError(f"time zone must be a string, got {type(name).__name__}")
    if not name.strip():
        raise ValueError("time zone is empty")
    if name != name.strip():
        raise ValueError(f"time zone {name!r} has leading or trailing whitespace")
    if name.startswith("/") or "\\" in name or ".." in name.split("/") or "\x00" in name:
        raise ValueError(f"time zone {name!r} is not a zone name (path-like names are rejected)")


@functools.lru_cache(maxsize=1)
def _iana_names() -> frozenset[str]:
    """Every IANA key in the ``tzdata`` package (falls back to the system's list)."""
    try:
        text = importlib.resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8")
        names = frozenset(text.split())
    except (ModuleNotFoundError, OSError):  # pragma: no cover - tzdata is a dependency
        names = frozenset(zoneinfo.available_timezones())
    return names - _NOT_ZONES


@functools.lru_cache(maxsize=1)
def _all_names() -> tuple[str, ...]:
    """IANA and Windows names, sorted, for suggestions."""
    return tuple(sorted(_iana_names() | _WINDOWS_TO_IANA.keys()))


def _suggestion(name: str) -> str | None:
    """The closest known name to ``name`` (case-insensitive exact match first), if any."""
    if len(name) > _SUGGESTION_MAX_INPUT:
        return None
    candidates = _all_names()
    folded = {candidate.casefold(): candidate for candidate in candidates}
    if name.casefold() in folded:
        return folded[name.casefold()]
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=_SUGGESTION_CUTOFF)
    return close[0] if close else None


def _unknown_zone_message(name: str) -> str:
    shown = name if len(name) <= _SUGGESTION_MAX_INPUT else name[:_SUGGESTION_MAX_INPUT] + "..."
    suggestion = _suggestion(name)
    if suggestion is not None:
        return f"unknown time zone {shown!r}; did you mean {suggestion!r}?"
    return (
        f"unknown time zone {shown!r}; expected an IANA name such as 'Europe/Stockholm' "
        "or a Windows zone name such as 'W. Europe Standard Time'"
    )
