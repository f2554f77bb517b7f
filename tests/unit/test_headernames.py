"""core/headernames.py: the names the core sends and compares, beside aiohttp's own."""

from __future__ import annotations

from aiohttp import hdrs

from mockserver.core import headernames
from mockserver.core.headernames import CONTENT_TYPE, ETAG, VARY, lowered

# Sent as RFC 9110 spells it, where aiohttp's hdrs differs; None: aiohttp has no such name.
_OURS: dict[str, str | None] = {"ETAG": "Etag", "PROXY_CONNECTION": None, "X_API_KEY": None}


def _sent_forms() -> dict[str, str]:
    return {
        name: getattr(headernames, name)
        for name in headernames.__all__
        if name.isupper() and not name.startswith("LOWER_")
    }


def test_a_sent_name_is_aiohttps_in_identifier_and_casing() -> None:
    sent = _sent_forms()
    assert len(sent) > 20
    for name, value in sent.items():
        theirs = getattr(hdrs, name, None)
        expected = _OURS.get(name, value)
        assert (None if theirs is None else str(theirs)) == expected, name


def test_etag_is_sent_as_rfc_9110_spells_it() -> None:
    assert ETAG == "ETag"


def test_every_lower_form_is_its_sent_form_lower_cased() -> None:
    lower = [name for name in headernames.__all__ if name.startswith("LOWER_")]
    assert lower
    for name in lower:
        sent = getattr(headernames, name.removeprefix("LOWER_"))
        assert getattr(headernames, name) == sent.lower(), name


def test_lowered_is_a_frozen_set_of_lower_cased_names() -> None:
    assert lowered(CONTENT_TYPE, ETAG, VARY) == frozenset({"content-type", "etag", "vary"})
    assert isinstance(lowered(ETAG), frozenset)
