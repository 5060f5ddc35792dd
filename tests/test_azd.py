"""azd's ``azure.yaml`` as a manifest source: routine services plan like the equivalent
manifests, and every bad input is a located error (file, line, the field as azd writes it)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.diagnostics import Location
from reconciler.manifest.azd_load import locate
from reconciler.manifest.yamlsafe import load_documents
from tests.conftest import BASE_ROUTINE, REPO, run_cli

CORPUS = REPO / "tests/corpus/azd"
VARS = ("--var", "DIGEST_TOPIC=sales", "--var", "REGION=eu")

Write = Callable[[str, str], Path]


def _plan(tmp_path: Path, path: str, *extra: str) -> dict[str, Any]:
    done = run_cli(
        "plan", path, "--output", "json", "--endpoint", f"local:{tmp_path}/p.db", *VARS, *extra,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return dict(json.loads(done.stdout))


def _comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """A plan document without what names the files (paths, lines, digest, warnings)."""
    changes = [{k: v for k, v in c.items() if k != "source"} for c in doc["changes"]]
    return {**doc, "manifest_digest": None, "changes": changes, "diagnostics": None}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(CORPUS, tmp_path / "azd")
    return tmp_path


def test_azure_yaml_plans_exactly_like_the_equivalent_manifests(project: Path) -> None:
    from_azd = _plan(project, "azd/project/azure.yaml")
    from_manifests = _plan(project, "azd/equivalent")
    assert _comparable(from_azd) == _comparable(from_manifests)
    assert from_azd["summary"]["create"] == 4
    digest = next(c for c in from_azd["changes"] if c["name"] == "daily-digest")
    assert digest["after"]["action"]["input"] == {"topic": "sales", "body": "${{event.body}}"}
    assert digest["source"] == {"file": "azd/project/azure.yaml", "line": 10, "col": 3}
    [deprecated] = from_azd["diagnostics"]
    assert (deprecated["line"], deprecated["field"]) == (55, "services.deploy-hook.config")


def test_after_apply_both_sources_say_no_changes_and_are_one_stack(project: Path) -> None:
    endpoint = ("--endpoint", f"local:{project}/p.db")
    done = run_cli("apply", "azd/project", "--auto-approve", *endpoint, *VARS, cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    for source in ("azd/project", "azd/project/azure.yaml", "azd/equivalent"):
        again = run_cli("plan", source, "--detailed-exitcode", *endpoint, *VARS, cwd=project)
        assert again.returncode == 0, source + again.stdout + again.stderr
        assert "No changes." in again.stdout


def test_a_folder_holding_azure_yaml_reads_only_azure_yaml(project: Path) -> None:
    folder = _plan(project, "azd/project")
    assert _comparable(folder) == _comparable(_plan(project, "azd/project/azure.yaml"))
    (project / "azd/project/infra/bad.yaml").write_text("not: [a manifest\n")
    both = run_cli("validate", "azd", *VARS, cwd=project)  # a walk: azure.yaml, routines.yaml
    assert both.returncode == 1 and "bad.yaml" not in both.stdout
    assert "azd/project/azure.yaml:10:3: services.daily-digest.name: duplicate routine name " in (
        both.stdout
    )


def test_a_changed_ref_file_refuses_the_saved_plan(project: Path) -> None:
    endpoint = ("--endpoint", f"local:{project}/p.db")
    saved = project / "plan.json"
    made = run_cli("plan", "azd/project", "--out", str(saved), *endpoint, *VARS, cwd=project)
    assert made.returncode == 0, made.stderr
    ref = project / "azd/project/routines/nightly-report.yaml"
    ref.write_text(ref.read_text().replace("30 2", "45 2"))
    done = run_cli("apply", str(saved), *endpoint, cwd=project)
    assert done.returncode == 1 and "changed since the plan was made" in done.stderr


SERVICE = """\
name: p
services:
  r:
    host: azure.ai.routine
{body}"""
CAMEL = """\
    triggers:
      t:
        type: schedule
        cronExpression: "0 9 * * *"
        timeZone: UTC
    action:
      type: invoke_agent_responses_api
      agentName: a
"""


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.splitlines())


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (CAMEL.replace("agentName", "agentNme"), "azure.yaml:12:7: services.r.action.agentNme: "
         "unknown field 'agentNme' (did you mean 'agentName'?)"),
        (CAMEL.replace("UTC", "Mars/Base"), "azure.yaml:9:19: services.r.triggers.t.timeZone: "
         "unknown time zone 'Mars/Base'"),
        (CAMEL.replace("cronExpression", "cron_expression").replace("timeZone: UTC",
         "time_zone: Mars/Base"), "azure.yaml:9:20: services.r.triggers.t.time_zone: unknown "
         "time zone"),
        (CAMEL.replace('        timeZone: UTC\n', ""), "azure.yaml:6:7: services.r.triggers.t"
         ".timeZone: missing required field 'timeZone'"),
        (CAMEL.replace('"0 9 * * *"', '"* * * * *"'), "azure.yaml:8:25: services.r.triggers.t."
         "cronExpression: fires every 1 minute"),
        (CAMEL.replace("    action:", "        time_zone: UTC\n    action:"), "azure.yaml:10:9: "
         "services.r.triggers.t.time_zone: give either time_zone or timeZone, not both"),
        (CAMEL + '      input: "${NOPE}"\n', "azure.yaml:13:14: services.r.action.input: "
         "undefined variable ${NOPE}"),
        (CAMEL + "      conversation_id: c\n", "azure.yaml:13:7: services.r.action."
         "conversation_id: unknown field 'conversation_id' (did you mean 'conversation'?)"),
        (CAMEL + "    trigers: {}\n", "azure.yaml:13:5: services.r.trigers: unknown field"),
        (CAMEL + "    enabled: yes please\n", "azure.yaml:13:14: services.r.enabled: must be "
         "true or false"),
        ("    $ref: https://example.com/r.yaml\n", "azure.yaml:5:11: services.r.$ref: $ref "
         "'https://example.com/r.yaml' is a URL"),
        ("    $ref: ../elsewhere.yaml\n", "azure.yaml:5:11: services.r.$ref: $ref "
         "'../elsewhere.yaml' is outside the folder of azure.yaml"),
        ("    $ref: ./missing.yaml\n", "azure.yaml:5:11: services.r.$ref: cannot use $ref "
         "missing.yaml: cannot read file"),
        ("    $ref: sub/r.txt\n", "azure.yaml:5:11: services.r.$ref: $ref 'sub/r.txt' must "
         "name a .yaml, .yml or .json file (azd reads no other"),
        ("    triggers: {}\n    triggers: {}\n", "azure.yaml:6:5: services.r.triggers: "
         "duplicate key 'triggers'"),
    ],
)  # fmt: skip
def test_each_bad_service_is_one_located_error(
    tmp_path: Path, write: Write, body: str, expected: str
) -> None:
    write("azure.yaml", SERVICE.format(body=body))
    done = run_cli("validate", "azure.yaml", cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("azure.yaml:"), done.stdout  # every error is located
    assert any(line.startswith(expected) for line in lines), done.stdout


def test_problems_inside_a_ref_file_name_that_file(tmp_path: Path, write: Write) -> None:
    write("azure.yaml", SERVICE.format(body="    $ref: routines/r.yaml\n"))
    write("routines/r.yaml", CAMEL.replace("    ", "", 1).replace("\n    ", "\n"))
    assert run_cli("validate", ".", cwd=tmp_path).returncode == 0
    write("routines/r.yaml", "triggers: {t: {type: schedule, cronExpression: '0 9 * * *'}}\n")
    done = run_cli("validate", ".", cwd=tmp_path)
    assert done.returncode == 1
    assert "routines/r.yaml:1:12: triggers.t.timeZone: missing required field 'timeZone'" in (
        done.stdout
    )
    write("routines/r.yaml", "$ref: other.yaml\n")
    nested = run_cli("validate", ".", cwd=tmp_path)
    assert "routines/r.yaml:1:1: $ref: a $ref file cannot hold another $ref" in nested.stdout


def test_only_action_input_is_expanded_and_service_env_is_its_scope(
    tmp_path: Path, write: Write
) -> None:
    body = CAMEL.replace("    triggers:", '    description: "costs ${PRICE}"\n    triggers:')
    write("azure.yaml", SERVICE.format(body=body + '      input: "${A} ${B:-b}"\n'))
    doc = _plan(tmp_path, "azure.yaml", "--var", "A=1")
    after = doc["changes"][0]["after"]
    assert after["description"] == "costs ${PRICE}"  # azd leaves it as written
    assert after["action"]["input"] == "1 b"
    scoped = body + '      input: "${A}"\n' + "    env:\n      A: from-env-${B}\n"
    write("azure.yaml", SERVICE.format(body=scoped))
    doc = _plan(tmp_path, "azure.yaml", "--var", "A=1", "--var", "B=2")
    assert doc["changes"][0]["after"]["action"]["input"] == "from-env-2"
    write("azure.yaml", SERVICE.format(body=body + '      input: "${A}"\n    env: {}\n'))
    isolated = run_cli("validate", "azure.yaml", "--var", "A=1", cwd=tmp_path)
    assert isolated.returncode == 1 and "undefined variable ${A}" in isolated.stdout


def test_a_name_inside_the_service_is_ignored_with_a_warning(tmp_path: Path, write: Write) -> None:
    write("azure.yaml", SERVICE.format(body="    name: other\n" + CAMEL))
    done = run_cli("validate", "azure.yaml", cwd=tmp_path)
    assert done.returncode == 0
    assert "azure.yaml:5:11: services.r.name: warning: name is ignored: the service key 'r'" in (
        done.stdout
    )


def test_ref_files_are_yaml_or_json_as_in_azd(tmp_path: Path, write: Write) -> None:
    properties = CAMEL.replace("    ", "", 1).replace("\n    ", "\n")
    for name in ("r.YML", "r.json", "r"):
        write(f"sub/{name}", properties)
        write("azure.yaml", SERVICE.format(body=f"    $ref: sub/{name}\n"))
        done = run_cli("validate", ".", cwd=tmp_path)
        assert done.returncode == 0, (name, done.stdout)
    write("sub/r.txt", properties)
    write("azure.yaml", SERVICE.format(body="    $ref: sub/r.txt\n"))
    assert run_cli("validate", ".", cwd=tmp_path).returncode == 1


def test_config_beside_inline_properties_is_ignored_with_a_warning(
    tmp_path: Path, write: Write
) -> None:
    write("azure.yaml", SERVICE.format(body=CAMEL + "    config:\n      description: lost\n"))
    done = run_cli("validate", "azure.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert (
        "azure.yaml:13:5: services.r.config: warning: config: is ignored: the service has routine "
        "properties of its own, and azd reads config: only when it has none"
    ) in done.stdout
    doc = _plan(tmp_path, "azure.yaml")
    assert doc["changes"][0]["after"]["description"] == ""


def test_a_project_without_routine_services_loads_nothing_and_never_prunes(
    tmp_path: Path, write: Write
) -> None:
    write("azure.yaml", "name: p\nservices:\n  web:\n    host: containerapp\n")
    done = run_cli("validate", ".", cwd=tmp_path)
    assert done.returncode == 0
    assert "no routine services here (services with host: azure.ai.routine)" in done.stdout


def test_service_errors_during_apply_point_at_the_azd_spelling(write: Write) -> None:
    path = write("azure.yaml", SERVICE.format(body=CAMEL))
    [doc] = load_documents(path.read_text())
    start = Location(str(path), 3, 3)
    found = locate(doc, start, "triggers.t.cron_expression")
    assert found == Location(str(path), 8, 25)
    assert locate(doc, start, "action.agent_name") == Location(str(path), 12, 18)
    assert locate(doc, Location(str(path), 1, 1), "action") is None


def test_manifests_and_projects_under_an_azd_folder_are_a_warning_naming_them(
    tmp_path: Path, write: Write
) -> None:
    service = SERVICE.format(body=CAMEL)
    write("azure.yaml", service)
    write("apps/bot/azure.yaml", service.replace("  r:", "  bot:"))
    write("apps/bot/extra.yaml", "routines: []\n")  # named when apps/bot is walked
    write("manifests/m.yaml", "# team routines\n" + BASE_ROUTINE)
    write("infra/main.parameters.yaml", "location: swedencentral\n")  # not a manifest
    done = run_cli("validate", ".", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    [line] = [x for x in done.stdout.splitlines() if "not read" in x]
    assert line.startswith("./azure.yaml: warning: this folder is an azd project, so only ")
    assert "not read: apps/bot/azure.yaml (an azd project), manifests/m.yaml (a manifest);" in line
    assert "give them as paths too (e.g. `. apps/bot/azure.yaml manifests/m.yaml`)" in line
    assert "infra" not in line and "extra.yaml" not in line
    assert "Valid: 1 routine(s) in 1 file(s), 1 warning(s)." in done.stdout
    both = run_cli("validate", ".", "manifests/m.yaml", "apps/bot", cwd=tmp_path)
    assert both.returncode == 0, both.stdout
    [warned] = [x for x in both.stdout.splitlines() if "not read" in x]
    assert warned.startswith("apps/bot/azure.yaml: warning: ")
    assert "not read: apps/bot/extra.yaml (a manifest);" in warned
    assert "Valid: 3 routine(s) in 3 file(s), 1 warning(s)." in both.stdout
    every = run_cli("validate", ".", "manifests", "apps/bot", "apps/bot/extra.yaml", cwd=tmp_path)
    assert "Valid: 3 routine(s) in 4 file(s), 0 warning(s)." in every.stdout, every.stdout
