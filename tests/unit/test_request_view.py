"""RequestView.negotiation: the negotiation and condition headers found in one pass."""

from __future__ import annotations

import pytest

from mockserver.core.request import NEGOTIATION_HEADERS, RequestView

HEADERS = [
    ("Host", "example.test"),
    ("ACCEPT", "application/json"),
    ("accept-encoding", "gzip"),
    ("Accept-Encoding", "br;q=0.5"),
    ("If-None-Match", '"a"'),
    ("X-Other", "1"),
    ("RANGE", "bytes=0-9"),
]


def test_it_finds_each_header_whatever_its_case_and_joins_repeats() -> None:
    negotiation = RequestView("GET", "/", "", HEADERS).negotiation
    found = dict(zip(NEGOTIATION_HEADERS, negotiation, strict=True))
    assert found == {
        "accept": "application/json",
        "accept-encoding": "gzip, br;q=0.5",
        "if-match": None,
        "if-none-match": '"a"',
        "if-modified-since": None,
        "if-unmodified-since": None,
        "range": "bytes=0-9",
        "if-range": None,
    }


def test_it_agrees_with_the_headers_mapping_once_that_is_built() -> None:
    scanned = RequestView("GET", "/", "", HEADERS)
    mapped = RequestView("GET", "/", "", HEADERS)
    assert mapped.headers["accept-encoding"] == ["gzip", "br;q=0.5"]  # built first
    assert mapped.negotiation == scanned.negotiation


@pytest.mark.parametrize("build_mapping_first", [False, True])
def test_an_empty_value_is_not_an_absent_header(build_mapping_first: bool) -> None:
    # "Accept-Encoding:" with no value means identity only (RFC 9110 §12.5.3); absence
    # means any coding. The two must not collapse into one.
    view = RequestView("GET", "/", "", [("Accept-Encoding", "")])
    if build_mapping_first:
        assert view.headers == {"accept-encoding": [""]}
    assert view.negotiation[1] == ""
    assert RequestView("GET", "/").negotiation == (None,) * len(NEGOTIATION_HEADERS)
