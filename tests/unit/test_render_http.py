"""render.prepare (every representation, once, at load) and render.choose (per request)."""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from typing import Any

import msgpack
import pytest

from mockserver.core.model import PreparedResponse, ResponseSpec
from mockserver.core.render import available_encodings, choose, prepare, variant
from mockserver.core.request import RequestView
from mockserver.stubfiles.stubfile import parse_service

JSON, MSGPACK, X_MSGPACK = "application/json", "application/msgpack", "application/x-msgpack"
# Compact JSON of ~600 bytes, repetitive enough that every coding shrinks it.
BIG = {"users": [{"id": str(i), "name": f"user {i}", "role": "member"} for i in range(15)]}
BIG_BYTES = json.dumps(BIG, separators=(",", ":")).encode()
LAST_MODIFIED = "Tue, 29 Jun 2021 21:32:25 GMT"


def prepared(
    response: dict[str, Any], *, method: str | list[str] = "GET", **service: Any
) -> PreparedResponse:
    """The prepared response of one stub, parsed as a stub file with ``service`` keys."""
    document = {**service, "stubs": [{"request": {"method": method}, "response": response}]}
    _, stubs, problems = parse_service(document, "t.yaml", "svc", lambda name: b"")
    assert not problems, [str(p) for p in problems]
    return stubs[0].prepared


def header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    values = [v for k, v in headers if k.lower() == name.lower()]
    assert len(values) <= 1, values
    return values[0] if values else None


def ask(out: PreparedResponse, method: str = "GET", **headers: str) -> Any:
    """``choose`` with headers given as keyword arguments (if_none_match=...)."""
    given = [(name.replace("_", "-").title(), value) for name, value in headers.items()]
    return choose(out, RequestView(method, "/", "", given))


# ---------------------------------------------------------------------------------------------
# ETags


def test_auto_etag_is_a_strong_quoted_tag_for_a_get_stub() -> None:
    out = prepared({"json": {"id": "1"}})
    assert out.etag is not None
    assert out.etag.startswith('"')
    assert out.etag.endswith('"')
    assert len(out.etag) > 2
    assert header(out.headers, "ETag") == out.etag


@pytest.mark.parametrize(
    ("response", "method"),
    [
        pytest.param({"json": {"id": "1"}}, "POST", id="POST-only stub"),
        pytest.param({"status": 404, "json": {"error": "x"}}, "GET", id="404"),
        pytest.param({"status": 302, "headers": {"Location": "/x"}}, "GET", id="302"),
        pytest.param({"json": {"id": "1"}, "etag": False}, "GET", id="etag false"),
    ],
)
def test_no_auto_etag(response: dict[str, Any], method: str) -> None:
    out = prepared(response, method=method)
    assert out.etag is None
    assert header(out.headers, "ETag") is None
    assert all(v.etag is None for v in out.variants.values())


def test_auto_etag_applies_to_stubs_answering_any_method_and_head() -> None:
    assert prepared({"json": {}}, method=["GET", "POST"]).etag is not None
    assert prepared({"json": {}}, method="HEAD").etag is not None


def test_auto_etag_comes_from_the_body() -> None:
    assert prepared({"json": {"a": 1}}).etag == prepared({"json": {"a": 1}}, method="GET").etag
    assert prepared({"json": {"a": 1}}).etag != prepared({"json": {"a": 2}}).etag


@pytest.mark.parametrize(
    ("literal", "sent"),
    [
        pytest.param("v1", '"v1"', id="bare"),
        pytest.param('"v1"', '"v1"', id="already quoted"),
        pytest.param('W/"v1"', 'W/"v1"', id="weak"),
    ],
)
def test_literal_etag_is_sent_quoted(literal: str, sent: str) -> None:
    out = prepared({"body": "x", "etag": literal})
    assert (out.etag, header(out.headers, "ETag")) == (sent, sent)


@pytest.mark.parametrize("literal", ['"v1"', 'W/"v1"'])
def test_a_literal_etag_is_the_services_in_every_coding(literal: str) -> None:
    weak = literal if literal.startswith("W/") else f"W/{literal}"
    out = prepared({"json": BIG, "etag": literal})
    variant(out, MSGPACK)
    tags = {key: (v.etag, v.body_etag) for key, v in out.variants.items()}
    assert tags[(JSON, "identity")] == (literal, literal)
    for coding in available_encodings():
        # Coded: weak, as nginx sends it; the body's tag stays the service's.
        assert tags[(JSON, coding)] == (weak, literal)
    msgpack_tag = literal[:-1] + '-msgpack"'  # another media type is another body
    assert tags[(MSGPACK, "identity")] == (msgpack_tag, msgpack_tag)


@pytest.mark.parametrize("coding", ["identity", *available_encodings()])
def test_a_literal_etag_answers_304_and_if_match_in_every_coding(coding: str) -> None:
    out = prepared({"json": BIG, "etag": "v1"})
    for held in ('"v1"', 'W/"v1"', '"v1-gzip"', '"v1--br"'):
        choice = ask(out, accept_encoding=coding, if_none_match=held)
        assert choice.status == 304, held
    assert ask(out, accept_encoding=coding, if_none_match='"v2"').status == 200
    assert ask(out, "PUT", accept_encoding=coding, if_match='"v1"').status == 200
    assert ask(out, "PUT", accept_encoding=coding, if_match='W/"v1"').status == 412


def test_each_representation_has_its_own_derived_etag() -> None:
    out = prepared({"json": BIG})
    assert out.etag is not None
    variant(out, MSGPACK)  # MessagePack forms are built on first use
    tags = {key: v.etag for key, v in out.variants.items()}
    assert tags[(JSON, "identity")] == out.etag
    assert tags[(JSON, "gzip")] == out.etag[:-1] + '-gzip"'
    assert tags[(JSON, "deflate")] == out.etag[:-1] + '-deflate"'
    assert tags[(MSGPACK, "identity")] == out.etag[:-1] + '-msgpack"'
    json_tags = [t for (media, _), t in tags.items() if media == JSON]
    assert len(set(json_tags)) == len(json_tags) == 1 + len(available_encodings())


def test_last_modified_is_sent_as_an_http_date_from_iso_or_http_forms() -> None:
    for written in ("2021-06-29T21:32:25Z", "2021-06-29T23:32:25+02:00", LAST_MODIFIED):
        out = prepared({"json": {}, "last_modified": written})
        assert header(out.headers, "Last-Modified") == LAST_MODIFIED, written


# ---------------------------------------------------------------------------------------------
# Compression at load


def codings(out: PreparedResponse, media: str = JSON) -> tuple[str, ...]:
    return out.encodings.get(media, ())


def test_compressed_bytes_decompress_to_the_body_and_are_deterministic() -> None:
    spec = ResponseSpec(body=BIG_BYTES, content_type=JSON)
    first, second = prepare(spec), prepare(spec)
    gz = first.variants[(JSON, "gzip")]
    assert gzip.decompress(gz.body) == BIG_BYTES
    assert zlib.decompress(first.variants[(JSON, "deflate")].body) == BIG_BYTES
    assert len(gz.body) < len(BIG_BYTES)
    assert header(gz.headers, "Content-Encoding") == "gzip"
    assert gz.body[4:8] == bytes(4)  # no MTIME (RFC 1952 §2.3): tomorrow's load, same bytes
    assert first.variants == second.variants


def test_brotli_is_offered_first_when_installed() -> None:
    import brotli  # type: ignore[import-not-found, unused-ignore]

    out = prepared({"json": BIG})
    assert codings(out)[0] == "br"
    assert brotli.decompress(out.variants[(JSON, "br")].body) == BIG_BYTES


def test_below_min_size_is_not_compressed() -> None:
    assert codings(prepared({"json": {"id": "1"}})) == ()
    text = "a" * 256
    assert codings(prepared({"body": text[:-1]}), "text/plain") == ()
    assert "gzip" in codings(prepared({"body": text}), "text/plain")  # at min_size exactly


def test_service_min_size_is_honoured() -> None:
    body = {"text": "abc" * 40}  # ~130 bytes
    assert codings(prepared({"json": body})) == ()
    assert "gzip" in codings(prepared({"json": body}, min_size=100))
    assert codings(prepared({"json": BIG}, min_size=10_000)) == ()


def test_gzip_true_forces_compression_of_small_and_binary_bodies() -> None:
    small = prepared({"json": {"id": "1"}, "gzip": True})
    assert "gzip" in codings(small)
    assert gzip.decompress(small.variants[(JSON, "gzip")].body) == b'{"id":"1"}'
    png = {"body_base64": base64.b64encode(bytes(1000)).decode()}
    forced = prepared({**png, "headers": {"Content-Type": "image/png"}, "gzip": True})
    assert "gzip" in codings(forced, "image/png")


@pytest.mark.parametrize(
    ("stub_gzip", "service_gzip", "compressed"),
    [
        pytest.param(False, "auto", False, id="stub false"),
        pytest.param(None, False, False, id="service false"),
        pytest.param(True, False, True, id="stub true beats service false"),
        pytest.param("auto", False, True, id="stub auto beats service false"),
        pytest.param(False, True, False, id="stub false beats service true"),
    ],
)
def test_gzip_settings(stub_gzip: object, service_gzip: object, compressed: bool) -> None:
    response: dict[str, Any] = {"json": BIG}
    if stub_gzip is not None:
        response["gzip"] = stub_gzip
    out = prepared(response, gzip=service_gzip)
    assert ("gzip" in codings(out)) is compressed
    assert ("Accept-Encoding" in (header(out.headers, "Vary") or "")) is compressed


@pytest.mark.parametrize(
    ("content_type", "compressed"),
    [
        pytest.param("image/png", False, id="image/png"),
        pytest.param("application/octet-stream", False, id="octet-stream"),
        pytest.param("text/html; charset=utf-8", True, id="text/html"),
        pytest.param("application/problem+json", True, id="+json"),
        pytest.param("application/xml", True, id="xml"),
    ],
)
def test_only_compressible_types_are_compressed(content_type: str, compressed: bool) -> None:
    out = prepared({"body": "abcd" * 200, "headers": {"Content-Type": content_type}})
    assert bool(out.encodings.get(content_type.split(";", maxsplit=1)[0])) is compressed


@pytest.mark.parametrize("content_type", ["text/plain", JSON])
def test_a_stub_with_its_own_content_encoding_is_sent_byte_for_byte(content_type: str) -> None:
    coded = gzip.compress(BIG_BYTES, mtime=0)
    out = prepared(
        {
            "body_base64": base64.b64encode(coded).decode(),
            "headers": {"Content-Type": content_type, "Content-Encoding": "gzip"},
        }
    )
    assert out.body == coded
    assert out.encodings.get(content_type, ()) == ()
    assert out.media_types == ()
    choice = ask(out, accept_encoding="gzip, deflate", accept=MSGPACK)
    assert choice.body == coded
    assert header(choice.headers, "Content-Encoding") == "gzip"


@pytest.mark.parametrize(
    "response",
    [
        pytest.param({"body": "not json", "headers": {"Content-Type": JSON}}, id="not JSON"),
        pytest.param({"json": {"n": 2**70}}, id="integer past 64 bits"),
    ],
)
def test_json_without_a_msgpack_form_is_served_as_json_only(response: dict[str, Any]) -> None:
    out = prepared(response)
    assert out.media_types == ()
    assert ask(out, accept=MSGPACK).body == out.body


# ---------------------------------------------------------------------------------------------
# MessagePack and Vary


def test_msgpack_variants_decode_to_the_json() -> None:
    out = prepared({"json": BIG})
    assert out.media_types == (JSON, MSGPACK, X_MSGPACK)
    for media in (MSGPACK, X_MSGPACK):
        packed = variant(out, media)
        assert msgpack.unpackb(packed.body) == BIG
        assert header(packed.headers, "Content-Type") == media


def test_no_msgpack_for_text_or_errors() -> None:
    assert prepared({"body": "hello"}).media_types == ()
    assert prepared({"status": 500, "json": {"error": "x"}}).media_types == ()


@pytest.mark.parametrize(
    ("response", "key", "vary"),
    [
        pytest.param({"json": BIG}, (JSON, "gzip"), "Accept, Accept-Encoding", id="json gzip"),
        pytest.param({"json": BIG}, (JSON, "identity"), "Accept, Accept-Encoding", id="json"),
        pytest.param({"json": {"a": 1}}, (JSON, "identity"), "Accept", id="small json"),
        pytest.param({"json": BIG}, (MSGPACK, "identity"), "Accept", id="msgpack"),
        pytest.param(
            {"body": "x" * 300}, ("text/plain", "gzip"), "Accept-Encoding", id="text gzip"
        ),
        pytest.param(
            {"json": BIG, "headers": {"Vary": "Origin"}},
            (JSON, "gzip"),
            "Origin, Accept, Accept-Encoding",
            id="stub Vary kept",
        ),
        pytest.param(
            {"json": BIG, "headers": {"Vary": "accept-encoding"}},
            (JSON, "gzip"),
            "accept-encoding, Accept",
            id="no duplicate",
        ),
    ],
)
def test_vary(response: dict[str, Any], key: tuple[str, str], vary: str) -> None:
    out = prepared(response)
    assert header(variant(out, *key).headers, "Vary") == vary


def test_a_plain_response_needs_no_negotiation() -> None:
    out = prepared({"status": 201, "body": "created"}, method="POST")
    assert not out.negotiated
    choice = ask(out, "POST", if_none_match="*", accept_encoding="gzip")
    assert (choice.status, choice.body) == (201, b"created")


# ---------------------------------------------------------------------------------------------
# choose: negotiation and preconditions per request


def full() -> PreparedResponse:
    return prepared(
        {
            "json": BIG,
            "headers": {"Cache-Control": "max-age=60", "X-Extra": "1"},
            "last_modified": LAST_MODIFIED,
        }
    )


def test_choose_negotiates_coding_and_media_type() -> None:
    out = full()
    assert ask(out).body == BIG_BYTES
    gz = ask(out, accept_encoding="gzip")
    assert header(gz.headers, "Content-Encoding") == "gzip"
    assert gzip.decompress(gz.body) == BIG_BYTES
    assert header(ask(out, accept_encoding="gzip;q=0").headers, "Content-Encoding") is None
    packed = ask(out, accept=f"{MSGPACK}, {JSON};q=0.5", accept_encoding="gzip")
    assert msgpack.unpackb(packed.body) == BIG
    assert header(packed.headers, "Content-Type") == MSGPACK


@pytest.mark.parametrize(
    ("coding", "media"), [("identity", JSON), ("gzip", JSON), ("identity", MSGPACK)]
)
def test_304_carries_the_validators_and_no_content_headers(coding: str, media: str) -> None:
    out = full()
    tag = variant(out, media, coding).etag
    assert tag is not None
    choice = ask(out, accept=media, accept_encoding=coding, if_none_match=f'"x", W/{tag}')
    assert (choice.status, choice.body) == (304, b"")
    sent = {k.lower(): v for k, v in choice.headers}
    assert sent["etag"] == tag
    assert sent["cache-control"] == "max-age=60"
    assert sent["last-modified"] == LAST_MODIFIED
    assert "Accept" in sent["vary"]
    for absent in ("content-type", "content-encoding", "content-length", "x-extra"):
        assert absent not in sent


def test_an_auto_tag_of_another_coding_gets_the_full_response() -> None:
    out = full()
    choice = ask(out, accept_encoding="gzip", if_none_match=out.etag or "")
    assert choice.status == 200
    assert header(choice.headers, "Content-Encoding") == "gzip"


def test_if_modified_since_gives_304() -> None:
    assert ask(full(), if_modified_since=LAST_MODIFIED).status == 304
    assert ask(full(), if_modified_since="Mon, 28 Jun 2021 00:00:00 GMT").status == 200


def test_failing_if_match_gives_412_with_a_json_error() -> None:
    choice = ask(full(), "GET", if_match='"stale"')
    assert choice.status == 412
    assert header(choice.headers, "Content-Type") == JSON
    assert json.loads(choice.body)["error"] == "precondition failed"
    assert ask(full(), if_match=full().etag or "").status == 200


def test_406_when_identity_is_refused_and_no_coding_is_acceptable() -> None:
    choice = ask(full(), accept_encoding="identity;q=0, gzip;q=0, deflate;q=0, br;q=0")
    assert choice.status == 406
    assert json.loads(choice.body)["error"] == "not acceptable"
    assert ask(full(), accept_encoding="identity;q=0, deflate").status == 200


def test_preconditions_apply_to_2xx_only() -> None:
    out = prepared({"status": 404, "json": {"error": "gone"}, "etag": "v1"})
    assert ask(out, if_none_match='"v1"').status == 404
    assert ask(out, if_match='"other"').status == 404
