"""Tests for reconciler.contract.cron: parsing, DST-exact gaps and the service's cadence rule."""

from __future__ import annotations

import contextlib
import functools
import itertools
import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from cronsim import CronSim
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.contract.cadence import check_cron, min_gap_seconds
from reconciler.contract.closest import Scan, scan
from reconciler.contract.cron import CronError, CronSchedule, parse_cron
from reconciler.contract.limits import MIN_CRON_GAP_SECONDS
from reconciler.contract.localtime import (
    SECONDS_PER_DAY,
    constant_offset,
    local_dates,
    naive_epoch,
    offset_changes,
    resolve_day,
)
from reconciler.contract.zonedays import PlainDates, resolved_runs, window_pieces
from reconciler.contract.zones import _iana_names

NOW = datetime(2026, 1, 1, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
SANTIAGO = ZoneInfo("America/Santiago")


# --- the brute-force oracle ---------------------------------------------------------------


def _day_or(expr: str) -> bool:
    """Vixie cron rule, restated independently: OR unless either day field starts with '*'."""
    fields = expr.split()
    return not (fields[2].startswith("*") or fields[4].startswith("*"))


@functools.lru_cache(maxsize=4096)
def _croniter_minutes(field: str) -> frozenset[int]:
    return frozenset(
        m for m in range(60) if croniter.match(f"{field} * * * *", datetime(2001, 1, 1, 0, m))
    )


@functools.lru_cache(maxsize=4096)
def _croniter_hours(field: str) -> frozenset[int]:
    return frozenset(
        h for h in range(24) if croniter.match(f"* {field} * * *", datetime(2001, 1, 1, h))
    )


@functools.lru_cache(maxsize=65536)
def _croniter_day(day_fields: str, day: date, day_or: bool) -> bool:
    midnight = datetime(day.year, day.month, day.day)
    return bool(croniter.match(f"* * {day_fields}", midnight, day_or=day_or))


def _croniter_matches(expr: str, local: datetime) -> bool:
    """``croniter.match(expr, local)``, factored per field so the oracle stays fast.

    A cron match is (minute matches) and (hour matches) and (date matches), so asking croniter
    about each part separately gives the same answer as asking about the whole expression;
    ``test_factored_croniter_match_agrees_with_full_match`` checks that.
    """
    minute, hour, dom, month, dow = expr.split()
    return (
        local.minute in _croniter_minutes(minute)
        and local.hour in _croniter_hours(hour)
        and _croniter_day(f"{dom} {month} {dow}", local.date(), _day_or(expr))
    )


def fire_times_brute_force(
    expr: str, zone: ZoneInfo, start_utc: datetime, days: int
) -> list[datetime]:
    """Every absolute UTC minute in ``[start_utc, start_utc + days)`` whose wall time matches."""
    end = start_utc + timedelta(days=days)
    moment = start_utc.replace(second=0, microsecond=0)
    if moment < start_utc:
        moment += timedelta(minutes=1)
    fires = []
    while moment < end:
        local = moment.astimezone(zone).replace(tzinfo=None)
        if _croniter_matches(expr, local):
            fires.append(moment)
        moment += timedelta(minutes=1)
    return fires


def brute_force_min_gap(expr: str, zone: ZoneInfo, start_utc: datetime, days: int) -> int | None:
    fires = fire_times_brute_force(expr, zone, start_utc, days)
    gaps = [int((b - a).total_seconds()) for a, b in itertools.pairwise(fires)]
    return min(gaps) if gaps else None


@functools.cache
def _transitions(key: str) -> tuple[datetime, ...]:
    """UTC instants (to the minute) where the zone's offset changes, 2025 through 2027."""
    zone = ZoneInfo(key)
    found = []
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    previous = moment.astimezone(zone).utcoffset()
    while moment.year < 2028:
        later = moment + timedelta(hours=1)
        offset = later.astimezone(zone).utcoffset()
        if offset != previous:
            probe = moment
            while probe.astimezone(zone).utcoffset() == previous:
                probe += timedelta(minutes=1)
            found.append(probe)
        previous, moment = offset, later
    return tuple(found)


# --- the reference scan -------------------------------------------------------------------


def _scan_reference(schedule: CronSchedule, zone: ZoneInfo, start: datetime, days: int) -> Scan:
    """The day-by-day scan that ``closest.scan`` replaced, kept verbatim as its reference.

    Every local date of the window is read from the zone (``constant_offset``); an ordinary
    day contributes its first and last firing and the first one the intra-day closest pair, a
    day with an offset change is resolved time by time (``resolve_day``).
    """
    if start.tzinfo is None:
        raise ValueError("start must be a timezone-aware datetime")
    times = schedule.seconds_of_day()
    intra = _closest_adjacent(times)
    start_ts = start.timestamp()
    end_ts = start_ts + days * SECONDS_PER_DAY
    events: list[int] = []
    count = 0
    intra_pair: tuple[int, int] | None = None
    for day in local_dates(zone, start, days):
        if not schedule.matches_date(day):
            continue
        offset = constant_offset(day, zone)
        if offset is not None:
            base = naive_epoch(day) - offset
            if start_ts <= base + times[0] and base + times[-1] < end_ts:
                count += len(times)
                events.extend((base + times[0], base + times[-1]))
                if intra is not None and intra_pair is None:
                    intra_pair = (base + times[intra], base + times[intra + 1])
                continue
            firings = [base + second for second in times]
        else:
            firings = resolve_day(day, times, zone)
        inside = [instant for instant in firings if start_ts <= instant < end_ts]
        count += len(inside)
        events.extend(inside)
    return Scan(count, *_closest_pair(sorted(set(events)), intra_pair))


def _closest_adjacent(times: tuple[int, ...]) -> int | None:
    if len(times) < 2:
        return None
    return min(range(len(times) - 1), key=lambda i: times[i + 1] - times[i])


def _closest_pair(
    events: list[int], extra: tuple[int, int] | None
) -> tuple[int | None, tuple[int, int] | None]:
    candidates = [*itertools.pairwise(events), *([extra] if extra is not None else [])]
    if not candidates:
        return None, None
    best = min(candidates, key=lambda pair: (pair[1] - pair[0], pair[0]))
    return best[1] - best[0], best


# --- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("0 */5 * * * *", r"6 fields; exactly 5 are required \(minute hour day-of-month .*seconds"),
        ("0 0 * *", r"4 fields; exactly 5 are required"),
        ("61 * * * *", r"minute field: 61 is out of range 0-59"),
        ("* 24 * * *", r"hour field: 24 is out of range 0-23"),
        ("0 0 32 * *", r"day-of-month field: 32 is out of range 1-31"),
        ("0 0 0 * *", r"day-of-month field: 0 is out of range 1-31"),
        ("0 0 * 13 *", r"month field: 13 is out of range 1-12"),
        ("0 0 * * 8", r"day-of-week field: 8 is out of range 0-7"),
        ("0 0 L * *", r"day-of-month field: 'L' .*non-standard"),
        ("0 0 15W * *", r"day-of-month field: '15W' .*non-standard"),
        ("0 0 * * 5L", r"day-of-week field: '5L' .*non-standard"),
        ("0 0 * * 5#2", r"day-of-week field: '#' .*non-standard"),
        ("0 0 ? * *", r"day-of-month field: '\?' .*non-standard"),
        ("@daily", r"'@daily' is not supported; write it as '0 0 \* \* \*'"),
        ("@hourly", r"'@hourly' is not supported; write it as '0 \* \* \* \*'"),
        ("@reboot", r"macros .* are not supported"),
        ("", r"cron expression is empty"),
        ("   ", r"cron expression is empty"),
        ("a b c d e", r"minute field: 'a' is not valid"),
        ("0 0 * * FRI-SUN", r"day-of-week field: range 'FRI-SUN' goes backwards"),
        ("0 0 * MON *", r"month field: 'MON' is not valid"),
        ("0 0 * * JAN", r"day-of-week field: 'JAN' is not valid"),
        ("0 MON * * *", r"hour field: 'MON' is not valid"),
        ("*/0 * * * *", r"minute field: step must be at least 1"),
        ("*/x * * * *", r"minute field: step 'x' is not a positive number"),
        ("1,,2 * * * *", r"minute field: empty item"),
        ("1- * * * *", r"minute field: a value is missing"),
        ("1% * * * *", r"minute field: unexpected character '%'"),
        ("99999999999999999999 * * * *", r"minute field: 9+\.* is out of range 0-59"),
    ],
)
def test_parse_rejects_with_a_message_naming_the_problem(expr: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        parse_cron(expr)


@pytest.mark.parametrize(
    "expr",
    [
        "*/5 * * * *",
        "0 7 * * 1-5",
        "*/15 9-17 * * *",
        "0 0 1 * *",
        "0 */6 * * *",
        "0 9 * * MON-FRI",
        "30 2 * * SUN",
        "0 9 * * mon-fri",
        "0 0 1 jan,Jul *",
        "5/20 * * * *",
        "0 0 * * 7",
    ],
)
def test_accepted_expressions(expr: str) -> None:
    parse_cron(expr)
    for zone in ("UTC", "Europe/Stockholm", "America/New_York", "W. Europe Standard Time"):
        assert check_cron(expr, zone, now=NOW) == []


def test_parsed_sets() -> None:
    schedule = parse_cron("0,30 9-17/4 1,15 JAN-MAR mon-FRI")
    assert schedule.minutes == {0, 30}
    assert schedule.hours == {9, 13, 17}
    assert schedule.days_of_month == {1, 15}
    assert schedule.months == {1, 2, 3}
    assert schedule.weekdays == {1, 2, 3, 4, 5}
    assert schedule.day_and is False
    assert schedule.seconds_of_day()[:2] == (9 * 3600, 9 * 3600 + 1800)


def test_weekday_seven_is_sunday() -> None:
    assert parse_cron("0 0 * * 7").weekdays == {0}
    assert parse_cron("0 0 * * 5-7").weekdays == {5, 6, 0}
    assert parse_cron("0 0 * * *").weekdays == set(range(7))


@pytest.mark.parametrize(
    ("expr", "day_and", "matching", "not_matching"),
    [
        # Both restricted: OR (the 13th, or any Friday).
        ("0 0 13 * FRI", False, [date(2026, 3, 13), date(2026, 3, 6)], [date(2026, 3, 7)]),
        # day-of-week is '*': only day-of-month counts.
        ("0 0 13 * *", True, [date(2026, 3, 13)], [date(2026, 3, 6)]),
        # A field *starting* with '*' switches to AND (Vixie cron): odd days that are Mondays.
        ("0 0 */2 * MON", True, [date(2026, 3, 9)], [date(2026, 3, 16), date(2026, 3, 11)]),
    ],
)
def test_day_of_month_and_day_of_week_combination(
    expr: str, day_and: bool, matching: list[date], not_matching: list[date]
) -> None:
    schedule = parse_cron(expr)
    assert schedule.day_and is day_and
    assert all(schedule.matches_date(day) for day in matching)
    assert not any(schedule.matches_date(day) for day in not_matching)


@pytest.mark.parametrize(
    "expr",
    [
        "0 0 13 * FRI",
        "0 0 */2 * MON",
        "15 3 1-7 * 0",
        "0 12 * * 7",
        "*/20 1,23 31 * *",
        "5/20 4 * JAN,MAR *",
    ],
)
def test_matching_agrees_with_cronsim_iteration(expr: str) -> None:
    schedule = parse_cron(expr)
    start = datetime(2026, 1, 1)
    end = start + timedelta(days=120)
    expected = []
    for fire in CronSim(expr, start - timedelta(minutes=1)):
        if fire >= end:
            break
        expected.append(fire)
    ours = [
        datetime(day.year, day.month, day.day) + timedelta(seconds=second)
        for day in (start.date() + timedelta(days=i) for i in range(120))
        if schedule.matches_date(day)
        for second in schedule.seconds_of_day()
    ]
    assert ours == expected


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_parse_raises_only_cron_error_for_any_text(expr: str) -> None:
    with contextlib.suppress(CronError):
        parse_cron(expr)


_CRONISH = st.text(alphabet="0123456789*,-/ LW#?@JANMONSUNjanfri\t\u00b2\u0660", max_size=30)


@given(st.lists(_CRONISH, min_size=5, max_size=5).map(" ".join))
@settings(max_examples=500, deadline=None)
def test_parse_raises_only_cron_error_for_cron_like_text(expr: str) -> None:
    try:
        schedule = parse_cron(expr)
    except CronError:
        return
    assert schedule.months <= set(range(1, 13))
    assert schedule.weekdays <= set(range(7))


# --- check_cron -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "every"),
    [("*/4 * * * *", "4 minutes"), ("0,3 * * * *", "3 minutes"), ("* * * * *", "1 minute")],
)
def test_too_frequent_rejected(expr: str, every: str) -> None:
    problems = check_cron(expr, "Europe/Stockholm", now=NOW)
    assert len(problems) == 1
    assert f"fires every {every} at its closest" in problems[0]
    assert "the service requires at least 5 minutes between runs" in problems[0]


def test_cross_midnight_gap() -> None:
    # 23:58 then 00:01 the next day: 3 minutes, although no two times of a day are that close.
    (problem,) = check_cron("1,58 0,23 * * *", "UTC", now=NOW)
    assert (
        "fires every 3 minutes at its closest (e.g. 2026-01-01 23:58 and 2026-01-02 00:01 UTC)"
        in problem
    )


def test_check_reports_parse_and_zone_problems_together() -> None:
    problems = check_cron("61 * * * *", "Europe/Stockholmm", now=NOW)
    assert problems == [
        "minute field: 61 is out of range 0-59",
        "unknown time zone 'Europe/Stockholmm'; did you mean 'Europe/Stockholm'?",
    ]


@pytest.mark.parametrize("expr", ["0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30,31 2 *"])
def test_never_fires(expr: str) -> None:
    assert check_cron(expr, "UTC", now=NOW) == [
        f"cron expression {expr!r} never fires in the next 4 years"
    ]


def test_day_of_week_rescues_an_impossible_day_under_or() -> None:
    assert check_cron("0 0 30 2 MON", "UTC", now=NOW) == []


def test_leap_day_schedule_is_checked_over_four_years() -> None:
    assert check_cron("0 0 29 2 *", "UTC", now=NOW) == []
    (problem,) = check_cron("0,3 0 29 2 *", "UTC", now=NOW)
    assert "fires every 3 minutes at its closest (e.g. 2028-02-29 00:00 and 00:03 UTC)" in problem


def test_now_defaults_to_the_current_time_and_naive_is_utc() -> None:
    assert check_cron("*/5 * * * *", "UTC") == []
    assert check_cron("0,59 1,3 * * *", "America/New_York", now=datetime(2026, 3, 1)) != []


# --- DST ------------------------------------------------------------------------------------


def test_spring_forward_brings_firings_one_minute_apart() -> None:
    # Naively 01:59 and 03:00 are 61 minutes apart; on 2026-03-08 02:00 EST jumps to 03:00 EDT.
    expr = "0,59 1,3 * * *"
    window_start = datetime(2026, 3, 6, tzinfo=UTC)
    assert min_gap_seconds(parse_cron(expr), NEW_YORK, window_start, days=4) == 60
    assert brute_force_min_gap(expr, NEW_YORK, window_start, 4) == 60
    (problem,) = check_cron(expr, "America/New_York", now=NOW)
    assert problem == (
        "fires every 1 minute at its closest (e.g. 2026-03-08 01:59 (UTC-05:00) and 03:00 "
        "(UTC-04:00) America/New_York); the service requires at least 5 minutes between runs"
    )
    assert check_cron(expr, "UTC", now=NOW) == []


def test_spring_forward_skips_nonexistent_times() -> None:
    # 02:30 does not exist on 2026-03-08 in New York: that day does not fire at all.
    schedule = parse_cron("30 2 * * *")
    window_start = datetime(2026, 3, 7, tzinfo=UTC)
    assert min_gap_seconds(schedule, NEW_YORK, window_start, days=2) is None
    assert min_gap_seconds(schedule, NEW_YORK, window_start, days=3) == 2 * 86400 - 3600


def test_fall_back_fires_ambiguous_times_twice() -> None:
    # 2026-11-01: 01:00-01:59 happens twice in New York.
    window_start = datetime(2026, 10, 31, 12, tzinfo=UTC)
    assert min_gap_seconds(parse_cron("30 1 * * *"), NEW_YORK, window_start, days=1) == 3600
    fires = fire_times_brute_force("30 1 * * *", NEW_YORK, window_start, 1)
    assert [f.astimezone(NEW_YORK).strftime("%H:%M%z") for f in fires] == [
        "01:30-0400",
        "01:30-0500",
    ]
    # 01:58 EDT is followed by 01:00 EST two minutes later; naively the gap is 58 minutes.
    expr = "0,58 1 * * *"
    assert min_gap_seconds(parse_cron(expr), NEW_YORK, window_start, days=2) == 120
    assert brute_force_min_gap(expr, NEW_YORK, window_start, 2) == 120
    (problem,) = check_cron(expr, "America/New_York", now=NOW)
    assert "2026-11-01 01:58 (UTC-04:00) and 01:00 (UTC-05:00)" in problem
    assert check_cron(expr, "UTC", now=NOW) == []


def test_lord_howe_half_hour_shift() -> None:
    # 2026-10-04 02:00 (+10:30) jumps to 02:30 (+11:00): 01:59 and 02:30 are one minute apart.
    expr = "30,59 1,2 * * *"
    spring = datetime(2026, 10, 2, tzinfo=UTC)
    assert min_gap_seconds(parse_cron(expr), LORD_HOWE, spring, days=4) == 60
    assert brute_force_min_gap(expr, LORD_HOWE, spring, 4) == 60
    # 2026-04-05 02:00 (+11:00) falls back to 01:30 (+10:30): 01:59 then 01:30 again.
    autumn = datetime(2026, 4, 3, tzinfo=UTC)
    assert min_gap_seconds(parse_cron(expr), LORD_HOWE, autumn, days=4) == 60
    assert min_gap_seconds(parse_cron("45 1 * * *"), LORD_HOWE, autumn, days=4) == 1800
    assert check_cron(expr, "Australia/Lord_Howe", now=NOW) != []


def test_santiago_transitions_at_midnight() -> None:
    # 2026-04-04 24:00 (-03) falls back to 23:00 (-04): 23:30 on the 4th happens twice.
    autumn = datetime(2026, 4, 3, tzinfo=UTC)
    assert min_gap_seconds(parse_cron("30 23 * * *"), SANTIAGO, autumn, days=3) == 3600
    # 2026-09-06 00:00 (-04) jumps to 01:00 (-03): midnight does not exist that day.
    spring = datetime(2026, 9, 4, 12, tzinfo=UTC)
    assert min_gap_seconds(parse_cron("0 0 * * *"), SANTIAGO, spring, days=3) == 2 * 86400 - 3600
    assert min_gap_seconds(parse_cron("59 23 * * *"), SANTIAGO, spring, days=3) == 86400 - 3600


@pytest.mark.parametrize("key", ["America/Santiago", "America/Havana", "Asia/Beirut"])
@pytest.mark.parametrize(
    "expr", ["0 0 * * *", "30 0 * * *", "0,59 0,23 * * *", "*/20 0,1,23 * * *", "59 23 * * *"]
)
def test_midnight_transition_zones_match_the_oracle(key: str, expr: str) -> None:
    zone = ZoneInfo(key)
    for transition in _transitions(key)[2:4]:
        window_start = transition - timedelta(days=2, minutes=7)
        assert min_gap_seconds(parse_cron(expr), zone, window_start, days=4) == brute_force_min_gap(
            expr, zone, window_start, 4
        )


def test_window_is_half_open_and_start_may_have_seconds() -> None:
    schedule = parse_cron("0 * * * *")
    start = datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert min_gap_seconds(schedule, ZoneInfo("UTC"), start, days=1) == 3600
    assert min_gap_seconds(parse_cron("0 0 * * *"), ZoneInfo("UTC"), NOW, days=1) is None


def test_naive_start_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        min_gap_seconds(parse_cron("0 0 * * *"), NEW_YORK, datetime(2026, 1, 1))


# --- the property test ----------------------------------------------------------------------

# Generator constraints, so that croniter (the oracle) and cronsim (the parser) agree:
# * day-of-week values stay within 0-6 and never cover the whole week, and day-of-month ranges
#   never cover the whole month: croniter collapses a full range such as '0-6' or '1-31' to '*',
#   which changes its OR rule, while Vixie cron (and cronsim) only look at a leading '*'.
# * the OR/AND rule is passed to croniter explicitly (``_day_or``): croniter's default ignores
#   the Vixie "leading '*' means AND" quirk that cronsim implements.
# * ranges are never a single value ('5-5'): croniter 7 expands 'a-a' to '*' and 'a-a/n' to
#   '*/n', where cronsim (like cron) reads them as just 'a'.

_MINUTE_FIELDS = st.one_of(
    st.sampled_from(
        ["*", "*/5", "*/7", "*/15", "*/30", "0", "59", "0,58", "1,59", "0,3", "5/20", "57-59"]
    ),
    st.lists(st.integers(0, 59), min_size=1, max_size=4, unique=True).map(
        lambda values: ",".join(map(str, values))
    ),
    st.tuples(st.integers(0, 30), st.integers(1, 29), st.integers(1, 15)).map(
        lambda t: f"{t[0]}-{t[0] + t[1]}/{t[2]}"
    ),
)
_HOUR_FIELDS = st.one_of(
    st.sampled_from(["*", "*/6", "0", "23", "0,23", "1,2,3", "2", "1,3", "22-23,0-1", "*/2"]),
    st.lists(st.integers(0, 23), min_size=1, max_size=4, unique=True).map(
        lambda values: ",".join(map(str, values))
    ),
)
_DOM_FIELDS = st.one_of(
    st.just("*"),
    st.just("*"),
    st.sampled_from(["*/2", "1,15", "5-25"]),
    st.lists(st.integers(1, 31), min_size=1, max_size=3, unique=True).map(
        lambda values: ",".join(map(str, values))
    ),
    st.tuples(st.integers(1, 20), st.integers(1, 10)).map(lambda t: f"{t[0]}-{t[0] + t[1]}"),
)
_MONTH_FIELDS = st.one_of(
    st.just("*"),
    st.just("*"),
    st.lists(st.integers(1, 12), min_size=1, max_size=4, unique=True).map(
        lambda values: ",".join(map(str, values))
    ),
    st.sampled_from(["MAR,APR", "sep-nov", "3,4,9,10,11"]),
)
_DOW_FIELDS = st.one_of(
    st.just("*"),
    st.just("*"),
    st.lists(st.integers(0, 6), min_size=1, max_size=3, unique=True).map(
        lambda values: ",".join(map(str, values))
    ),
    st.sampled_from(["MON-FRI", "SAT,SUN", "0", "*/2"]),
)
_ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Stockholm",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kolkata",
]


@st.composite
def _cases(draw: st.DrawFn) -> tuple[str, str, datetime, int]:
    expr = " ".join(
        draw(field)
        for field in (_MINUTE_FIELDS, _HOUR_FIELDS, _DOM_FIELDS, _MONTH_FIELDS, _DOW_FIELDS)
    )
    key = draw(st.sampled_from(_ZONES))
    days = draw(st.integers(2, 6))
    transitions = _transitions(key) or (datetime(2026, 3, 29, 1, tzinfo=UTC),)
    anchor = draw(st.sampled_from(transitions))
    before = timedelta(
        minutes=draw(st.integers(0, days * 1440)), seconds=draw(st.sampled_from([0, 0, 30]))
    )
    return expr, key, anchor - before, days


@given(_cases())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_min_gap_matches_brute_force_oracle(case: tuple[str, str, datetime, int]) -> None:
    expr, key, window_start, days = case
    zone = ZoneInfo(key)
    expected = brute_force_min_gap(expr, zone, window_start, days)
    assert min_gap_seconds(parse_cron(expr), zone, window_start, days) == expected


@given(_cases(), st.randoms(use_true_random=False))
@settings(max_examples=60, deadline=None)
def test_factored_croniter_match_agrees_with_full_match(
    case: tuple[str, str, datetime, int], rng: random.Random
) -> None:
    expr, _, window_start, _ = case
    naive = window_start.replace(tzinfo=None, second=0, microsecond=0)
    for _ in range(20):
        moment = naive + timedelta(minutes=rng.randrange(10 * 1440))
        full = croniter.match(expr, moment, day_or=_day_or(expr))
        assert _croniter_matches(expr, moment) == full, (expr, moment)


# --- the fast scan against the reference scan -----------------------------------------------

# Both hemispheres, half-hour and 45-minute offsets, a 30-minute DST (Lord Howe), changes at
# midnight (Santiago, Havana, Beirut), negative DST (Dublin), a 2-hour DST (Troll), a skipped
# day (Apia, 2011), rules that change (Mexico City 2022, Tehran 2022, Asuncion 2024), no DST.
_DST_ZONES = [
    "Europe/Stockholm",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "America/Havana",
    "Asia/Beirut",
    "Europe/Dublin",
    "Antarctica/Troll",
    "Pacific/Apia",
    "America/Mexico_City",
    "Asia/Tehran",
    "America/Asuncion",
    "Africa/Casablanca",
    "Asia/Kathmandu",
    "UTC",
]
_TRICKY = [
    "0 0 * * *",
    "30 0 * * *",
    "59 23 * * *",
    "0,59 0,23 * * *",
    "1,58 0,23 * * *",
    "0,58 1,2 * * *",
    "30,59 1,2,3 * * *",
    "30 2 * * *",
    "*/5 * * * *",
    "*/7 0-3 * * *",
    "*/5 22-23,0-2 * * *",
    "0,3 1 * * *",
    "15 1 * * 0",
    "0 12 29 2 *",
    "*/15 * */2 * *",
]


def _starts_near_changes(key: str, year: int) -> list[datetime]:
    """Window starts from three days before to three days after each change of ``year``,
    on the hour and off it."""
    low = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    instants = set()
    for change in offset_changes(ZoneInfo(key), low, low + 366 * SECONDS_PER_DAY):
        for delta in (-3 * 86400, -86400 - 1800, -3600, -60, 0, 30, 3600, 86400, 3 * 86400 + 7):
            instants |= {change.at + delta, (change.at + delta) // 3600 * 3600}
    return [datetime.fromtimestamp(instant, UTC) for instant in sorted(instants)]


@pytest.mark.parametrize("key", _DST_ZONES)
def test_windows_starting_near_offset_changes_match_the_reference(key: str) -> None:
    zone = ZoneInfo(key)
    years = {"Pacific/Apia": 2011, "America/Mexico_City": 2022, "Asia/Tehran": 2022}
    schedules = [parse_cron(expr) for expr in _TRICKY]
    for start in _starts_near_changes(key, years.get(key, 2026)):
        for days in (2, 8):
            for schedule in schedules:
                expected = _scan_reference(schedule, zone, start, days)
                assert scan(schedule, zone, start, days) == expected, (schedule, start, days)


@pytest.mark.parametrize(
    ("key", "start"),
    [
        ("America/Mexico_City", datetime(2022, 6, 1, tzinfo=UTC)),  # last change: 2022-10-30
        ("Asia/Tehran", datetime(2022, 3, 1, 13, tzinfo=UTC)),  # last change: 2022-09-21
        ("America/Asuncion", datetime(2024, 6, 1, tzinfo=UTC)),  # no fall-back after 2024-10
        ("Pacific/Apia", datetime(2011, 6, 1, tzinfo=UTC)),  # 2011-12-30 does not exist
        ("Europe/Volgograd", datetime(2020, 6, 1, tzinfo=UTC)),  # +04 back to +03 in 2020
        ("Australia/Lord_Howe", datetime(2026, 1, 1, tzinfo=UTC)),
        ("Pacific/Auckland", datetime(2026, 3, 29, 5, tzinfo=UTC)),
        ("America/Havana", datetime(2026, 3, 6, tzinfo=UTC)),
    ],
)
def test_year_windows_with_changing_rules_match_the_reference(key: str, start: datetime) -> None:
    zone = ZoneInfo(key)
    for expr in _TRICKY:
        schedule = parse_cron(expr)
        assert scan(schedule, zone, start, 366) == _scan_reference(schedule, zone, start, 366)


@pytest.mark.parametrize(
    ("expr", "key", "start", "days", "gap"),
    [
        # Sydney and Auckland fall back 03:00 -> 02:00 on 2026-04-05: 02:58 then 02:00 again.
        ("0,58 2 * * *", "Australia/Sydney", datetime(2026, 4, 3, tzinfo=UTC), 4, 120),
        ("0,58 2 * * *", "Pacific/Auckland", datetime(2026, 4, 3, tzinfo=UTC), 4, 120),
        # They spring forward 02:00 -> 03:00 on 2026-10-04 and 2026-09-27: 01:59 then 03:00.
        ("0,59 1,3 * * *", "Australia/Sydney", datetime(2026, 10, 2, tzinfo=UTC), 4, 60),
        ("0,59 1,3 * * *", "Pacific/Auckland", datetime(2026, 9, 25, tzinfo=UTC), 4, 60),
        # Santiago: 2026-04-04 24:00 falls back to 23:00; 23:58 then 23:00 again.
        ("0,58 23 * * *", "America/Santiago", datetime(2026, 4, 3, tzinfo=UTC), 3, 120),
        # Havana: 2026-03-08 00:00 jumps to 01:00, so 23:59 and 01:00 are one minute apart.
        ("0,59 1,23 * * *", "America/Havana", datetime(2026, 3, 7, tzinfo=UTC), 3, 60),
    ],
)
def test_southern_and_midnight_changes(
    expr: str, key: str, start: datetime, days: int, gap: int
) -> None:
    zone = ZoneInfo(key)
    assert min_gap_seconds(parse_cron(expr), zone, start, days) == gap
    assert brute_force_min_gap(expr, zone, start, days) == gap


@pytest.mark.parametrize("expr", ["0 0 29 2 *", "0,3 0 29 2 *", "59 23 28,29 2 *", "0 0 29 2 1"])
@pytest.mark.parametrize("key", ["UTC", "Europe/Stockholm", "Pacific/Auckland", "America/Havana"])
def test_29_february_matches_the_reference_over_four_years(expr: str, key: str) -> None:
    zone = ZoneInfo(key)
    schedule = parse_cron(expr)
    for start in (datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 2, 28, 23, tzinfo=UTC)):
        for days in (366, 4 * 365 + 1):
            assert scan(schedule, zone, start, days) == _scan_reference(schedule, zone, start, days)


def test_every_zone_reads_every_date_of_a_year_as_constant_offset_does() -> None:
    """The per-window calendar gives every date the offset ``constant_offset`` reads (None for
    a date whose offset changes), for every zone in tzdata."""
    first = date(2025, 12, 31).toordinal()
    for key in sorted(_iana_names()):
        zone = ZoneInfo(key)
        read: dict[int, int | None] = {}
        for piece in window_pieces(zone, first, first + 368):
            if isinstance(piece, PlainDates):
                read.update(dict.fromkeys(range(piece.first, piece.last + 1), piece.offset))
            else:
                read[piece.day] = piece.offset
        assert list(read) == list(range(first, first + 369)), key
        for ordinal, offset in read.items():
            day = date.fromordinal(ordinal)
            assert offset == constant_offset(day, zone), (key, day)


def test_every_changing_day_resolves_as_resolve_day_does() -> None:
    """A date whose offset changes fires exactly where ``resolve_day`` says, in every zone."""
    times = tuple(3600 * h + 60 * m for h in range(24) for m in (0, 1, 15, 29, 30, 31, 45, 59))
    first = date(2025, 12, 31).toordinal()
    checked = 0
    for key in sorted(_iana_names()):
        zone = ZoneInfo(key)
        for piece in window_pieces(zone, first, first + 368):
            if isinstance(piece, PlainDates) or piece.offset is not None:
                continue
            assert piece.change is not None, (key, piece)
            runs = resolved_runs(piece.day, piece.change, len(times), times)
            fired = sorted(base + times[k] for base, a, b in runs for k in range(a, b))
            assert fired == resolve_day(date.fromordinal(piece.day), times, zone), (key, piece)
            checked += 1
    assert checked > 100


def test_a_changing_day_without_a_single_change_near_it_is_resolved_time_by_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fallback for a date whose offset changes but that has no one change near it (no zone
    in tzdata has one): ``resolve_day``, as the reference scan does it."""
    from reconciler.contract import closest
    from reconciler.contract.zonedays import ExactDate

    def without_changes(zone: ZoneInfo, first: int, last: int) -> list[object]:
        pieces = window_pieces(zone, first, last)
        return [ExactDate(p.day, p.offset) if isinstance(p, ExactDate) else p for p in pieces]

    monkeypatch.setattr(closest, "window_pieces", without_changes)
    for key in ("Europe/Stockholm", "Australia/Lord_Howe", "America/Santiago"):
        zone = ZoneInfo(key)
        for start in _starts_near_changes(key, 2026)[::5]:
            for expr in ("0,58 1,2 * * *", "*/7 0-3 * * *", "59 23 * * *"):
                schedule = parse_cron(expr)
                assert scan(schedule, zone, start, 3) == _scan_reference(schedule, zone, start, 3)


@pytest.mark.parametrize("key", ["Europe/Stockholm", "Australia/Lord_Howe", "America/Havana"])
def test_offset_changes_match_a_minute_by_minute_search(key: str) -> None:
    low = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    high = int(datetime(2028, 1, 1, tzinfo=UTC).timestamp())
    found = [datetime.fromtimestamp(c.at, UTC) for c in offset_changes(ZoneInfo(key), low, high)]
    assert found == list(_transitions(key))


_ANY_ZONE = sorted(_iana_names())


@st.composite
def _reference_cases(draw: st.DrawFn) -> tuple[str, str, datetime, int]:
    expr = " ".join(
        draw(field)
        for field in (_MINUTE_FIELDS, _HOUR_FIELDS, _DOM_FIELDS, _MONTH_FIELDS, _DOW_FIELDS)
    )
    key = draw(st.one_of(st.sampled_from(_DST_ZONES), st.sampled_from(_ANY_ZONE)))
    year = draw(st.sampled_from([1995, 2011, 2024, 2026, 2026, 2027, 2040]))
    low = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    changes = offset_changes(ZoneInfo(key), low, low + 366 * SECONDS_PER_DAY)
    instant = draw(st.integers(low, low + 365 * SECONDS_PER_DAY))
    if draw(st.booleans()) and changes:
        instant = draw(st.sampled_from(changes)).at + draw(st.integers(-4 * 86400, 4 * 86400))
    if draw(st.booleans()):
        instant = instant // 3600 * 3600
    days = draw(st.sampled_from([1, 2, 3, 6, 40, 366]))
    return expr, key, datetime.fromtimestamp(instant, UTC), days


@given(_reference_cases())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fast_scan_matches_the_reference_scan(case: tuple[str, str, datetime, int]) -> None:
    """Count, closest gap and the pair shown in messages: all equal to the day-by-day scan."""
    expr, key, start, days = case
    schedule, zone = parse_cron(expr), ZoneInfo(key)
    assert scan(schedule, zone, start, days) == _scan_reference(schedule, zone, start, days)


# --- speed ----------------------------------------------------------------------------------


def test_minimum_gap_constant() -> None:
    assert MIN_CRON_GAP_SECONDS == 300
