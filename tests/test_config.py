"""reconciler.yaml: parsing, located errors, environment resolution and the merge rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler import config
from reconciler.config import ConfigError
from reconciler.manifest.schema import render
from tests.conftest import BASE_ROUTINE, REPO, run_cli

CONFIG = """\
stack: team-a
manifests: [shared]
variables: {AGENT: shared-agent, LEVEL: 1}
ignore_differences: [/description]
environments:
  dev:
    endpoint: ${DEV_ENDPOINT}
    manifests: [dev-only]
    variables: {AGENT: dev-agent}
  prod:
    endpoint: https://contoso.services.ai.azure.com/api/projects/${PROJECT}
    variables: {PROJECT: prod}
    prune: {enabled: true, max_deletes: 2}
    ignore_differences: [/enabled]
"""


def write_config(tmp_path: Path, text: str = CONFIG) -> config.LoadedConfig:
    path = tmp_path / "reconciler.yaml"
    path.write_text(text)
    return config.load(str(path))


def test_checked_in_config_schema_matches_the_model() -> None:
    assert (REPO / "schemas/config.schema.json").read_text() == render(config.config_schema())


def test_this_repository_config_is_valid() -> None:
    loaded = config.load(str(REPO / "reconciler.yaml"))
    assert loaded.diagnostics == []
    assert set(loaded.config.environments) == {"dev", "prod", "local"}
    assert loaded.config.default_environment == "local"


def test_default_environment_is_used_without_env_and_must_exist(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text(
        "stack: s\ndefault_environment: try\nenvironments:\n"
        "  try: {endpoint: 'local:t.db', manifests: [extra]}\n"
    )
    loaded = config.load(str(tmp_path / "reconciler.yaml"))
    assert loaded.diagnostics == []
    resolved = config.resolve(loaded, None, {})
    assert resolved.environment == "try" and resolved.endpoint == (
        "local:t.db",
        f"environment try in {tmp_path}/reconciler.yaml",
    )
    assert config.resolve(loaded, "try", {}).paths == resolved.paths
    (tmp_path / "reconciler.yaml").write_text("stack: s\ndefault_environment: nope\n")
    [problem] = config.load(str(tmp_path / "reconciler.yaml")).diagnostics
    assert problem.line == 2 and problem.field == "default_environment"
    assert "'nope' is not one of the environments (none are defined)" in problem.message


def test_shared_settings_without_an_environment(tmp_path: Path) -> None:
    resolved = config.resolve(write_config(tmp_path), None, {})
    assert resolved.stack == "team-a"
    assert resolved.paths == (str(tmp_path / "shared"),)
    assert resolved.variables == {"AGENT": "shared-agent", "LEVEL": "1"}
    assert resolved.endpoint is None and resolved.prune is False


def test_environment_merges_paths_variables_prune_and_ignore_rules(tmp_path: Path) -> None:
    loaded = write_config(tmp_path)
    dev = config.resolve(loaded, "dev", {"DEV_ENDPOINT": "local:dev.db"})
    assert dev.paths == (str(tmp_path / "shared"), str(tmp_path / "dev-only"))
    assert dev.variables["AGENT"] == "dev-agent" and dev.variables["LEVEL"] == "1"
    assert dev.endpoint == ("local:dev.db", f"environment dev in {loaded.path}")
    assert dev.ignore == ("/description",)
    prod = config.resolve(loaded, "prod", {})
    assert prod.endpoint is not None
    assert prod.endpoint[0] == "https://contoso.services.ai.azure.com/api/projects/prod"
    assert (prod.prune, prod.max_deletes) == (True, 2)
    assert prod.ignore == ("/description", "/enabled")


def test_unresolved_endpoint_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not resolve"):
        config.resolve(write_config(tmp_path), "dev", {})


def test_unknown_environment_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"'staging' is not in .* \(dev, prod\)"):
        config.resolve(write_config(tmp_path), "staging", {})


def test_env_without_a_configuration_file() -> None:
    with pytest.raises(ConfigError, match="needs a configuration file"):
        config.resolve(None, "dev", {})


def test_errors_are_located_with_did_you_mean(tmp_path: Path) -> None:
    loaded = write_config(
        tmp_path, CONFIG.replace("    manifests: [dev-only]", "    manifest: [dev-only]")
    )
    [problem] = loaded.diagnostics
    assert (problem.line, problem.field) == (8, "environments.dev.manifest")
    assert "did you mean 'manifests'" in problem.message


def test_bad_stack_name_is_located(tmp_path: Path) -> None:
    [problem] = write_config(tmp_path, "stack: 'has space'\n").diagnostics
    assert (problem.line, problem.field) == (1, "stack")


def test_cli_refuses_a_named_environment_whose_endpoint_is_unset(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text(CONFIG)
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared/r.yaml").write_text(BASE_ROUTINE)
    done = run_cli("plan", "--env", "dev", cwd=tmp_path)
    assert done.returncode == 1
    assert "does not resolve" in done.stderr and "refusing to fall back" in done.stderr
    assert not (tmp_path / ".reconciler").exists()


def test_cli_uses_the_environment(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text(CONFIG)
    for folder, name in (("shared", "r1"), ("dev-only", "r2")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "r.yaml").write_text(
            BASE_ROUTINE.replace("r1", name).replace("agent_name: a", "agent_name: ${AGENT}")
        )
    done = run_cli(
        "plan",
        "--env",
        "dev",
        "--output",
        "json",
        cwd=tmp_path,
        env={"DEV_ENDPOINT": f"local:{tmp_path}/dev.db"},
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["target"] == {
        "endpoint": f"local:{tmp_path}/dev.db",
        "stack": "team-a",
        "environment": "dev",
    }
    assert [c["after"]["action"]["agent_name"] for c in doc["changes"]] == ["dev-agent"] * 2


def test_an_explicit_endpoint_wins_over_an_unresolvable_environment_endpoint(
    tmp_path: Path,
) -> None:
    (tmp_path / "reconciler.yaml").write_text(
        CONFIG.replace("environments:", "default_environment: dev\nenvironments:")
    )
    for folder, name in (("shared", "r1"), ("dev-only", "r2")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "r.yaml").write_text(
            BASE_ROUTINE.replace("r1", name).replace("agent_name: a", "agent_name: ${AGENT}")
        )
    (tmp_path / "agents.yaml").write_text("agents:\n  - name: dev-agent\n    kind: hosted\n")
    loaded = run_cli("agents", "load", "agents.yaml", "--endpoint", "local:x.db", cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    done = run_cli("plan", "--endpoint", "local:x.db", "--output", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["target"] == {"endpoint": "local:x.db", "stack": "team-a", "environment": "dev"}
    assert [c["after"]["action"]["agent_name"] for c in doc["changes"]] == ["dev-agent"] * 2
    without = run_cli("plan", cwd=tmp_path)  # the environment's own endpoint must resolve
    assert without.returncode == 1 and "does not resolve" in without.stderr


def test_routine_defined_in_base_and_environment_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text(CONFIG)
    for folder in ("shared", "dev-only"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "r.yaml").write_text(BASE_ROUTINE)
    done = run_cli(
        "plan", "--env", "dev", cwd=tmp_path, env={"DEV_ENDPOINT": f"local:{tmp_path}/dev.db"}
    )
    assert done.returncode == 1
    assert "duplicate routine name 'r1': also defined at" in done.stderr
    assert "shared/r.yaml:2:11" in done.stderr


def test_invalid_config_file_fails_every_command(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("stack: ok\nenvironments:\n  dev: {}\n")
    done = run_cli("plan", "x", cwd=tmp_path)
    assert done.returncode == 1
    assert (
        "reconciler.yaml:3:" in done.stderr and "missing required field 'endpoint'" in done.stderr
    )


def test_the_configured_prune_policy_applies_only_to_the_configured_manifests(
    tmp_path: Path,
) -> None:
    (tmp_path / "reconciler.yaml").write_text("stack: s\nmanifests: [m]\nprune: {enabled: true}\n")
    (tmp_path / "m").mkdir()
    (tmp_path / "m/a.yaml").write_text(BASE_ROUTINE)
    (tmp_path / "m/b.yaml").write_text(BASE_ROUTINE.replace("r1", "r2"))
    endpoint = f"local:{tmp_path}/p.db"
    assert run_cli("apply", "--auto-approve", "--endpoint", endpoint, cwd=tmp_path).returncode == 0
    picked = run_cli("plan", "m/a.yaml", "--output", "json", "--endpoint", endpoint, cwd=tmp_path)
    doc = json.loads(picked.stdout)
    assert doc["prune"] is False and [b["rule"] for b in doc["blocked_deletes"]] == ["prune_off"]
    configured = run_cli("plan", "--output", "json", "--endpoint", endpoint, cwd=tmp_path)
    assert json.loads(configured.stdout)["prune"] is True


def test_variable_names_follow_the_interpolation_rule(tmp_path: Path) -> None:
    text = (
        "variables:\n"
        "  1A: x\n"
        "  ok_1: y\n"
        "environments:\n"
        "  dev:\n"
        "    endpoint: local:dev.db\n"
        "    variables: {a-b: z, _fine: 1}\n"
    )
    rule = (
        "is not allowed here: a variable name is letters, digits and _, not starting with a "
        "digit (as in ${NAME})"
    )
    found = [(d.line, d.col, d.field, d.message) for d in write_config(tmp_path, text).diagnostics]
    assert found == [
        (2, 3, "variables.1A", f"'1A' {rule}"),
        (7, 17, "environments.dev.variables.a-b", f"'a-b' {rule}"),
    ]
    done = run_cli("validate", cwd=tmp_path)
    assert done.returncode == 1
    assert f"reconciler.yaml:2:3: variables.1A: '1A' {rule}" in done.stdout
    schema = json.loads((REPO / "schemas/config.schema.json").read_text())
    names = {
        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
        "description": "a variable name is letters, digits and _, not starting with a digit "
        "(as in ${NAME})",
    }
    assert schema["properties"]["variables"]["propertyNames"] == names
    assert schema["$defs"]["EnvironmentConfig"]["properties"]["variables"]["propertyNames"] == names
