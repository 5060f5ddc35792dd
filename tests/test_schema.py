"""The checked-in JSON Schema equals the models' schema and accepts what the loader accepts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

from reconciler.manifest.editor_schema import editor_schema
from reconciler.manifest.schema import SCHEMA_FILE, manifest_schema, render
from tests.conftest import REPO


def test_checked_in_schema_matches_the_models() -> None:
    checked_in = (REPO / SCHEMA_FILE).read_text(encoding="utf-8")
    assert checked_in == render(editor_schema()), (
        "schemas/manifest.schema.json is stale: run 'reconciler schema > "
        "schemas/manifest.schema.json'"
    )


def test_schema_is_draft_2020_12_with_an_id_and_forbids_unknown_fields() -> None:
    schema = json.loads((REPO / SCHEMA_FILE).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("https://raw.githubusercontent.com/")
    assert schema["$id"].endswith("/schemas/manifest.schema.json")
    assert schema["additionalProperties"] is False
    for name, definition in schema["$defs"].items():
        if definition.get("type") == "object" and name != "ManifestDocument":
            assert definition.get("additionalProperties") is False, name


def test_every_example_manifest_is_valid_under_the_checked_in_schema() -> None:
    validator = Draft202012Validator(json.loads((REPO / SCHEMA_FILE).read_text()))
    files = sorted((REPO / "manifests").rglob("*.yaml"))
    assert len(files) >= 3
    for path in files:
        for doc in yaml.safe_load_all(path.read_text()):
            assert list(validator.iter_errors(doc)) == [], path


def test_the_schema_rejects_an_unknown_field() -> None:
    validator = Draft202012Validator(manifest_schema())
    doc = {
        "routines": [
            {
                "name": "x",
                "triggers": {},
                "action": {"type": "invoke_agent_responses_api", "agent_name": "a"},
                "colour": "blue",
            }
        ]
    }
    assert any("colour" in e.message for e in validator.iter_errors(doc))


def test_check_jsonschema_accepts_the_examples() -> None:
    tool = str(Path(sys.executable).parent / "check-jsonschema")
    files = [str(p) for p in sorted((REPO / "manifests").rglob("*.yaml"))]
    done = subprocess.run(
        [tool, "--schemafile", str(REPO / SCHEMA_FILE), *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_strict_model_never_accepts_what_the_schema_rejects() -> None:
    """The loader skips jsonschema for documents the strict model accepts; that is only sound
    if strict acceptance implies schema acceptance."""
    from pydantic import ValidationError

    from reconciler.manifest.models import ManifestDocument
    from tests.test_manifest_invalid import CASES

    validator = Draft202012Validator(manifest_schema())
    routine = yaml.safe_load((REPO / "manifests/ops/regional.yaml").read_text())["routines"][0]
    tricky = [
        {**routine, "enabled": "true"},
        {**routine, "enabled": 1},
        {**routine, "name": 5},
        {**routine, "triggers": {"t": {"type": "timer", "at": 1.0}}},
        {**routine, "triggers": {"t": {"type": "timer", "at": True}}},
        {**routine, "triggers": {"t": {"type": "timer", "at": None}}},
        {**routine, "description": None},
        {**routine, "reconcile": None},
        {**routine, "action": {**routine["action"], "input": {"nested": [1, None, True]}}},
    ]
    documents = [{"routines": [r]} for r in tricky]
    for case in CASES:
        try:
            documents.append(yaml.safe_load(case[1]))
        except yaml.YAMLError:
            continue  # not YAML PyYAML can read: the loader rejects it before any schema
    documents += [
        doc
        for p in sorted((REPO / "manifests").rglob("*.yaml"))
        for doc in yaml.safe_load_all(p.read_text())
    ]
    checked = 0
    for doc in documents:
        try:
            ManifestDocument.model_validate(doc, strict=True)
        except ValidationError:
            continue
        checked += 1
        assert list(validator.iter_errors(doc)) == [], doc
    assert checked >= 10
