"""One firing definition: validation's cadence rule and the store's firing agree, DST included."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.contract.cadence import check_cron, min_gap_seconds
from reconciler.contract.cron import parse_cron
from reconciler.contract.firing import firings, next_firing
from reconciler.contract.limits import MIN_CRON_GAP_SECONDS
from reconciler.service import RoutineStore

YEAR = 366 * 86_400
START = datetime(2026, 1, 1, tzinfo=UTC)


def schedule(cron: str, zone: str) -> dict[str, str]:
    return {"type": "schedule", "cron_expression": cron, "time_zone": zone}


def closest(instants: list[int]) -> int | None:
    gaps = [b - a for a, b in itertools.pairwise(instants)]
    return min(gaps) if gaps else None


# (cron, zone, rejected by the five-minute rule): both DST directions, half-hour DST, the
# southern hemisphere, a zone without DST, and schedules that only clash across a change.
DST_CASES = [
    ("0,58 2 * * *", "Europe/Stockholm", True),  # fall back: 02:58+02 then 02:00+01
    ("0,58 1 * * *", "America/New_York", True),  # fall back 01:00-02:00 repeats
    ("30 2 * * *", "Europe/Stockholm", False),  # skipped in spring: never fires that day
    ("0,57 2 * * *", "Europe/Stockholm", True),
    ("0,54 2 * * *", "Europe/Stockholm", False),  # 6 minutes at the closest
    ("30,58 1 * * *", "Australia/Lord_Howe", True),  # DST of 30 minutes: 01:30-02:00 repeats
    ("0,58 2 * * *", "America/Santiago", False),  # Santiago falls back at 24:00: not 2 am
    ("0,58 2 * * *", "Asia/Tokyo", False),  # no DST
    ("59 1 * * *", "Europe/London", False),
    ("*/5 * * * *", "Europe/Stockholm", False),
    ("*/4 * * * *", "UTC", True),
]


@pytest.mark.parametrize(("cron", "zone", "rejected"), DST_CASES)
def test_validation_and_firing_agree_on_dst_cases(cron: str, zone: str, rejected: bool) -> None:
    start = START.timestamp()
    fired = firings(schedule(cron, zone), start, start + YEAR)
    gap = closest(fired)
    assert gap is not None
    assert (gap < MIN_CRON_GAP_SECONDS) is rejected, (cron, zone, gap)
    problems = check_cron(cron, zone, now=START)
    assert bool(problems) is rejected, problems


def test_a_skipped_local_time_never_fires_and_a_repeated_one_fires_twice() -> None:
    zone = ZoneInfo("Europe/Stockholm")
    spring = datetime(2026, 3, 29, tzinfo=UTC).timestamp()
    fired = firings(
        schedule("30 2 * * *", "Europe/Stockholm"), spring - 86_400, spring + 2 * 86_400
    )
    assert [datetime.fromtimestamp(i, zone).isoformat() for i in fired] == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-30T02:30:00+02:00",
    ]
    autumn = datetime(2026, 10, 25, tzinfo=UTC).timestamp()
    fired = firings(schedule("30 2 * * *", "Europe/Stockholm"), autumn, autumn + 86_400)
    assert [datetime.fromtimestamp(i, zone).isoformat() for i in fired] == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T02:30:00+01:00",
    ]


def test_the_store_fires_by_the_same_definition(tmp_path: Path) -> None:
    """A fall-back night in the embedded project: the repeated 02:30 writes two runs."""

    class Clock:
        now_value = datetime(2026, 10, 24, 12, tzinfo=UTC).timestamp()

        def now(self) -> float:
            return self.now_value

    clock = Clock()
    store = RoutineStore(str(tmp_path / "p.db"), clock)
    body = {
        "triggers": {"t": schedule("30 2 * * *", "Europe/Stockholm")},
        "action": {"type": "invoke_agent_responses_api", "agent_name": "a"},
    }
    store.put("p", "r", body)
    until = datetime(2026, 10, 26, tzinfo=UTC).timestamp()
    clock.now_value = until
    assert store.fire_due(until) == 2
    runs, _ = store.list_runs("p", "r", limit=10, order="asc")
    expected = firings(
        body["triggers"]["t"], datetime(2026, 10, 24, 12, tzinfo=UTC).timestamp(), until
    )
    assert [r["scheduled_fire_at"] for r in runs] == expected
    store.close()


def test_timers_fire_once_and_event_triggers_never() -> None:
    assert firings({"type": "timer", "at": 100}, 99, 100) == [100]
    assert firings({"type": "timer", "at": 100}, 100, 200) == []
    assert next_firing({"type": "custom", "provider": "p", "parameters": {}}, 0) is None
    assert next_firing(schedule("0 0 29 2 *", "UTC"), START.timestamp()) == int(
        datetime(2028, 2, 29, tzinfo=UTC).timestamp()
    )


MINUTES = st.lists(st.integers(0, 59), min_size=1, max_size=3, unique=True)
HOURS = st.lists(st.integers(0, 23), min_size=1, max_size=3, unique=True)
ZONES = st.sampled_from(
    ["Europe/Stockholm", "America/New_York", "Australia/Lord_Howe", "America/Santiago",
     "Asia/Kolkata", "Pacific/Chatham", "Europe/London", "UTC"]
)  # fmt: skip


@settings(max_examples=60, deadline=None, derandomize=True)
@given(MINUTES, HOURS, st.sampled_from(["*", "1-5", "0,6", "SAT"]), ZONES)
def test_the_cadence_check_equals_the_closest_pair_of_firings(
    minutes: list[int], hours: list[int], weekdays: str, zone: str
) -> None:
    cron = f"{','.join(map(str, minutes))} {','.join(map(str, hours))} * * {weekdays}"
    start = START.timestamp()
    fired = firings(schedule(cron, zone), start - 1, start + YEAR - 1)
    scanned = min_gap_seconds(parse_cron(cron), ZoneInfo(zone), START, days=366)
    assert closest(fired) == scanned, cron
