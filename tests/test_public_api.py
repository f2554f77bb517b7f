"""mockserver.__all__ is the public API: sorted, and every name in it is there."""

from __future__ import annotations

import mockserver


def test_all_is_sorted() -> None:
    assert mockserver.__all__ == sorted(mockserver.__all__)


def test_all_has_no_duplicates() -> None:
    assert len(set(mockserver.__all__)) == len(mockserver.__all__)


def test_every_name_in_all_resolves() -> None:
    missing = [name for name in mockserver.__all__ if not hasattr(mockserver, name)]
    assert missing == []


def test_unknown_name_is_an_attribute_error() -> None:
    assert not hasattr(mockserver, "NoSuchThing")
