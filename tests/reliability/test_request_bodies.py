"""research/reliability.md §4 rows 17-24: hostile request bodies, and the template rows.

The promise each time: the client gets a 4xx naming the problem (or an ordinary non-match),
never a 500; memory and CPU stay bounded; the next client is served as if nothing happened.
Row 22 holds for bodies no stub parses and for ``xpath`` matchers (a DTD or an entity is a
non-match, never expanded or fetched). Rows 23-24 hold for
stubs without templates (never rendered) and for ``template: true`` ones (request values are
data, rendered once; a rendered header with control characters is refused).
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver import MockServer
from mockserver.core.errors import StubFileError
from mockserver.formats.loader import load_paths

from ..integration.admin_helpers import Admin, assert_error, serve, write_stubs
from .helpers import APP_STUBS, Raw, port_of, rss_bytes

STUBS = (
    APP_STUBS
    + """\
  - id: latin
    request: {method: POST, path: /latin, body: {contains: "caf"}}
    response: {body: matched}
  - id: named
    request: {method: POST, path: /users, body: {json_path: {"$.name": Ada}}}
    response: {status: 201, body: created}
  - id: xml
    request: {method: POST, path: /xml, body: {contains: "<user>"}}
    response: {body: xml seen}
  - id: braces
    request: {method: GET, path: /braces}
    response:
      headers: {X-Echo: "{{request.headers.x-name}}"}
      body: "hello {{request.query.name}} {% raw %}"
  - id: templated
    request: {method: GET, path: /templated}
    response:
      template: true
      headers: {X-Echo: "{{ request.query.name }}"}
      body: "hello {{ request.query.name }}"
"""
)
CAP = 64 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    root = write_stubs(tmp_path_factory.mktemp("stubs"), {"app.yaml": STUBS})
    with serve(root, max_body_bytes=CAP) as server:
        yield server


@pytest.fixture
def admin(server: MockServer) -> Iterator[Admin]:
    with Admin(server.url) as admin:
        admin.ok("DELETE", "/requests")
        yield admin


def served_after(admin: Admin) -> None:
    """The server still answers an ordinary request, at once."""
    started = time.monotonic()
    assert admin.mock("GET", "/ok").text == "ok"
    assert time.monotonic() - started < 1.0


def post_raw(port: int, headers: str, body: bytes) -> tuple[int, dict[str, str], bytes, bool]:
    """POST /upload with these extra headers and body; (status, headers, body, closed)."""
    with Raw(port) as raw:
        raw.send(f"POST /upload HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode() + body)
        answer = raw.answer()
        closed = answer.headers.get("connection") == "close"
        return answer.status, answer.headers, answer.body, closed


def test_row_17_a_declared_huge_body_is_refused_before_it_is_sent(
    server: MockServer, admin: Admin
) -> None:
    with Raw(port_of(server.url)) as raw:
        # Only the head: were the server waiting for the body, this would hang until the
        # request-receipt deadline; it answers at once instead.
        raw.send(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000000\r\n\r\n")
        raw.sock.settimeout(5)
        answer = raw.answer()
    assert answer.status == 413
    assert answer.headers["connection"] == "close"
    detail = json.loads(answer.body)["detail"]
    assert "Content-Length 2,000,000,000 is over the 65,536-byte limit" in detail
    assert admin.ok("GET", "/requests")["requests"] == []  # nothing half-recorded
    served_after(admin)


def test_row_17_an_endless_chunked_body_is_cut_at_the_cap(server: MockServer, admin: Admin) -> None:
    chunk = b"x" * 8192
    with Raw(port_of(server.url)) as raw:
        raw.send(b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        raw.sock.settimeout(0.05)
        sent = 0
        while not raw.buffer and sent < 100 * CAP:  # until the server answers
            raw.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            with contextlib.suppress(TimeoutError):  # no answer yet: send more
                raw._fill()
        raw.sock.settimeout(5)
        answer = raw.answer()
    assert answer.status == 413
    assert answer.headers["connection"] == "close"
    assert sent < 4 * CAP  # answered once the cap was crossed, not at the end
    (entry,) = [e for e in admin.ok("GET", "/requests")["requests"] if e["path"] == "/upload"]
    assert (entry["status"], entry["error"]) == (413, "rejected: body_too_large")
    served_after(admin)


def test_row_18_a_gzip_bomb_is_refused_at_the_decompressed_cap(
    server: MockServer, admin: Admin
) -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024), compresslevel=9)  # 20 MiB in ~20 KB
    assert len(bomb) < CAP * 2
    empty_members = gzip.compress(b"") * 50_000  # a megabyte of nothing, CPU for nothing
    before = rss_bytes()
    started = time.monotonic()
    for _ in range(5):
        status, _, body, closed = post_raw(
            port_of(server.url), f"Content-Encoding: gzip\r\nContent-Length: {len(bomb)}\r\n", bomb
        )
        assert (status, closed) == (413, True)
        assert json.loads(body)["error"] == "request body too large"
    headers = f"Content-Encoding: gzip\r\nContent-Length: {len(empty_members)}\r\n"
    status, _, body, _ = post_raw(port_of(server.url), headers, empty_members)
    # Over the cap before decoding (413), or refused for its member count (400): either way
    # answered in bounded time.
    assert status in (400, 413), body
    assert time.monotonic() - started < 5
    assert rss_bytes() - before < 50 * 1024 * 1024
    served_after(admin)


@pytest.mark.parametrize(
    ("coding", "body", "status", "says"),
    [
        ("gzip", b"plain text, not gzip", 400, "malformed request body"),
        ("gzip", gzip.compress(b"x" * 1000)[:-20], 400, "malformed request body"),
        ("deflate", b"\x78\x9c not deflate", 400, "malformed request body"),
        ("compress", b"whatever", 415, "unsupported content encoding"),
    ],
    ids=["gzip-plain", "gzip-truncated", "deflate-garbage", "unknown"],
)
def test_row_19_an_invalid_or_unknown_coding_is_a_4xx_naming_it(
    server: MockServer, admin: Admin, coding: str, body: bytes, status: int, says: str
) -> None:
    headers = f"Content-Encoding: {coding}\r\nContent-Length: {len(body)}\r\n"
    got, _, answer, closed = post_raw(port_of(server.url), headers, body)
    assert (got, closed) == (status, True)
    assert json.loads(answer)["error"] == says
    served_after(admin)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain; charset=utf-8", "text/plain; charset=utf-99", "application/octet-stream"],
)
def test_row_20_a_body_that_is_not_utf8_still_matches_and_is_kept_as_bytes(
    admin: Admin, content_type: str
) -> None:
    body = "café crème".encode("latin-1")  # é as one byte: not UTF-8
    answer = admin.mock("POST", "/latin", data=body, headers={"Content-Type": content_type})
    assert (answer.status_code, answer.text) == (200, "matched")
    (entry,) = admin.ok("GET", "/requests")["requests"]
    assert entry["body_encoding"] == "base64"
    assert base64.b64decode(entry["body"]) == body


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"name": "Ada"', "application/json"),
        (b"\xff\xfe not json", "application/json"),
        (b"\xc1 not msgpack", "application/msgpack"),
        (b"[" * 50_000, "application/json"),
    ],
    ids=["truncated", "binary", "bad-msgpack", "deep"],
)
def test_row_21_malformed_json_is_a_non_match_with_a_reason(
    admin: Admin, body: bytes, content_type: str
) -> None:
    answer = admin.mock("POST", "/users", data=body, headers={"Content-Type": content_type})
    assert answer.status_code == 404
    nearest = answer.json()["nearest"][0]
    assert nearest["stub"] == "named"
    assert nearest["first_difference"]["field"] == "body"
    assert "not" in nearest["first_difference"]["why"]  # "the body is not JSON (...)"
    served_after(admin)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE user [<!ENTITY xxe SYSTEM "file:///etc/hostname">
 <!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<user>&xxe;&lol2;</user>"""


def test_row_22_an_xml_body_is_never_parsed_so_entities_stay_text(admin: Admin) -> None:
    answer = admin.mock("POST", "/xml", data=XXE, headers={"Content-Type": "application/xml"})
    assert (answer.status_code, answer.text) == (200, "xml seen")
    (entry,) = admin.ok("GET", "/requests")["requests"]
    assert entry["body"] == XXE.decode()  # &xxe; is still the text "&xxe;": nothing expanded


def test_row_22_xpath_matchers_refuse_dtds_and_entities(tmp_path: Path) -> None:
    root = write_stubs(
        tmp_path,
        {"app.yaml": "stubs:\n  - request: {path: /x, body: {xpath: {/user: Ada}}}\n"},
    )
    with serve(root) as server, Admin(server.url) as admin:
        answer = admin.mock("POST", "/x", data=XXE, headers={"Content-Type": "application/xml"})
        assert answer.status_code == 404
        why = answer.json()["nearest"][0]["first_difference"]["why"]
        assert "DTD" in why or "entities" in why


def test_row_23_a_header_value_with_control_characters_never_loads(
    tmp_path: Path, admin: Admin
) -> None:
    stub = {"request": {"path": "/h"}, "response": {"headers": {"X-A": "a\r\nX-Injected: 1"}}}
    (tmp_path / "app.json").write_text(json.dumps({"stubs": [stub]}))
    with pytest.raises(StubFileError, match=r"headers\.X-A: header value contains control"):
        load_paths([tmp_path])
    body = assert_error(admin.post("/stubs", json=stub), 422, "invalid stub")
    assert body["problems"][0]["key"] == "response.headers.X-A"
    # and a request header with control characters never reaches a handler
    with Raw(port_of(admin.base)) as raw:
        raw.send(b"GET /ok HTTP/1.1\r\nHost: x\r\nX-A: a\rX-Injected: 1\r\n\r\n")
        assert raw.answer().status == 400


def test_row_23_templated_headers_refuse_control_characters(admin: Admin) -> None:
    # The query string is percent-decoded: the template receives a real CR LF.
    answer = admin.mock("GET", "/templated?name=a%0d%0aX-Injected:%201")
    assert answer.status_code == 500
    assert "X-Injected" not in answer.headers
    assert answer.json()["stub"] == "templated"
    assert "X-Echo contains control characters" in answer.json()["detail"]


def test_row_24_braces_in_stubs_and_requests_stay_literal(admin: Admin) -> None:
    answer = admin.mock("GET", "/braces?name={{7*7}}", headers={"X-Name": "{{config}}"})
    assert answer.text == "hello {{request.query.name}} {% raw %}"
    assert answer.headers["X-Echo"] == "{{request.headers.x-name}}"
    report = admin.mock("POST", "/nowhere", data=b"{{7*7}} {% for x in y %}").json()
    assert report["request"]["body"] == "{{7*7}} {% for x in y %}"  # echoed, never rendered


def test_row_24_templates_render_request_values_once_as_data(admin: Admin) -> None:
    answer = admin.mock("GET", "/templated?name={{7*7}}")
    assert answer.text.startswith("hello {{7*7}}")  # rendered: the value, inserted once
    assert "{{request" not in answer.text
    assert answer.headers["X-Echo"] == "{{7*7}}"


def test_rows_17_to_21_left_the_process_healthy(server: MockServer, admin: Admin) -> None:
    health = admin.ok("GET", "/health")
    assert health["status"] == "ok"
    deflated = zlib.compress(b'{"name": "Ada"}')
    answer = admin.mock(
        "POST",
        "/users",
        data=deflated,
        headers={"Content-Encoding": "deflate", "Content-Type": "application/json"},
    )
    assert (answer.status_code, answer.text) == (201, "created")
