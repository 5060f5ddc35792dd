"""Numeric limits of the Foundry Routines service (docs/design.md, "Service contract").

The description limit is the service's; manifests get less, because the reconciler appends an
ownership record to every description it writes (see ``reconciler.plan.ownership``).
"""

import json
from typing import Final

NAME_MAX: Final = 128
DESCRIPTION_MAX: Final = 1024
OWNERSHIP_RECORD_MAX: Final = 256
MANIFEST_DESCRIPTION_MAX: Final = DESCRIPTION_MAX - OWNERSHIP_RECORD_MAX
AGENT_REF_MAX: Final = 256
CONVERSATION_MAX: Final = 256
SESSION_ID_MAX: Final = 256
CONNECTION_ID_MAX: Final = 256
GITHUB_OWNER_MAX: Final = 128
GITHUB_REPOSITORY_MAX: Final = 128
CUSTOM_PROVIDER_MAX: Final = 128
CUSTOM_EVENT_NAME_MAX: Final = 256
CRON_EXPRESSION_MAX: Final = 256
TIME_ZONE_MAX: Final = 64
MIN_CRON_GAP_SECONDS: Final = 300
LIST_PAGE_MAX: Final = 100
DISPATCH_INPUT_MAX: Final = 32_768  # characters of a dispatch payload's input (Learn)
# Arrays and objects nested in one JSON body (a request, an event, --input): our choice, the
# default of .NET's System.Text.Json; a routine from a manifest (YAML nested at most 64 levels,
# manifest/budget.py) always fits. Deeper JSON is refused, never parsed (Python's parser
# recurses).
JSON_DEPTH_MAX: Final = 64


def input_size(value: object) -> int:
    """The length of a dispatch ``input``, as the service's dispatch check counts it
    (``DISPATCH_INPUT_MAX``): a string's characters, any other JSON value's compact JSON text
    (the limit is Learn's "32,768 characters"; how the service counts a non-string input is not
    published)."""
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value)
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
