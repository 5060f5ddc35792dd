"""``reconciler export --format azd``: the live routines as the services of an azd ``azure.yaml``,
in the azd extension's current camelCase authoring format, that plans back as no change.

Each routine becomes a service ``host: azure.ai.routine`` keyed by its name (``docs/
migrate-from-azd.md``). ``${`` in ``action.input`` (the only field azd expands) is written as
``$${``, except where it opens Foundry's ``${{...}}``; other fields are copied as they are. A
routine whose name azd cannot use as a service key is skipped, with the reason.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from reconciler.export import Exported, export, fields
from reconciler.live.base import WireRoutine
from reconciler.manifest.azd import ROUTINE_HOST, escape_input, to_azd_keys

FILE_NAME = "azure.yaml"
# azd's service names (azdext.ValidateServiceName): a letter or digit, then [A-Za-z0-9._-]
SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")

HEADER = (
    "# Exported by 'reconciler export --format azd' from {target}.\n"
    "# Routine services in the azd extension's camelCase authoring format ('reconciler plan\n"
    "# azure.yaml' reads it, and the older snake_case one). To use them in your azd project,\n"
    "# merge the services into its azure.yaml and add 'uses: [<agent service>]' where the agent\n"
    "# a routine invokes is declared there too.\n"
    "# Review before committing: action inputs and custom parameters are copied as they are and\n"
    "# may hold secrets (mark them with reconcile.sensitive and use ${{VAR}} instead).\n"
)


def export_azd(live: list[WireRoutine], now: int) -> Exported:
    """One routine service per live routine, in name order (routines as manifest fields)."""
    result = export(live, now, convert=fields)
    kept: list[dict[str, Any]] = []
    for routine in result.routines:
        name = str(routine["name"])
        if SERVICE_NAME.match(name):
            kept.append(routine)
        else:
            result.skipped.append(
                (name, "not a valid azd service name (at most 63 letters, digits, '.', '_', '-')")
            )
    result.routines = kept
    return result


def relative_timers(routines: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(routine, field, duration) of each timer exported as reconciler's relative ``at``
    (``30m``): azd would send that text as it is."""
    found = []
    for routine in routines:
        for name, trigger in routine["triggers"].items():
            at = trigger.get("at")
            if trigger.get("type") == "timer" and isinstance(at, str) and not _ISO_DATE.match(at):
                found.append((str(routine["name"]), f"triggers.{name}.at", at))
    return found


def to_service(routine: dict[str, Any]) -> dict[str, Any]:
    """The service entry of one routine (manifest fields, as ``fields`` gives them)."""
    body = to_azd_keys({k: v for k, v in routine.items() if k != "name"})
    action = body.get("action")
    if isinstance(action, dict) and "input" in action:
        body["action"] = {**action, "input": escape_input(action["input"])}
    return {"host": ROUTINE_HOST, **body}


def dump_azd(routines: list[dict[str, Any]], target: str, project: str) -> str:
    """The text of an ``azure.yaml`` holding ``routines`` as services of project ``project``."""
    services = {str(r["name"]): to_service(r) for r in routines}
    body = yaml.safe_dump(
        {"name": project, "services": services},
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return HEADER.format(target=target) + body
