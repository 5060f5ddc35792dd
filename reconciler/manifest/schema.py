"""The manifest JSON Schema, generated from the models (the checked-in copy must match)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from reconciler.contract.models import RoutineBody
from reconciler.manifest.models import ManifestDocument

MANIFEST_SCHEMA_ID = "urn:reconciler:schema:manifest:v1"
WIRE_SCHEMA_ID = "urn:reconciler:schema:routine-body:v1"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FILE = "schemas/manifest.schema.json"


def _finish(schema: dict[str, Any], schema_id: str, title: str) -> dict[str, Any]:
    return {"$schema": DRAFT, "$id": schema_id, **schema, "title": title}


@lru_cache(maxsize=1)
def manifest_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one manifest document."""
    schema = ManifestDocument.model_json_schema()
    return _finish(schema, MANIFEST_SCHEMA_ID, "reconciler manifest: Foundry routines")


@lru_cache(maxsize=1)
def wire_body_schema() -> dict[str, Any]:
    """JSON Schema of the ``PUT /routines/{name}`` body, as the service side checks it."""
    return _finish(RoutineBody.model_json_schema(), WIRE_SCHEMA_ID, "Foundry routine body")


@lru_cache(maxsize=2)
def validator_for(which: str) -> Draft202012Validator:
    """A compiled validator for ``manifest`` or ``wire``."""
    schema = manifest_schema() if which == "manifest" else wire_body_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def render(schema: dict[str, Any]) -> str:
    """The stable text form that is checked in."""
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"
