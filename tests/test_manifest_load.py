"""What the loader accepts: every timer form, variables, aliases, several documents, discovery."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.manifest.interpolate import interpolate
from reconciler.manifest.loader import load
from reconciler.manifest.sources import MAX_FILE_BYTES
from tests.conftest import BASE_ROUTINE, REPO

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z


def timer_routine(at: str, zone: str | None = None) -> str:
    extra = f"\n        time_zone: {zone}" if zone else ""
    return BASE_ROUTINE.replace(
        '        type: schedule\n        cron_expression: "0 7 * * *"\n        time_zone: UTC',
        f"        type: timer\n        at: {at}{extra}",
    )


def load_one(path: Path, variables: dict[str, str] | None = None, now: int = NOW):  # type: ignore[no-untyped-def]
    return load([str(path)], variables=variables or {}, now=now)


def test_the_example_manifests_are_valid() -> None:
    result = load([str(REPO / "manifests")], variables={}, now=int(time.time()))
    assert result.ok, [d.render() for d in result.diagnostics]
    assert len(result.routines) >= 6
    kinds = {t.type for r in result.routines for t in r.spec.triggers.values()}
    assert kinds == {"schedule", "timer", "github_issue", "custom"}
    actions = {r.spec.action.type for r in result.routines}
    assert actions == {"invoke_agent_responses_api", "invoke_agent_invocations_api"}
    forms = {t.form for r in result.routines for t in r.timers.values()}
    assert {"duration", "local", "iso"} <= forms
    zones = {
        t.time_zone
        for r in result.routines
        for t in r.spec.triggers.values()
        if t.type == "schedule"
    }
    assert any(" Standard Time" in z for z in zones)


def test_timer_forms_resolve_and_keep_what_the_user_wrote(write) -> None:
    cases = {
        "1900000000": (1_900_000_000, "epoch"),
        '"2030-09-02T09:00:00Z"': (int(datetime(2030, 9, 2, 9, tzinfo=UTC).timestamp()), "iso"),
        '"2030-09-02T11:00:00+02:00"': (
            int(datetime(2030, 9, 2, 9, tzinfo=UTC).timestamp()),
            "iso",
        ),
        "2h": (NOW + 7200, "duration"),
        "1h30m": (NOW + 5400, "duration"),
        "1d": (NOW + 86400, "duration"),
    }
    for at, (epoch, form) in cases.items():
        result = load_one(write("t.yaml", timer_routine(at)))
        assert result.ok, (at, [d.render() for d in result.diagnostics])
        timer = result.routines[0].timers["t"]
        assert (timer.epoch, timer.form) == (epoch, form), at
        assert timer.text == at.strip('"')


def test_local_time_with_windows_zone_resolves_to_utc(write) -> None:
    result = load_one(
        write("t.yaml", timer_routine('"2030-06-01T09:00:00"', "W. Europe Standard Time"))
    )
    assert result.ok
    assert result.routines[0].timers["t"].epoch == int(
        datetime(2030, 6, 1, 7, tzinfo=UTC).timestamp()
    )


def test_local_time_that_does_not_exist_is_an_error(write) -> None:
    result = load_one(write("t.yaml", timer_routine('"2030-03-31T02:30:00"', "Europe/Stockholm")))
    assert [d.line for d in result.diagnostics] == [6]
    assert "does not exist in Europe/Stockholm" in result.diagnostics[0].message


def test_unquoted_yaml_timestamp_is_kept_as_text(write) -> None:
    result = load_one(write("t.yaml", timer_routine("2030-09-02T09:00:00Z")))
    assert result.ok
    assert result.routines[0].timers["t"].text == "2030-09-02T09:00:00Z"


def test_variables_interpolate_with_fallback_and_escape(write) -> None:
    text = BASE_ROUTINE.replace(
        "agent_name: a",
        'agent_name: ${AGENT}\n      input: "cost is $${PRICE} for ${WHO:-everyone}"',
    )
    result = load_one(write("v.yaml", text), {"AGENT": "ops-agent"})
    assert result.ok, [d.render() for d in result.diagnostics]
    action = result.routines[0].spec.action
    assert action.agent_name == "ops-agent"
    assert action.input == "cost is ${PRICE} for everyone"


def test_conversation_id_is_accepted_with_a_warning(write) -> None:
    text = BASE_ROUTINE.replace("agent_name: a", "agent_name: a\n      conversation_id: conv-1")
    result = load_one(write("c.yaml", text))
    assert result.ok
    assert result.routines[0].spec.action.conversation == "conv-1"
    [warning] = result.diagnostics
    assert warning.severity == "warning" and warning.line == 11
    assert "old name of conversation" in warning.message


def test_top_level_keys_other_than_routines_are_unknown(write) -> None:
    result = load_one(write("m.yaml", "defaults: {}\n" + BASE_ROUTINE))
    assert not result.ok
    assert "unknown field 'defaults'" in result.diagnostics[0].message


def test_anchors_and_merge_keys_work(write) -> None:
    text = """\
    routines:
      - name: one
        triggers: {t: {type: schedule, cron_expression: "0 7 * * *", time_zone: UTC}}
        action: &agent
          type: invoke_agent_responses_api
          agent_name: shared-agent
      - name: two
        triggers: {t: {type: schedule, cron_expression: "0 8 * * *", time_zone: UTC}}
        action:
          <<: *agent
          input: second
    """
    result = load_one(write("m2.yaml", text))
    assert result.ok, [d.render() for d in result.diagnostics]
    two = result.routines[1].spec.action
    assert (two.agent_name, two.input) == ("shared-agent", "second")


def test_several_documents_per_file(write) -> None:
    second = BASE_ROUTINE.replace("name: r1", "name: r2")
    result = load_one(write("multi.yaml", BASE_ROUTINE + "---\n" + second + "---\n"))
    assert result.ok
    assert [r.name for r in result.routines] == ["r1", "r2"]
    assert result.routines[1].source.line == 13


def test_discovery_is_recursive_sorted_and_skips_hidden_and_config(tmp_path: Path) -> None:
    for rel in ("b/two.yml", "a/one.yaml", ".hidden/x.yaml", "notes.txt", "reconciler.yaml"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(BASE_ROUTINE.replace("r1", path.stem))
    result = load([str(tmp_path)], variables={}, now=NOW)
    assert [Path(f.path).name for f in result.files] == ["one.yaml", "two.yml"]


def test_empty_directory_yields_no_routines_and_no_error(tmp_path: Path) -> None:
    result = load([str(tmp_path)], variables={}, now=NOW)
    assert result.ok and result.routines == [] and result.files == []


def test_missing_path_is_an_error(tmp_path: Path) -> None:
    result = load([str(tmp_path / "nope")], variables={}, now=NOW)
    assert [d.message for d in result.diagnostics] == ["no such file or directory"]


def test_oversize_file_is_rejected_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("routines: []\n# " + "x" * MAX_FILE_BYTES)
    [problem] = load_one(path).diagnostics
    assert "the limit is 1048576 bytes" in problem.message


def test_alias_bomb_is_rejected_quickly(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\nroutines: []\n")
    [problem] = load_one(path).diagnostics
    assert "alias bomb" in problem.message
    assert problem.line is not None  # located; stopped long before 10**9 values were built


def test_digest_changes_when_a_manifest_changes(write) -> None:
    path = write("d.yaml", BASE_ROUTINE)
    first = load_one(path).digest
    assert load_one(path).digest == first
    path.write_text(BASE_ROUTINE.replace("0 7", "0 8"))
    assert load_one(path).digest != first


@pytest.mark.parametrize("body", ["NAME\n", "1NAME", "NA ME", "NAME:x", ""])
def test_a_malformed_variable_reference_is_an_error_not_a_lookup(body: str) -> None:
    token = "${" + body + "}"
    data, problems = interpolate({"agent_name": token}, {"NAME": "v", "1NAME": "v"})
    assert data == {"agent_name": token}
    assert [p.message for p in problems] == [
        f"invalid variable reference {token!r}: use ${{NAME}} with letters, digits and _"
    ]
