"""The published manifest schema: what editors check as you type (``schemas/manifest.schema.json``).

It is the validation schema (generated from the models) plus the limits the service rules know
(``contract.limits`` and ``contract.rules``): ``maxLength``, ``pattern``, exactly one trigger.
The loader checks those with the rules themselves (each with a precise message), so they are
added here only, for editors; a test keeps schema and rules in agreement. Editors see the text
before ``${VAR}`` interpolation, so a value that holds ``${`` is exempt from ``pattern``.

Its ``$id`` is the https URL of the file at a release's tag, so a modeline
``# yaml-language-server: $schema=<that URL>`` works in any repository.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any, Final

from reconciler import REPOSITORY, __version__
from reconciler.contract import limits
from reconciler.contract.rules import NAME_PATTERN

_AT_TEXT_MAX: Final = 64
_INTERPOLATED: Final = r".*\$\{.*"
NAME_RULE: Final = f"^(?:{NAME_PATTERN.pattern[1:-1]}|{_INTERPOLATED})$"
# $defs model -> property -> maximum length (the service's limits, or the manifest's)
_LENGTHS: Final[dict[str, dict[str, int]]] = {
    "RoutineSpec": {"name": limits.NAME_MAX, "description": limits.MANIFEST_DESCRIPTION_MAX},
    "ScheduleTrigger": {
        "cron_expression": limits.CRON_EXPRESSION_MAX,
        "time_zone": limits.TIME_ZONE_MAX,
    },
    "ManifestTimerTrigger": {"at": _AT_TEXT_MAX, "time_zone": limits.TIME_ZONE_MAX},
    "GithubIssueTrigger": {
        "connection_id": limits.CONNECTION_ID_MAX,
        "owner": limits.GITHUB_OWNER_MAX,
        "repository": limits.GITHUB_REPOSITORY_MAX,
    },
    "CustomTrigger": {
        "provider": limits.CUSTOM_PROVIDER_MAX,
        "event_name": limits.CUSTOM_EVENT_NAME_MAX,
    },
    "ManifestResponsesAction": {
        "agent_name": limits.AGENT_REF_MAX,
        "agent_endpoint_id": limits.AGENT_REF_MAX,
        "conversation": limits.CONVERSATION_MAX,
        "conversation_id": limits.CONVERSATION_MAX,
    },
    "InvocationsAction": {
        "agent_name": limits.AGENT_REF_MAX,
        "agent_endpoint_id": limits.AGENT_REF_MAX,
        "session_id": limits.SESSION_ID_MAX,
    },
}


def schema_url(which: str = "manifest", version: str = __version__) -> str:
    """Where a release publishes a schema: the file at the release's tag on GitHub."""
    return f"https://raw.githubusercontent.com/{REPOSITORY}/v{version}/schemas/{which}.schema.json"


def modeline(which: str = "manifest") -> str:
    """The first line of a manifest that tells yaml-language-server which schema to use."""
    return f"# yaml-language-server: $schema={schema_url(which)}"


@lru_cache(maxsize=1)
def editor_schema() -> dict[str, Any]:
    """The published manifest schema (the validation schema plus the rules' limits)."""
    from reconciler.manifest.schema import manifest_schema  # noqa: PLC0415 - no cycle at import

    schema = copy.deepcopy(manifest_schema())
    schema["$id"] = schema_url("manifest")
    definitions = schema["$defs"]
    for model, lengths in _LENGTHS.items():
        properties = definitions[model]["properties"]
        for field, maximum in lengths.items():
            _limit(properties[field], maximum)
    spec = definitions["RoutineSpec"]["properties"]
    spec["name"].update(minLength=1, pattern=NAME_RULE)
    spec["triggers"].update(
        minProperties=1,
        maxProperties=1,
        propertyNames={"maxLength": limits.NAME_MAX, "pattern": NAME_RULE},
    )
    return schema


def _limit(node: dict[str, Any], maximum: int) -> None:
    """``maxLength`` on a string property (or on the string branch of a union)."""
    if node.get("type") == "string":
        node["maxLength"] = maximum
        return
    for branch in node.get("anyOf", []):
        if branch.get("type") == "string":
            branch["maxLength"] = maximum
