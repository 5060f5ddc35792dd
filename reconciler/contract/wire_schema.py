"""The JSON Schema of the ``PUT /routines/{name}`` body, generated from the wire models.

The service side (``reconciler.service``: the embedded project and the emulator) checks every
request body against it before the cross-field rules of ``reconciler.contract.rules``; the
manifest schema (``reconciler.manifest.schema``) is finished the same way.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from reconciler.contract.models import RoutineBody

WIRE_SCHEMA_ID = "urn:reconciler:schema:routine-body:v1"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def finish_schema(schema: dict[str, Any], schema_id: str, title: str) -> dict[str, Any]:
    """A generated schema with its ``$schema`` draft, ``$id`` and ``title``."""
    return {"$schema": DRAFT, "$id": schema_id, **schema, "title": title}


@lru_cache(maxsize=1)
def wire_body_schema() -> dict[str, Any]:
    """JSON Schema of the ``PUT /routines/{name}`` body, as the service side checks it."""
    return finish_schema(RoutineBody.model_json_schema(), WIRE_SCHEMA_ID, "Foundry routine body")


@lru_cache(maxsize=1)
def wire_validator() -> Draft202012Validator:
    """A compiled validator of ``wire_body_schema()``."""
    schema = wire_body_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)
