"""The ownership record: round trip, limits, and what does not count as a record."""

from __future__ import annotations

import pytest

from reconciler.contract import limits
from reconciler.plan.ownership import Ownership, check_stack_name, join, split


def test_round_trip_keeps_every_field_and_the_human_text() -> None:
    record = Ownership(stack="prod", name="nightly", protect=True, auth="creator", at="30m")
    text = join("Nightly summary.\nTwo lines.", record)
    assert split(text) == ("Nightly summary.\nTwo lines.", record)


def test_empty_human_text() -> None:
    record = Ownership(stack="s", name="n")
    assert join("", record) == "[managed-by=reconciler v=1 stack=s name=n]"
    assert split(join("", record)) == ("", record)


def test_the_largest_record_fits_the_reserved_room() -> None:
    record = Ownership(
        stack="s" * 32,
        name="n" * limits.NAME_MAX,
        protect=True,
        auth="creator",
        at="1w2d3h4m5s1234567"[:16],
    )
    full = join("d" * limits.MANIFEST_DESCRIPTION_MAX, record)
    assert len(full) <= limits.DESCRIPTION_MAX


@pytest.mark.parametrize(
    "text",
    [
        "plain description",
        "mentions [managed-by=reconciler] in passing, then more text",
        "[managed-by=reconciler v=2 stack=s name=n]",
        "[managed-by=reconciler v=1 name=n]",
        "[managed-by=reconciler v=1 stack=s name=n evil stuff]",
        "text\n[managed-by=reconciler v=1 stack=s name=n]",
    ],
)
def test_text_that_is_not_a_valid_record_is_not_ownership(text: str) -> None:
    assert split(text) == (text, None)


def test_none_description() -> None:
    assert split(None) == ("", None)


@pytest.mark.parametrize(
    ("stack", "ok"),
    [
        ("prod", True),
        ("team-a.eu_1", True),
        ("", False),
        ("-x", False),
        ("a b", False),
        ("s" * 33, False),
    ],
)
def test_stack_names(stack: str, ok: bool) -> None:
    assert (check_stack_name(stack) is None) is ok
