"""RFC 9110 decisions in mockserver.http, one table row per case."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mockserver.core.http import (
    Conditional,
    best_media_type,
    body_tags,
    etag_matches,
    evaluate_conditions,
    parse_etags,
    same_body,
    select_encoding,
    without_coding_suffix,
)

PROCEED = Conditional.PROCEED
NOT_MODIFIED = Conditional.NOT_MODIFIED
FAILED = Conditional.PRECONDITION_FAILED


def rows(*cases: tuple[object, ...]) -> list[object]:
    """``(id, *values)`` tuples → pytest params named by their first element."""
    return [pytest.param(*case[1:], id=str(case[0])) for case in cases]


# ---------------------------------------------------------------------------------------------
# parse_etags (§8.8.3, §13.1.1)


@pytest.mark.parametrize(
    ("header", "expected"),
    rows(
        ("one strong", '"abc"', ['"abc"']),
        ("list", '"a", "b", "c"', ['"a"', '"b"', '"c"']),
        ("list without spaces", '"a","b"', ['"a"', '"b"']),
        ("tabs and empty members", '\t"a" ,, \t"b",', ['"a"', '"b"']),
        ("weak", 'W/"a"', ['W/"a"']),
        ("weak and strong", '"a", W/"b"', ['"a"', 'W/"b"']),
        ("star", "*", None),
        ("star with spaces", "  *  ", None),
        ("star inside a list is garbage", '*, "a"', ['"a"']),
        ("garbage", "garbage", []),
        ("garbage then a tag", 'abc, "d"', ['"d"']),
        ("garbage after a tag", '"a"junk, "b"', ['"a"', '"b"']),
        ("comma inside quotes", '"a,b", "c"', ['"a,b"', '"c"']),
        ("unterminated", '"abc', []),
        ("unterminated after a tag", '"a", "b', ['"a"']),
        ("empty header", "", []),
        ("empty tag", '""', ['""']),
        ("lower-case w/ is not weak", 'w/"x"', []),
        ("space after W/", 'W/ "x"', []),
    ),
)
def test_parse_etags(header: str, expected: list[str] | None) -> None:
    tags = parse_etags(header)
    assert (None if tags is None else [str(tag) for tag in tags]) == expected


# ---------------------------------------------------------------------------------------------
# etag_matches: strong (If-Match) vs weak (If-None-Match) comparison (§8.8.3.2)


@pytest.mark.parametrize(
    ("current", "header", "strong", "weak"),
    rows(
        ("equal strong tags", '"a"', '"a"', True, True),
        ("different tags", '"a"', '"b"', False, False),
        ("weak header, strong current", '"a"', 'W/"a"', False, True),
        ("strong header, weak current", 'W/"a"', '"a"', False, True),
        ("both weak", 'W/"a"', 'W/"a"', False, True),
        ("in a list", '"b"', '"a", "b", "c"', True, True),
        ("weak in a list", '"b"', '"a", W/"b"', False, True),
        ("star", '"a"', "*", True, True),
        ("star, no current tag", None, "*", False, False),
        ("no current tag", None, '"a"', False, False),
        ("a comma inside quotes is no list", '"a"', '"a,b"', False, False),
        ("garbage", '"a"', "a", False, False),
        ("case-sensitive", '"ABC"', '"abc"', False, False),
        ("empty header", '"a"', "", False, False),
    ),
)
def test_etag_matches(current: str | None, header: str, strong: bool, weak: bool) -> None:
    assert etag_matches(current, header, weak=False) is strong
    assert etag_matches(current, header, weak=True) is weak


# ---------------------------------------------------------------------------------------------
# evaluate_conditions (§13.2.2 order)

TAG = '"v2"'
LM = datetime(2021, 6, 29, 21, 32, 25, tzinfo=UTC)
SAME = "Tue, 29 Jun 2021 21:32:25 GMT"
EARLIER = "Mon, 28 Jun 2021 21:32:25 GMT"
LATER = "Wed, 30 Jun 2021 21:32:25 GMT"

H = dict[str, str]


@pytest.mark.parametrize(
    ("method", "etag", "last_modified", "headers", "expected"),
    rows(
        ("no conditions", "GET", TAG, LM, {}, PROCEED),
        ("If-Match current", "PUT", TAG, None, {"if_match": TAG}, PROCEED),
        ("If-Match stale", "PUT", TAG, None, {"if_match": '"v1"'}, FAILED),
        (
            "If-Match weak tag is strong-compared",
            "PUT",
            TAG,
            None,
            {"if_match": "W/" + TAG},
            FAILED,
        ),
        ("If-Match in a list", "PATCH", TAG, None, {"if_match": f'"v1", {TAG}'}, PROCEED),
        ("If-Match star with a tag", "DELETE", TAG, None, {"if_match": "*"}, PROCEED),
        ("If-Match star without a tag", "PUT", None, None, {"if_match": "*"}, FAILED),
        ("If-Match on GET fails too", "GET", TAG, None, {"if_match": '"v1"'}, FAILED),
        (
            "If-Match before If-None-Match",
            "GET",
            TAG,
            None,
            {"if_match": '"v1"', "if_none_match": TAG},
            FAILED,
        ),
        (
            "If-Match holds, then If-None-Match",
            "GET",
            TAG,
            None,
            {"if_match": TAG, "if_none_match": TAG},
            NOT_MODIFIED,
        ),
        ("If-None-Match GET", "GET", TAG, None, {"if_none_match": TAG}, NOT_MODIFIED),
        ("If-None-Match HEAD", "HEAD", TAG, None, {"if_none_match": TAG}, NOT_MODIFIED),
        ("If-None-Match weak", "GET", TAG, None, {"if_none_match": "W/" + TAG}, NOT_MODIFIED),
        ("If-None-Match list", "GET", TAG, None, {"if_none_match": f'"x", {TAG}'}, NOT_MODIFIED),
        ("If-None-Match star", "GET", TAG, None, {"if_none_match": "*"}, NOT_MODIFIED),
        ("If-None-Match other", "GET", TAG, None, {"if_none_match": '"v1"'}, PROCEED),
        ("If-None-Match POST", "POST", TAG, None, {"if_none_match": TAG}, FAILED),
        ("If-None-Match star PUT", "PUT", TAG, None, {"if_none_match": "*"}, FAILED),
        ("If-None-Match star PUT, absent", "PUT", None, None, {"if_none_match": "*"}, PROCEED),
        ("If-None-Match DELETE", "DELETE", TAG, None, {"if_none_match": TAG}, FAILED),
        ("If-Unmodified-Since earlier", "PUT", TAG, LM, {"if_unmodified_since": EARLIER}, FAILED),
        ("If-Unmodified-Since same", "PUT", TAG, LM, {"if_unmodified_since": SAME}, PROCEED),
        ("If-Unmodified-Since later", "PUT", TAG, LM, {"if_unmodified_since": LATER}, PROCEED),
        ("If-Unmodified-Since malformed", "PUT", TAG, LM, {"if_unmodified_since": "x"}, PROCEED),
        (
            "If-Unmodified-Since, no date",
            "PUT",
            TAG,
            None,
            {"if_unmodified_since": EARLIER},
            PROCEED,
        ),
        (
            "If-Unmodified-Since ignored with If-Match",
            "PUT",
            TAG,
            LM,
            {"if_match": TAG, "if_unmodified_since": EARLIER},
            PROCEED,
        ),
        (
            "If-Unmodified-Since before If-None-Match",
            "GET",
            TAG,
            LM,
            {"if_unmodified_since": EARLIER, "if_none_match": TAG},
            FAILED,
        ),
        ("If-Modified-Since same", "GET", TAG, LM, {"if_modified_since": SAME}, NOT_MODIFIED),
        ("If-Modified-Since later", "HEAD", TAG, LM, {"if_modified_since": LATER}, NOT_MODIFIED),
        ("If-Modified-Since earlier", "GET", TAG, LM, {"if_modified_since": EARLIER}, PROCEED),
        (
            "If-Modified-Since malformed",
            "GET",
            TAG,
            LM,
            {"if_modified_since": "yesterday"},
            PROCEED,
        ),
        ("If-Modified-Since empty", "GET", TAG, LM, {"if_modified_since": ""}, PROCEED),
        ("If-Modified-Since, no date", "GET", TAG, None, {"if_modified_since": LATER}, PROCEED),
        ("If-Modified-Since on POST", "POST", TAG, LM, {"if_modified_since": LATER}, PROCEED),
        (
            "If-Modified-Since RFC 850 form",
            "GET",
            TAG,
            LM,
            {"if_modified_since": "Tuesday, 29-Jun-21 21:32:25 GMT"},
            NOT_MODIFIED,
        ),
        (
            # §5.6.7: a recipient MUST accept all three HTTP-date formats.
            "If-Modified-Since asctime form",
            "GET",
            TAG,
            LM,
            {"if_modified_since": "Tue Jun 29 21:32:25 2021"},
            NOT_MODIFIED,
        ),
        (
            "If-Modified-Since vs sub-second Last-Modified",
            "GET",
            TAG,
            LM.replace(microsecond=500_000),
            {"if_modified_since": SAME},
            NOT_MODIFIED,
        ),
        (
            "If-Modified-Since ignored with If-None-Match",
            "GET",
            TAG,
            LM,
            {"if_none_match": '"v1"', "if_modified_since": LATER},
            PROCEED,
        ),
        (
            "If-None-Match decides over If-Modified-Since",
            "GET",
            TAG,
            LM,
            {"if_none_match": TAG, "if_modified_since": EARLIER},
            NOT_MODIFIED,
        ),
    ),
)
def test_evaluate_conditions(
    method: str, etag: str | None, last_modified: datetime | None, headers: H, expected: object
) -> None:
    assert evaluate_conditions(method, etag, last_modified, **headers) is expected


# ---------------------------------------------------------------------------------------------
# The service's tag across the coded variants of one body (§8.8.3.3)


@pytest.mark.parametrize(
    ("tag", "expected"),
    rows(
        ("strong", '"abc"', {"abc"}),
        ("weak (nginx)", 'W/"abc"', {"abc"}),
        ("suffix (Apache)", '"abc-gzip"', {"abc-gzip", "abc"}),
        (
            "double dash: Jetty's, or Apache's on a tag ending in -",
            '"a--gzip"',
            {"a--gzip", "a-", "a"},
        ),
        ("weak with suffix", 'W/"abc-br"', {"abc-br", "abc"}),
        ("x-gzip", '"abc-x-gzip"', {"abc-x-gzip", "abc-x", "abc"}),
        ("another suffix is the tag", '"abc-msgpack"', {"abc-msgpack"}),
        ("only a suffix", '"-gzip"', {"-gzip"}),
        ("a coding inside", '"gzip-abc"', {"gzip-abc"}),
    ),
)
def test_body_tags(tag: str, expected: set[str]) -> None:
    assert body_tags(tag) == expected


@pytest.mark.parametrize(
    ("tag", "coding", "expected"),
    rows(
        ("Apache's suffix", '"abc-gzip"', "gzip", '"abc"'),
        ("Jetty's", '"abc--br"', "br", '"abc"'),
        ("weak kept weak", 'W/"abc-gzip"', "gzip", 'W/"abc"'),
        ("another coding's suffix", '"abc-gzip"', "br", '"abc-gzip"'),
        ("no suffix", 'W/"abc"', "gzip", 'W/"abc"'),
        ("nothing else", '"-gzip"', "gzip", '"-gzip"'),
    ),
)
def test_without_coding_suffix(tag: str, coding: str, expected: str) -> None:
    assert without_coding_suffix(tag, coding) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    rows(
        ("the tag", '"abc"', True),
        ("weak", 'W/"abc"', True),
        ("suffixed", '"abc-gzip"', True),
        ("in a list", '"x", W/"abc--br"', True),
        ("star", "*", True),
        ("another tag", '"abd"', False),
        ("another media type", '"abc-msgpack"', False),
        ("garbage", "abc", False),
    ),
)
def test_same_body(header: str, expected: bool) -> None:
    assert same_body('"abc"', header) is expected
    assert same_body('W/"abc"', header) is expected


CODED = 'W/"v2"'  # the coded variant of a body whose service tag is "v2"


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    rows(
        ("INM the body's tag", "GET", {"if_none_match": TAG}, NOT_MODIFIED),
        ("INM a suffixed tag", "GET", {"if_none_match": '"v2-gzip"'}, NOT_MODIFIED),
        ("INM another tag", "GET", {"if_none_match": '"v3"'}, PROCEED),
        ("INM on a write", "PUT", {"if_none_match": '"v2-br"'}, FAILED),
        ("IM the body's strong tag", "PUT", {"if_match": TAG}, PROCEED),
        ("IM the weak coded tag", "PUT", {"if_match": CODED}, FAILED),
        ("IM another tag", "PUT", {"if_match": '"v3"'}, FAILED),
        ("IM a suffixed tag: strong, exact", "PUT", {"if_match": '"v2-gzip"'}, FAILED),
    ),
)
def test_conditions_on_a_coded_variant_of_the_services_tag(
    method: str, headers: H, expected: object
) -> None:
    decided = evaluate_conditions(method, CODED, None, body_etag=TAG, **headers)
    assert decided is expected


def test_a_weak_service_tag_never_satisfies_if_match() -> None:
    weak = 'W/"v2"'
    assert evaluate_conditions("PUT", weak, None, if_match=TAG, body_etag=weak) is FAILED
    assert evaluate_conditions("GET", weak, None, if_none_match=TAG, body_etag=weak) is (
        NOT_MODIFIED
    )


def test_without_a_service_tag_only_the_representations_own_tag_counts() -> None:
    # etag: auto: one tag per coding, so "v2" does not validate the "v2-gzip" variant.
    assert evaluate_conditions("GET", '"v2-gzip"', None, if_none_match=TAG) is PROCEED
    assert evaluate_conditions("PUT", '"v2-gzip"', None, if_match=TAG) is FAILED


# ---------------------------------------------------------------------------------------------
# select_encoding (§12.5.3)

GD = ("gzip", "deflate")


@pytest.mark.parametrize(
    ("header", "available", "expected"),
    rows(
        ("no header", None, GD, "identity"),
        ("empty header: no coding wanted", "", GD, "identity"),
        ("gzip", "gzip", GD, "gzip"),
        ("deflate", "deflate", GD, "deflate"),
        ("gzip;q=0 refuses", "gzip;q=0", GD, "identity"),
        ("higher q wins", "gzip;q=0.5, deflate;q=0.8", GD, "deflate"),
        ("server order breaks ties", "deflate, gzip", GD, "gzip"),
        ("identity rated higher", "gzip;q=0.5, identity", GD, "identity"),
        ("a coding beats unrated identity", "gzip;q=0.1", GD, "gzip"),
        ("star", "*", GD, "gzip"),
        ("star stands for unlisted codings", "gzip;q=0, *", GD, "deflate"),
        ("star;q=0 refuses everything", "*;q=0", GD, None),
        ("star;q=0 but gzip", "*;q=0, gzip", GD, "gzip"),
        ("star;q=0 but identity", "*;q=0, identity", GD, "identity"),
        ("identity;q=0 alone", "identity;q=0", GD, None),
        ("identity;q=0 and gzip", "identity;q=0, gzip", GD, "gzip"),
        ("identity;q=0 and gzip;q=0", "gzip;q=0, identity;q=0", GD, None),
        ("identity;q=0, nothing offered", "identity;q=0", (), None),
        ("nothing offered", "gzip", (), "identity"),
        ("unknown coding only", "br", ("gzip",), "identity"),
        ("x-gzip alias", "x-gzip", GD, "gzip"),
        ("case-insensitive coding", "GZIP", GD, "gzip"),
        ("case-insensitive q", "deflate;Q=0.2, Gzip", GD, "gzip"),
        ("whitespace", " deflate ; q=0.5 ,gzip ", GD, "gzip"),
        ("bad q counts as 0", "gzip;q=abc", ("gzip",), "identity"),
        ("q above 1 counts as 0", "gzip;q=2", ("gzip",), "identity"),
        ("negative q counts as 0", "gzip;q=-1", ("gzip",), "identity"),
    ),
)
def test_select_encoding(
    header: str | None, available: tuple[str, ...], expected: str | None
) -> None:
    assert select_encoding(header, available) == expected


# ---------------------------------------------------------------------------------------------
# best_media_type (§12.5.1)

JSON, MSGPACK, X_MSGPACK = "application/json", "application/msgpack", "application/x-msgpack"
OFFERED = (JSON, MSGPACK, X_MSGPACK)


@pytest.mark.parametrize(
    ("accept", "expected"),
    rows(
        ("no header", None, JSON),
        ("empty header", "", JSON),
        ("json", JSON, JSON),
        ("msgpack", MSGPACK, MSGPACK),
        ("x-msgpack", X_MSGPACK, X_MSGPACK),
        ("msgpack preferred by q", f"{JSON};q=0.5, {MSGPACK}", MSGPACK),
        ("json preferred by q", f"{MSGPACK};q=0.5, {JSON}", JSON),
        ("any", "*/*", JSON),
        ("application/*", "application/*", JSON),
        ("tie: msgpack listed first", f"{MSGPACK}, {JSON}", MSGPACK),
        ("tie: json listed first", f"{JSON}, {MSGPACK}", JSON),
        ("explicit beats */*", f"*/*, {MSGPACK}", MSGPACK),
        ("explicit beats application/*", f"application/*, {X_MSGPACK}", X_MSGPACK),
        ("higher-q wildcard beats explicit", f"application/*, {MSGPACK};q=0.9", JSON),
        ("explicit range decides its q", f"{MSGPACK};q=0.1, application/*;q=0.9", JSON),
        ("json;q=0 refuses json", f"{JSON};q=0, */*", MSGPACK),
        ("msgpack;q=0 refuses msgpack", f"{MSGPACK};q=0, */*", JSON),
        ("nothing acceptable: the default", f"{MSGPACK};q=0", JSON),
        ("unrelated type: the default", "text/html", JSON),
        ("case-insensitive", "Application/MsgPack", MSGPACK),
        ("parameters", f"{MSGPACK}; charset=binary; q=1", MSGPACK),
    ),
)
def test_best_media_type(accept: str | None, expected: str) -> None:
    assert best_media_type(accept, OFFERED) == expected


def test_best_media_type_with_one_offer_always_answers_it() -> None:
    assert best_media_type("application/msgpack", ("text/plain",)) == "text/plain"
