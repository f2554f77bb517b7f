"""RequestView.negotiation: the negotiation and condition headers found in one pass."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.core.request import NEGOTIATION_HEADERS, NotJson, RequestView

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


# -- the body's JSON reading: json.loads's value or its error, whatever the shortcut ----------

JSON_BODIES = [
    b'{"name": "Rex", "tag": "dog"}',
    b'  {"a": 1}',  # leading whitespace: the shortcut cannot take it
    b'{"a": 1}\r\n\t ',  # trailing whitespace JSON allows
    b'{"a": 1}\x0b',  # ... and one it does not (str.isspace would)
    b'{"a": 1} {"b": 2}',  # extra data
    b'{"a": 1',
    b"[1, 2.5, -0, 1e400, NaN, -Infinity]",  # json.loads's own readings
    b"123456789012345678901234567890",
    b"[18446744073709551615, 18446744073709551616, -9223372036854775808]",  # past 64 bits
    b"-9223372036854775809",
    b'{"id": 9999999999999999999}',  # 19 digits: past int64, within uint64
    b"[1e-400, 1E+2, 1.0000000000000000000000001, 0.1, 5e-324, -0.0]",
    b'{"a": 1, "a": 2}',  # the last of a repeated name
    b'"tab\\there"',  # an escaped tab
    b'"tab\there"',  # a raw control character in a string
    b'"\\x"',  # no such escape
    b"01",
    b'"\\u0000"',
    b'"\xed\xa0\x80"',  # a surrogate encoded in UTF-8 (json.loads reads it with surrogatepass)
    b'"\\ud800"',  # a lone surrogate escape
    b"\xef\xbb\xbf" + b'{"bom": true}',  # UTF-8 with a BOM
    '{"utf16": "é"}'.encode("utf-16"),
    '{"u": 1}'.encode("utf-16-le"),
    '{"u": 1}'.encode("utf-32-be"),
    b'{"bad": "\xff"}',  # not UTF-8
    b"7",
    b"\x00",
    b"[" * 100_000,  # deeper than the recursion limit
]


@settings(max_examples=300, deadline=None)
@given(
    value=st.recursive(
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=12,
    ),
    spaces=st.sampled_from(["", " ", "\n\t", "\r\n  "]),
    ascii_only=st.booleans(),
)
def test_any_json_text_reads_as_json_loads_reads_it(
    value: object, spaces: str, ascii_only: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=1 if spaces else None)
    for body in ((spaces + text + spaces).encode(), text.encode("utf-16")):
        got = RequestView("POST", "/", "", [("Content-Type", "application/json")], body).json()
        shown = got.reason if isinstance(got, NotJson) else json.dumps(got)
        assert shown == _reading(body)


def _reading(body: bytes) -> object:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return f"the body is not JSON ({exc})"
    return json.dumps(value)  # NaN compares unequal to itself; its text does not


@pytest.mark.parametrize("body", JSON_BODIES, ids=range(len(JSON_BODIES)))
def test_the_json_reading_is_json_loads_value_or_its_error(body: bytes) -> None:
    got = RequestView("POST", "/", "", [("Content-Type", "application/json")], body).json()
    shown = got.reason if isinstance(got, NotJson) else json.dumps(got)
    assert shown == _reading(body)


def test_the_content_type_is_the_first_sent_whatever_the_case() -> None:
    sent = [("Host", "x"), ("content-TYPE", "application/json"), ("Content-Type", "text/plain")]
    assert RequestView("POST", "/", "", sent).content_type == "application/json"
    mapped = RequestView("POST", "/", "", sent)
    assert mapped.headers["content-type"] == ["application/json", "text/plain"]  # built first
    assert mapped.content_type == "application/json"
    assert RequestView("POST", "/", "", [("Content-Length", "2")]).content_type == ""


@pytest.mark.parametrize(
    ("content_type", "msgpack"),
    [
        ("application/msgpack", True),
        ("Application/X-MsgPack; charset=binary", True),
        ("application/json", False),
        ("application/msgpack-ish", False),
        ("", False),
    ],
)
def test_msgpack_is_told_by_the_content_type(content_type: str, msgpack: bool) -> None:
    view = RequestView("POST", "/", "", [("Content-Type", content_type)], b"\x80")
    assert view.is_msgpack is msgpack
