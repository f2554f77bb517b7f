"""recording.py: exchanges → redacted stubs → YAML that loads back as the same answers."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import UTC, datetime
from typing import Any

import pytest

from mockserver.recording.exchange import (
    RECORDED_MARK,
    Exchange,
    Redaction,
    decode_body,
    redact_exchange,
)
from mockserver.recording.stubs import StubBuilder, service_document, stubs_from_exchanges
from mockserver.stubfiles.documents import read_document
from mockserver.stubfiles.stubfile import parse_service

JSON = (("Content-Type", "application/json"),)


def exchange(
    path: str = "/a",
    *,
    method: str = "GET",
    query: tuple[tuple[str, str], ...] = (),
    request_headers: tuple[tuple[str, str], ...] = (),
    request_body: bytes = b"",
    status: int = 200,
    headers: tuple[tuple[str, str], ...] = JSON,
    body: bytes = b'{"ok":true}',
) -> Exchange:
    return Exchange(method, path, query, request_headers, request_body, status, headers, body)


def only_response(*exchanges: Exchange, redaction: Redaction | None = None) -> dict[str, Any]:
    (stub,) = stubs_from_exchanges("svc", exchanges, redaction)
    return stub["response"]  # type: ignore[no-any-return]


# -- redaction ---------------------------------------------------------------------------


def test_secret_headers_are_replaced_whatever_their_case() -> None:
    redaction = Redaction().extended(["X-Session"])
    pairs = redaction.header_pairs(
        [
            ("authorization", "Bearer a"),
            ("PROXY-AUTHORIZATION", "Basic b"),
            ("Cookie", "c=1"),
            ("Set-Cookie", "d=2"),
            ("X-Api-Key", "e"),
            ("x-session", "f"),
            ("Accept", "g"),
        ]
    )
    assert [v for _, v in pairs] == [
        "<redacted>",
        "<redacted>",
        "c=<redacted>",  # cookies: the value, never the name
        "d=<redacted>",
        "<redacted>",
        "<redacted>",
        "g",
    ]


def test_token_like_query_parameters_and_configured_ones_are_replaced() -> None:
    redaction = Redaction().extended(["query:Session"])
    pairs = redaction.query_pairs(
        [("token", "1"), ("api_key", "2"), ("access_token", "3"), ("session", "4"), ("q", "5")]
    )
    assert pairs == (
        ("token", "<redacted>"),
        ("api_key", "<redacted>"),
        ("access_token", "<redacted>"),
        ("session", "<redacted>"),
        ("q", "5"),
    )


def test_json_paths_are_redacted_in_both_bodies_and_never_matched_on() -> None:
    redaction = Redaction().extended(["$.password", "$.items[*].token"])
    sent = {"user": "ada", "password": "pw", "items": [{"token": "t1"}, {"token": "t2", "n": 1}]}
    answered = {"password": "echoed", "id": 3}
    recorded = exchange(
        method="POST",
        request_body=json.dumps(sent).encode(),
        body=json.dumps(answered).encode(),
        query=(("token", "secret"), ("page", "2")),
    )
    clean = redact_exchange(recorded, redaction)
    assert json.loads(clean.request_body)["password"] == "<redacted>"
    (stub,) = stubs_from_exchanges("svc", [recorded], redaction)
    assert stub["request"] == {
        "method": "POST",
        "path": "/a",
        "query": {"page": "2"},
        "body": {"json_subset": {"user": "ada", "items": [{}, {"n": 1}]}},
    }
    assert stub["response"]["json"] == {"password": "<redacted>", "id": 3}
    for secret in ("pw", "t1", "t2", "secret"):
        assert secret not in json.dumps(stub)


def test_a_body_that_is_not_json_is_left_alone_and_a_bad_json_path_is_a_value_error() -> None:
    redaction = Redaction().extended(["$.password"])
    assert redaction.json_body(b"password=pw") == b"password=pw"
    assert redaction.json_body(b"") == b""
    with pytest.raises(ValueError, match="not a JSONPath"):
        Redaction().extended(["$["])


# -- grouping ------------------------------------------------------------------------------


def test_repeated_requests_with_other_answers_become_a_sequence_in_order() -> None:
    answers = [b'{"n":1}', b'{"n":1}', b'{"n":2}', b'{"n":3}']
    stubs = stubs_from_exchanges("svc", [exchange(body=b) for b in answers])
    (stub,) = stubs
    # Consecutive equal answers are one step; the rest in the order they came.
    assert [r["json"] for r in stub["responses"]] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert "response" not in stub


def test_requests_differing_in_method_query_or_body_are_separate_stubs() -> None:
    stubs = stubs_from_exchanges(
        "svc",
        [
            exchange(query=(("a", "1"), ("b", "2"))),
            exchange(query=(("b", "2"), ("a", "1"))),  # the same query in another order
            exchange(query=(("a", "2"),)),
            exchange(method="POST", request_body=b'{"x":1}'),
            exchange(method="POST", request_body=b'{"x":2}'),
            exchange("/a b"),
            exchange("/a-b"),
        ],
    )
    assert [s["id"] for s in stubs] == [
        "svc-get-a",
        "svc-get-a-2",
        "svc-post-a",
        "svc-post-a-2",
        "svc-get-a-b",
        "svc-get-a-b-2",
    ]
    assert stubs[3]["request"]["body"] == {"json": {"x": 2}}


def test_a_304_to_a_conditional_request_is_left_to_replay() -> None:
    tagged = (*JSON, ("ETag", '"v1"'))
    full = exchange(headers=tagged)
    revalidated = exchange(
        request_headers=(("If-None-Match", '"v1"'),), status=304, headers=tagged, body=b""
    )
    response = only_response(full, revalidated)
    assert (response["status"], response["etag"]) == (200, '"v1"')
    # Seen alone, the 304 is what the service said: it is kept.
    assert only_response(revalidated)["status"] == 304


@pytest.mark.parametrize(
    ("coding", "sent", "written"),
    [
        pytest.param("gzip", '"v1-gzip"', '"v1"', id="Apache's suffix, the body's tag"),
        pytest.param("br", '"v1--br"', '"v1"', id="Jetty's"),
        pytest.param("gzip", 'W/"v1"', 'W/"v1"', id="nginx's weak tag kept weak"),
        pytest.param("gzip", '"v1"', '"v1"', id="the same tag"),
        pytest.param(None, '"v1-gzip"', '"v1-gzip"', id="uncoded: the tag is the tag"),
    ],
)
def test_the_etag_of_a_coded_answer_is_written_as_the_bodys(
    coding: str | None, sent: str, written: str
) -> None:
    body = b'{"ok":true}'
    coded = {"gzip": gzip.compress, "br": _brotli_compress, None: bytes}[coding](body)
    encoding = (("Content-Encoding", coding),) if coding else ()
    answer = exchange(headers=(*JSON, *encoding, ("ETag", sent)), body=coded)
    assert only_response(answer)["etag"] == written


def _brotli_compress(body: bytes) -> bytes:
    import brotli  # type: ignore[import-not-found, unused-ignore]

    return bytes(brotli.compress(body))


# -- bodies ----------------------------------------------------------------------------------

TEXT = b"caf\xc3\xa9 au lait\n" * 40


@pytest.mark.parametrize(
    ("coding", "coded"),
    [
        ("gzip", gzip.compress(TEXT, mtime=0)),
        ("x-gzip", gzip.compress(TEXT, mtime=0)),
        ("deflate", zlib.compress(TEXT)),
        ("deflate", zlib.compress(TEXT)[2:-4]),  # raw deflate, no zlib wrapper
        ("identity", TEXT),
        (None, TEXT),
        (" GZIP ", gzip.compress(TEXT, mtime=0)),
    ],
)
def test_decode_body(coding: str | None, coded: bytes) -> None:
    assert decode_body(coded, coding) == TEXT


@pytest.mark.parametrize(
    ("coding", "coded", "message"),
    [
        ("gzip", b"not gzip at all", "not valid gzip"),
        ("gzip", gzip.compress(TEXT, mtime=0)[:-10], "not valid gzip"),
        ("deflate", b"\x00\x01garbage", "not valid deflate"),
        ("compress", b"x", "unknown content coding 'compress'"),
    ],
)
def test_decode_body_errors(coding: str, coded: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_body(coded, coding)


def test_br_without_brotli_says_what_to_install() -> None:
    try:  # brotli is optional: without it, the message names the extra to install
        import brotli  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        with pytest.raises(ValueError, match=r"mockserver\[brotli\]"):
            decode_body(b"\x0b\x02\x80hi\x03", "br")
    else:
        assert decode_body(brotli.compress(TEXT), "br") == TEXT


@pytest.mark.parametrize(
    ("headers", "body", "key", "stored"),
    [
        (JSON, b'{"a":[1,2],"b":"\xc3\xa9"}', "json", {"a": [1, 2], "b": "é"}),
        ((), b'{"a":1}', "json", {"a": 1}),  # no Content-Type, but it parses
        (JSON, b'{"a": 1}', "body", '{"a": 1}'),  # spaced: json: would replay it compactly
        (JSON, b"{not json", "body", "{not json"),
        ((("Content-Type", "text/html"),), b"<p>{}</p>", "body", "<p>{}</p>"),
        ((("Content-Type", "text/plain"),), b'{"a":1}', "body", '{"a":1}'),
        ((("Content-Type", "image/png"),), b"\x89PNG\xff", "body_base64", "iVBOR/8="),
    ],
)
def test_the_body_is_stored_as_json_text_or_base64(
    headers: tuple[tuple[str, str], ...], body: bytes, key: str, stored: Any
) -> None:
    response = only_response(exchange(headers=headers, body=body))
    assert response[key] == stored
    assert {"json", "body", "body_base64"} & set(response) == {key}


def test_redaction_wins_over_keeping_the_exact_text() -> None:
    redaction = Redaction().extended(["$.token"])
    body = json.dumps({"token": "t", "id": 1}, indent=2).encode()
    assert only_response(exchange(body=body), redaction=redaction)["json"] == {
        "token": "<redacted>",
        "id": 1,
    }


def test_validators_and_compression_are_noted() -> None:
    plain = only_response(exchange())
    assert plain["etag"] is False
    assert "last_modified" not in plain
    assert "gzip" not in plain  # the client accepted no coding: the service default decides
    dated = (*JSON, ("ETag", 'W/"x"'), ("Last-Modified", "Tue, 29 Jun 2021 21:32:25 GMT"))
    validated = only_response(exchange(headers=dated))
    assert (validated["etag"], validated["last_modified"]) == (
        'W/"x"',
        "Tue, 29 Jun 2021 21:32:25 GMT",
    )
    coded = exchange(
        request_headers=(("Accept-Encoding", "gzip"),),
        headers=(*JSON, ("Content-Encoding", "gzip")),
        body=gzip.compress(b'{"ok":true}'),
    )
    assert only_response(coded)["gzip"] is True
    refused = exchange(request_headers=(("Accept-Encoding", "gzip, br"),))
    assert only_response(refused)["gzip"] is False  # offered gzip, got identity


def test_framing_per_response_and_hop_by_hop_headers_are_not_recorded() -> None:
    headers = (
        *JSON,
        ("Content-Length", "11"),
        ("Date", "Tue, 29 Jun 2021 21:32:25 GMT"),
        ("Server", "upstream/1.0"),
        ("Connection", "keep-alive, X-Internal"),
        ("X-Internal", "hop"),
        ("Keep-Alive", "timeout=5"),
        ("Transfer-Encoding", "chunked"),
        ("Vary", "Accept-Encoding"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2; HttpOnly; Path=/"),
        ("X-Request-Id", "r1"),
    )
    assert only_response(exchange(headers=headers))["headers"] == {
        "Content-Type": "application/json",
        # Redacted by value, never by name: a jar still holds "a" and "b" (issue 16).
        "Set-Cookie": ["a=<redacted>", "b=<redacted>; HttpOnly; Path=/"],
        "X-Request-Id": "r1",
    }


def test_the_written_document_loads_back_and_answers_the_same_bytes() -> None:
    bodies = [b'{"a": 1}', b"plain text\r\n  with spaces  \n", bytes(range(256)), b'{"a":1}']
    types = ["application/json", "text/plain", "application/octet-stream", "application/json"]
    recorded = [
        exchange(f"/r{i}", headers=(("Content-Type", t),), body=b)
        for i, (t, b) in enumerate(zip(types, bodies, strict=True))
    ]
    stubs = stubs_from_exchanges("svc", recorded)
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    text = service_document("svc", "http://up.example", stubs, port=9000, now=moment)
    assert text.startswith(f"{RECORDED_MARK} from http://up.example on 2024-05-01 12:00:00 UTC.")
    data, marks = read_document(text, "svc.yaml")
    service, loaded, problems = parse_service(data, "svc.yaml", "svc", lambda _: b"", marks)
    assert problems == []
    assert service is not None
    assert (service.upstream, service.port) == ("http://up.example", 9000)
    assert [s.prepared.body for s in loaded] == bodies


# -- large bodies (issue 13 item 6) --------------------------------------------------------


def test_a_large_body_is_named_as_a_body_file_by_its_hash_with_secrets_redacted() -> None:
    items = [{"id": n, "password": "pw-secret", "text": "x" * 100} for n in range(1000)]
    body = json.dumps(items).encode()
    builder = StubBuilder("svc", Redaction(), body_dir="svc.bodies")
    problem, stored = builder.add(exchange(body=body))
    assert problem is None
    assert stored is not None
    name, data = stored
    (stub,) = builder.stubs()
    assert stub["response"]["body_file"] == name
    assert name.startswith("svc.bodies/")
    assert name.endswith(".body")
    assert b"pw-secret" not in data
    assert json.loads(data)[0] == {"id": 0, "password": "<redacted>", "text": "x" * 100}
    # The same bytes again are the same file; a body that needs no redaction is kept as sent.
    plain = b'{"items": "' + b"y" * 70_000 + b'"}'
    first = StubBuilder("svc", Redaction()).add(exchange("/p", body=plain))[1]
    again = StubBuilder("svc", Redaction()).add(exchange("/q", body=plain))[1]
    assert first is not None
    assert first == again
    assert first[1] is plain


def test_a_json_request_body_over_64_kib_is_not_made_a_matcher() -> None:
    small = json.dumps({"q": "a"}).encode()
    large = json.dumps({"q": "a" * 70_000}).encode()
    stubs = stubs_from_exchanges(
        "svc",
        [
            exchange("/s", method="POST", request_body=small),
            exchange("/l", method="POST", request_body=large),
        ],
    )
    assert stubs[0]["request"]["body"] == {"json": {"q": "a"}}
    assert "body" not in stubs[1]["request"]


@pytest.mark.parametrize(
    ("header", "value", "shown"),
    [
        ("Set-Cookie", "session=abc123; HttpOnly; Path=/", "session=<redacted>; HttpOnly; Path=/"),
        ("Set-Cookie", "theme=dark; Max-Age=3600", "theme=<redacted>; Max-Age=3600"),
        ("Set-Cookie", "junk-without-a-name", "<redacted>"),
        ("Cookie", "a=1; b=2", "a=<redacted>; b=<redacted>"),
        ("Authorization", "Bearer x", "<redacted>"),
    ],
)
def test_cookies_are_redacted_by_value_never_by_name(header: str, value: str, shown: str) -> None:
    assert Redaction().header_pairs([(header, value)]) == ((header, shown),)


@pytest.mark.parametrize(
    ("location", "base", "shown"),
    [
        ("http://up.test/a?b=1#c", "http://up.test", "/a?b=1#c"),
        ("http://UP.test:80/a", "http://up.test", "/a"),
        ("https://up.test/a", "http://up.test", "https://up.test/a"),  # another scheme
        ("http://up.test:8080/a", "http://up.test", "http://up.test:8080/a"),
        ("http://up.test/api/items/1", "http://up.test/api", "/items/1"),  # below the base path
        ("http://up.test/login", "http://up.test/api", "http://up.test/login"),  # outside it
        ("/relative", "http://up.test", "/relative"),
    ],
)
def test_a_location_on_the_upstream_is_made_relative(location: str, base: str, shown: str) -> None:
    from mockserver.recording.proxy import _on_the_double

    assert _on_the_double(location, base) == shown
