"""``reconciler export --format azd``: an azure.yaml in the azd extension's camelCase format that
plans back as no change, through the embedded project and through the emulator and real SDK."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from reconciler.emulator.server import Emulator
from reconciler.live.local import LocalBackend
from tests.conftest import REPO, apply_ok, run_cli

FAST_RETRIES = {"RECONCILER_RETRY_TOTAL": "2", "RECONCILER_RETRY_BACKOFF": "0.01"}


@pytest.fixture(params=["local", "emulator"])
def endpoint(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A project holding the example manifests' routines, as the embedded project or the
    emulator (reached through the azure backend)."""
    shutil.copytree(REPO / "manifests", tmp_path / "manifests")
    db = str(tmp_path / "p.db")
    if request.param == "local":
        apply_ok("manifests", f"local:{db}", tmp_path)
        yield f"local:{db}"
        return
    with Emulator(db) as emu:
        apply_ok("manifests", emu.endpoint(), tmp_path)
        yield emu.endpoint()


def test_export_as_azd_then_plan_shows_no_changes(endpoint: str, tmp_path: Path) -> None:
    done = run_cli(
        "export", "--format", "azd", "--out", "azd", "--endpoint", endpoint, cwd=tmp_path,
        env=FAST_RETRIES,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Exported 11 routine(s) to azd/azure.yaml." in done.stdout
    assert "review post-deploy-warmup: triggers.warmup-delay.at is the relative timer '30m'" in (
        done.stdout
    )
    text = (tmp_path / "azd/azure.yaml").read_text()
    document = yaml.safe_load(text)
    services = document["services"]
    assert len(services) == 11 and all(s["host"] == "azure.ai.routine" for s in services.values())
    assert "cron_expression" not in text and "agent_name" not in text and "cronExpression" in text
    again = run_cli(
        "plan", "azd/azure.yaml", "--detailed-exitcode", "--endpoint", endpoint, cwd=tmp_path,
        env=FAST_RETRIES,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes." in again.stdout


def test_inputs_keep_their_dollars_and_foundry_expressions(tmp_path: Path) -> None:
    backend = LocalBackend(str(tmp_path / "p.db"))
    backend.create_or_update(
        "hand-made",
        {
            "description": "costs ${PRICE}",
            "triggers": {"t": {"type": "schedule", "cron_expression": "0 9 * * *",
                               "time_zone": "UTC"}},
            "action": {"type": "invoke_agent_responses_api", "agent_name": "x",
                       "input": {"text": "${NAME} saw ${{event.body}}", "n": 3}},
        },
    )  # fmt: skip
    endpoint = ("--endpoint", f"local:{tmp_path}/p.db")
    assert (
        run_cli("export", "--format", "azd", "--out", ".", *endpoint, cwd=tmp_path).returncode == 0
    )
    service = yaml.safe_load((tmp_path / "azure.yaml").read_text())["services"]["hand-made"]
    assert service["description"] == "costs ${PRICE}"  # azd expands action.input only
    assert service["action"]["input"] == {"text": "$${NAME} saw ${{event.body}}", "n": 3}
    planned = run_cli("plan", ".", "--adopt", "--output", "json", *endpoint, cwd=tmp_path)
    [change] = json.loads(planned.stdout)["changes"]
    assert [d["path"] for d in change["diff"]] == ["ownership"]
    assert change["after"]["action"]["input"]["text"] == "${NAME} saw ${{event.body}}"


def test_names_azd_cannot_use_are_skipped_with_the_reason(tmp_path: Path) -> None:
    backend = LocalBackend(str(tmp_path / "p.db"))
    body = {
        "triggers": {"t": {"type": "schedule", "cron_expression": "0 9 * * *", "time_zone": "UTC"}},
        "action": {"type": "invoke_agent_responses_api", "agent_name": "x"},
    }
    long_name = "r" * 70
    backend.create_or_update(long_name, body)
    backend.create_or_update("short", body)
    done = run_cli(
        "export", "--format", "azd", "--endpoint", f"local:{tmp_path}/p.db", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert f"skipped {long_name}: not a valid azd service name" in done.stderr
    assert list(yaml.safe_load(done.stdout)["services"]) == ["short"]
    assert done.stdout.startswith("# Exported by 'reconciler export --format azd'")


def test_an_existing_azure_yaml_is_not_overwritten_without_force(tmp_path: Path) -> None:
    (tmp_path / "azure.yaml").write_text("name: mine\nservices: {}\n")
    args = ("export", "--format", "azd", "--out", ".", "--endpoint", f"local:{tmp_path}/p.db")
    clash = run_cli(*args, cwd=tmp_path)
    assert clash.returncode == 1 and "azure.yaml already exists" in clash.stderr
    assert (tmp_path / "azure.yaml").read_text() == "name: mine\nservices: {}\n"
    assert run_cli(*args, "--force", cwd=tmp_path).returncode == 0
    assert (tmp_path / "azure.yaml").stat().st_mode & 0o777 == 0o600
