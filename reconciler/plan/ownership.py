"""The ownership record the reconciler keeps at the end of each routine's description.

Routines have no labels, so ownership lives in the one free-text field that survives a round trip
through the service.  The record is one bracketed line::

    Nightly summary for the ops team.

    [managed-by=reconciler v=1 stack=prod name=nightly-summary protect=1]

It names the stack (the ownership scope) *and* the routine, so a copy saved under another name
does not inherit ownership: its record names a different routine.  It also remembers what the
service does not return: the authorization identity used at creation (``auth``), the duration
text of a relative timer (``at``) and the ``protect`` flag, so protection outlives the manifest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler.contract import limits

_RECORD = re.compile(r"(?:\n\n|^)\[managed-by=reconciler ([^\]\n]*)\]\s*$")
_PAIR = re.compile(r"^([a-z]+)=([A-Za-z0-9._:-]+)$")
STACK_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
VERSION = "1"


@dataclass(frozen=True)
class Ownership:
    """Who owns a routine, and what the service cannot tell us about it."""

    stack: str
    name: str
    protect: bool = False
    auth: str = "agent"
    at: str | None = None

    def render(self) -> str:
        """The record's text (without the separating blank line)."""
        parts = [f"v={VERSION}", f"stack={self.stack}", f"name={self.name}"]
        if self.protect:
            parts.append("protect=1")
        if self.auth != "agent":
            parts.append(f"auth={self.auth}")
        if self.at:
            parts.append(f"at={self.at}")
        return f"[managed-by=reconciler {' '.join(parts)}]"


def split(description: str | None) -> tuple[str, Ownership | None]:
    """The human part of a description and the parsed record (None when absent or malformed)."""
    text = description or ""
    match = _RECORD.search(text)
    if match is None:
        return text, None
    record = _parse(match.group(1))
    if record is None:
        return text, None
    return text[: match.start()], record


def _parse(body: str) -> Ownership | None:
    fields: dict[str, str] = {}
    for token in body.split():
        pair = _PAIR.match(token)
        if pair is None:
            return None
        fields[pair.group(1)] = pair.group(2)
    if fields.get("v") != VERSION or "stack" not in fields or "name" not in fields:
        return None
    return Ownership(
        stack=fields["stack"],
        name=fields["name"],
        protect=fields.get("protect") == "1",
        auth=fields.get("auth", "agent"),
        at=fields.get("at"),
    )


def join(human: str, record: Ownership) -> str:
    """A description holding ``human`` text followed by ``record``."""
    rendered = record.render()
    if len(rendered) + 2 > limits.OWNERSHIP_RECORD_MAX:
        raise ValueError(f"ownership record is longer than {limits.OWNERSHIP_RECORD_MAX}")
    return f"{human}\n\n{rendered}" if human else rendered


def check_stack_name(stack: str) -> str | None:
    """Why ``stack`` is not a valid stack name, or None."""
    if STACK_PATTERN.match(stack):
        return None
    return (
        f"invalid stack name {stack!r}: use 1-32 letters, digits, '.', '_' or '-', "
        "starting with a letter or digit"
    )
