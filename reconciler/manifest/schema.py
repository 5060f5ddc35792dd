"""The manifest JSON Schema, generated from the models (the checked-in copy must match).

The wire schema (the ``PUT`` body the service checks) lives in ``reconciler.contract.wire_schema``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from reconciler.contract.wire_schema import finish_schema, wire_validator
from reconciler.manifest.models import ManifestDocument

MANIFEST_SCHEMA_ID = "urn:reconciler:schema:manifest:v1"
SCHEMA_FILE = "schemas/manifest.schema.json"


@lru_cache(maxsize=1)
def manifest_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one manifest document."""
    schema = ManifestDocument.model_json_schema()
    return finish_schema(schema, MANIFEST_SCHEMA_ID, "reconciler manifest: Foundry routines")


@lru_cache(maxsize=2)
def validator_for(which: str) -> Draft202012Validator:
    """A compiled validator for ``manifest`` or ``wire`` (``contract.wire_schema``)."""
    if which != "manifest":
        return wire_validator()
    schema = manifest_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def render(schema: dict[str, Any]) -> str:
    """The stable text form that is checked in."""
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"
