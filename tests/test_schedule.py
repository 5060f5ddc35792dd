"""``reconciler schedule`` as a user runs it: the fires of declared routines in a window as a
table (text, json, markdown), checked against hand-worked tables across both daylight-saving
directions and against croniter where the local hours are unambiguous; and every bad input as
one line with exit code 1."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from tests.conftest import run_cli


def routine(name: str, trigger: str, agent: str = "triage", *, enabled: bool = True) -> str:
    """One routine of a manifest; ``trigger`` is the trigger's YAML fields, one per line."""
    fields = "".join(f"        {line}\n" for line in trigger.strip().splitlines())
    state = "" if enabled else "    enabled: false\n"
    return (
        f"  - name: {name}\n{state}    triggers:\n      t:\n{fields}"
        f"    action:\n      type: invoke_agent_responses_api\n      agent_name: {agent}\n"
    )


def cron(expression: str, zone: str) -> str:
    return f'type: schedule\ncron_expression: "{expression}"\ntime_zone: {zone}'


def manifest(tmp_path: Path, *routines: str) -> Path:
    path = tmp_path / "routines.yaml"
    path.write_text("routines:\n" + "".join(routines), encoding="utf-8")
    return path


def schedule_json(path: Path, *args: str) -> dict[str, Any]:
    done = run_cli("schedule", str(path), "-o", "json", *args)
    assert done.returncode == 0, done.stdout + done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def fires_of(document: dict[str, Any], name: str) -> list[tuple[str, str]]:
    return [(f["utc"], f["local"]) for f in document["fires"] if f["routine"] == name]


# (cron, zone, --from, --days) -> the fires, worked out by hand: (UTC, local with offset)
CASES: list[tuple[str, str, str, int, list[tuple[str, str]]]] = [
    (  # weekdays in Tokyo are the evening before in UTC; Monday's fire falls before the window
        "0 7 * * 1-5", "Tokyo Standard Time", "2027-03-01", 7,
        [(f"2027-03-0{d}T22:00:00Z", f"2027-03-0{d + 1}T07:00:00+09:00") for d in (1, 2, 3, 4, 7)],
    ),
    (  # spring forward (Sun 2027-03-28 02:00 -> 03:00): 02:30 does not happen that day
        "30 2 * * *", "Europe/Stockholm", "2027-03-27", 3,
        [("2027-03-27T01:30:00Z", "2027-03-27T02:30:00+01:00"),
         ("2027-03-29T00:30:00Z", "2027-03-29T02:30:00+02:00")],
    ),
    (  # fall back (Sun 2027-10-31 03:00 -> 02:00): 02:30 happens twice, an hour apart
        "30 2 * * *", "W. Europe Standard Time", "2027-10-30", 3,
        [("2027-10-30T00:30:00Z", "2027-10-30T02:30:00+02:00"),
         ("2027-10-31T00:30:00Z", "2027-10-31T02:30:00+02:00"),
         ("2027-10-31T01:30:00Z", "2027-10-31T02:30:00+01:00"),
         ("2027-11-01T01:30:00Z", "2027-11-01T02:30:00+01:00")],
    ),
    (  # New York springs forward on 2027-03-14: 09:00 local moves from 14:00 to 13:00 UTC
        "0 9 * * *", "America/New_York", "2027-03-13", 2,
        [("2027-03-13T14:00:00Z", "2027-03-13T09:00:00-05:00"),
         ("2027-03-14T13:00:00Z", "2027-03-14T09:00:00-04:00")],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("expression", "zone", "start", "days", "expected"), CASES)
def test_fires_match_the_hand_worked_table(
    tmp_path: Path,
    expression: str,
    zone: str,
    start: str,
    days: int,
    expected: list[tuple[str, str]],
) -> None:
    path = manifest(tmp_path, routine("r", cron(expression, zone)))
    document = schedule_json(path, "--from", start, "--days", str(days))
    assert fires_of(document, "r") == expected
    assert document["total_fires"] == len(expected)
    assert {f["time_zone"] for f in document["fires"]} == {zone}


@pytest.mark.parametrize(
    ("expression", "zone"),
    [("*/20 9-17 * * 1-5", "America/New_York"), ("15 6,18 1-10 * *", "Australia/Sydney"),
     ("0 12 * * 0", "Asia/Kolkata"), ("*/45 * * * *", "UTC")],
)  # fmt: skip
def test_fires_equal_croniter_where_local_hours_are_unambiguous(
    tmp_path: Path, expression: str, zone: str
) -> None:
    """Across the 2027 spring DST changes (New York, March 14; Sydney, April 4), away from the
    skipped or repeated hours, where croniter and the firing definition agree."""
    path = manifest(tmp_path, routine("r", cron(expression, zone)))
    document = schedule_json(path, "--from", "2027-03-10", "--days", "28", "--limit", "5000")
    start = datetime(2027, 3, 10, tzinfo=UTC)
    end = datetime(2027, 4, 7, tzinfo=UTC).timestamp()
    oracle = croniter(expression, start.astimezone(ZoneInfo(zone)) - _MINUTE)
    expected: list[str] = []
    while (moment := oracle.get_next(datetime)).timestamp() < end:
        if moment.timestamp() >= start.timestamp():
            expected.append(moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert [f["utc"] for f in document["fires"]] == expected
    assert len(expected) > 3


_MINUTE = datetime(2027, 1, 1, 0, 1) - datetime(2027, 1, 1)


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    return manifest(
        tmp_path,
        routine("daily", cron("30 2 * * *", "Europe/Stockholm"), agent='"agent|<b>one</b>"'),
        routine("often", cron("*/15 8-9 * * *", "Europe/Stockholm")),
        routine("paused", cron("0 7 * * *", "UTC"), enabled=False),
        routine("once", "type: timer\nat: 2027-10-31T09:00:00\ntime_zone: Europe/Stockholm"),
        routine(
            "issues",
            "type: github_issue\nconnection_id: c\nowner: o\nrepository: r\nissue_event: opened",
        ),
    )


def test_text_lists_fires_agents_offset_changes_and_routines_that_do_not_fire(mixed: Path) -> None:
    done = run_cli("schedule", str(mixed), "--from", "2027-10-30", "--days", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "Fires from Sat 2027-10-30 00:00 UTC to Mon 2027-11-01 00:00 UTC (2 days): "
        "20 fires of 5 routines (2 agents)"
    )
    assert lines[2].split() == ["UTC", "LOCAL", "ROUTINE", "TRIGGER", "AGENT"]
    assert lines[3].startswith("Sat 2027-10-30 00:30  Sat 2027-10-30 02:30 CEST  daily    t ")
    assert lines[3].endswith("  agent|<b>one</b>")
    assert "Sun 2027-10-31 01:30  Sun 2027-10-31 02:30 CET   daily" in done.stdout
    assert (
        "Sun 2027-10-31 08:00  Sun 2027-10-31 09:00 CET   once     t        triage" in done.stdout
    )
    assert "  triage: 17 fires, 2 routines" in lines
    assert "  agent|<b>one</b>: 3 fires, 1 routine" in lines
    assert (
        "  Europe/Stockholm: clocks go back 1 h at 03:00 local on Sun 2027-10-31 (01:00 UTC; "
        "UTC+02:00 to UTC+01:00): 02:00-03:00 happens twice; schedules in this zone: daily, often"
    ) in lines
    assert "  paused: disabled" in lines
    assert "  issues: github_issue trigger: fires on events, not on a clock" in lines


def test_json_counts_everything_and_lists_up_to_limit(mixed: Path) -> None:
    document = schedule_json(mixed, "--from", "2027-10-30", "--days", "2", "--limit", "4")
    assert (document["format_version"], document["kind"]) == ("1", "reconciler-schedule")
    assert (document["from"], document["until"], document["days"]) == (
        "2027-10-30T00:00:00Z",
        "2027-11-01T00:00:00Z",
        2,
    )
    assert (document["total_fires"], document["shown"], document["truncated"]) == (20, 4, True)
    assert [f["routine"] for f in document["fires"]] == ["daily", "often", "often", "often"]
    assert document["fires"][0] == {
        "utc": "2027-10-30T00:30:00Z",
        "local": "2027-10-30T02:30:00+02:00",
        "time_zone": "Europe/Stockholm",
        "routine": "daily",
        "trigger": "t",
        "type": "schedule",
        "agent": "agent|<b>one</b>",
    }
    assert document["agents"] == [
        {"agent": "triage", "fires": 17, "routines": 2},
        {"agent": "agent|<b>one</b>", "fires": 3, "routines": 1},
    ]
    assert document["offset_changes"] == [
        {
            "zone": "Europe/Stockholm",
            "at": "2027-10-31T01:00:00Z",
            "offset_before": 7200,
            "offset_after": 3600,
            "routines": ["daily", "often"],
        }
    ]
    assert document["not_firing"] == [
        {"routine": "paused", "reason": "disabled"},
        {"routine": "issues", "reason": "github_issue trigger: fires on events, not on a clock"},
    ]


def test_text_says_when_rows_are_cut(mixed: Path) -> None:
    done = run_cli("schedule", str(mixed), "--from", "2027-10-30", "--days", "2", "--limit", "3")
    assert done.returncode == 0, done.stderr
    assert "(the first 3 of 20 fires; --limit N shows more)" in done.stdout.splitlines()
    assert done.stdout.count(" daily ") + done.stdout.count(" often ") == 3


def test_markdown_escapes_manifest_strings(mixed: Path) -> None:
    done = run_cli("schedule", str(mixed), "-o", "markdown", "--from", "2027-10-30", "--days", "2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("### Routine fires from Sat 2027-10-30 00:00 UTC")
    assert "| agent\\|&lt;b&gt;one&lt;/b&gt; | 3 | 1 |" in done.stdout
    assert "<b>" not in done.stdout
    assert "- paused: disabled" in done.stdout


def test_control_characters_in_names_are_escaped_in_text(tmp_path: Path) -> None:
    path = manifest(tmp_path, routine("r", cron("0 7 * * *", "UTC"), agent='"red\\e[31mx"'))
    done = run_cli("schedule", str(path), "--from", "2027-01-04", "--days", "1")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout
    assert "red\\x1b[31mx" in done.stdout


def test_default_window_starts_now_for_seven_days(tmp_path: Path) -> None:
    path = manifest(tmp_path, routine("r", cron("0 * * * *", "UTC")))
    before = int(datetime.now(UTC).timestamp())
    document = schedule_json(path)
    start = int(datetime.fromisoformat(document["from"]).timestamp())
    assert before - 1 <= start <= before + 60
    assert document["days"] == 7
    assert document["total_fires"] in {168, 169}


def test_from_with_an_offset_is_honoured(tmp_path: Path) -> None:
    path = manifest(tmp_path, routine("r", cron("0 7 * * *", "UTC")))
    document = schedule_json(path, "--from", "2027-01-04T08:00+01:00", "--days", "1")
    assert document["from"] == "2027-01-04T07:00:00Z"
    assert fires_of(document, "r") == [("2027-01-04T07:00:00Z", "2027-01-04T07:00:00+00:00")]


def test_paths_come_from_reconciler_yaml(tmp_path: Path) -> None:
    manifest(tmp_path, routine("r", cron("0 7 * * *", "UTC")))
    (tmp_path / "reconciler.yaml").write_text("manifests: [routines.yaml]\n", encoding="utf-8")
    done = run_cli("schedule", "--from", "2027-01-04", "--days", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 fires of 1 routine (1 agent)" in done.stdout.splitlines()[0]


def test_out_writes_the_document_and_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    path = manifest(tmp_path, routine("r", cron("0 7 * * *", "UTC")))
    target = tmp_path / "out" / "fires.json"
    args = ("schedule", str(path), "-o", "json", "--from", "2027-01-04", "--days", "1")
    done = run_cli(*args, "--out", str(target))
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("", f"Wrote {target}: 1 fire in 1 day.\n")
    assert json.loads(target.read_text(encoding="utf-8"))["total_fires"] == 1
    (tmp_path / "folder").mkdir()
    refused = run_cli(*args, "--out", str(tmp_path / "folder"))
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: Invalid value for '--out': File ")
    device = run_cli(*args, "--out", os.devnull)
    assert device.returncode == 1
    assert (
        device.stderr == f"error: cannot write {os.devnull}: it exists and is not a regular file\n"
    )


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_out_refuses_a_symbolic_link(tmp_path: Path) -> None:
    path = manifest(tmp_path, routine("r", cron("0 7 * * *", "UTC")))
    real = tmp_path / "real.html"
    real.write_text("keep", encoding="utf-8")
    link = tmp_path / "link.html"
    link.symlink_to(real)
    done = run_cli("schedule", str(path), "-o", "html", "--out", str(link))
    assert done.returncode == 1
    assert "it is a symbolic link" in done.stderr
    assert real.read_text(encoding="utf-8") == "keep"


BAD_OPTIONS = [
    (("--from", "next tuesday"), "error: --from 'next tuesday' is not a date: use an ISO date"),
    (("--from", "0001-01-01"), "error: --from '0001-01-01': choose a year from 1971 to 9000"),
    (("--days", "0"), "error: Invalid value for '--days': 0 is not in the range 1<=x<=366."),
    (("--days", "367"), "error: Invalid value for '--days': 367 is not in the range 1<=x<=366."),
    (("--limit", "0"), "error: Invalid value for '--limit'"),
    (("--zone", "Europe/Stokholm"), "error: --zone: unknown time zone 'Europe/Stokholm'; did you"),
    (("-o", "html", "--days", "63"), "error: --output html shows one row per day, at most 62"),
    (("-o", "pdf"), "error: Invalid value for '--output' / '-o': 'pdf' is not one of"),
]


@pytest.mark.parametrize(("args", "first"), BAD_OPTIONS)
def test_bad_options_are_one_line_and_exit_1(
    tmp_path: Path, args: tuple[str, ...], first: str
) -> None:
    path = manifest(tmp_path, routine("r", cron("0 7 * * *", "UTC")))
    done = run_cli("schedule", str(path), *args)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.splitlines()[0].startswith(first), done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_invalid_manifest_is_located_and_exits_1(tmp_path: Path) -> None:
    path = manifest(tmp_path, routine("r", cron("0 7 * *", "UTC")))
    done = run_cli("schedule", str(path))
    assert done.returncode == 1
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"{path}:6:"), first
    assert "cron_expression" in first
    assert done.stderr.splitlines()[-1] == "error: the manifests are invalid; no schedule was made"
    assert done.stdout == ""


def test_no_paths_names_the_command(tmp_path: Path) -> None:
    done = run_cli("schedule", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: no manifest paths given",
        "hint: pass files or folders, e.g. 'reconciler schedule manifests/', or list them in "
        "reconciler.yaml",
    ]


def test_a_window_with_too_many_fires_is_refused(tmp_path: Path) -> None:
    """Eleven five-minute schedules over a year: more than the cap of 1,000,000 fires."""
    path = manifest(tmp_path, *(routine(f"r{i}", cron("*/5 * * * *", "UTC")) for i in range(11)))
    done = run_cli("schedule", str(path), "--days", "366")
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: the 366-day window holds more than 1,000,000 fires",
        "hint: choose fewer --days, or fewer manifests",
    ]


def test_help_has_examples() -> None:
    done = run_cli("schedule", "--help")
    assert done.returncode == 0
    assert "reconciler schedule manifests/ -o html --zone Europe/Stockholm" in done.stdout
    assert "schedule" in run_cli("--help").stdout
