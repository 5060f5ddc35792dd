"""Opaque paging cursors of the list routes.

A cursor is the URL-safe base64 of ``kind:n1[:n2]``, the sort key of the last item of a page
(``r``: a routine's ``created_at`` and ``seq``; ``u``: a run's ``seq``). A cursor of another
list, or text that is not a cursor, is a 400 with param ``after``.
"""

from __future__ import annotations

import base64
import binascii

from reconciler.service.errors import bad_argument


def encode_cursor(kind: str, *numbers: int) -> str:
    """Opaque, URL-safe cursor text of a sort key."""
    text = ":".join([kind, *(str(n) for n in numbers)])
    return base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, kind: str, size: int) -> tuple[int, ...]:
    """The sort key inside a cursor from ``encode_cursor``; 400 (param ``after``) otherwise."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        found, *numbers = text.split(":")
        if found != kind or len(numbers) != size:
            raise ValueError(text)
        return tuple(int(number) for number in numbers)
    except (ValueError, UnicodeError, binascii.Error):
        shown = cursor if len(cursor) <= 60 else cursor[:60] + "..."
        message = f"after {shown!r} is not a cursor returned by this list"
        raise bad_argument("after", message) from None
