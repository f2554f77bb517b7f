"""research/reliability.md §4 rows 25-29: framing, limits, the admin prefix, bodyless answers
and conditional requests, over raw sockets so that no client tidies the bytes first.

The smuggling cases run against both of aiohttp's parsers: the C one in-process and the
pure-Python one in a subprocess started with AIOHTTP_NO_EXTENSIONS=1, which must also say
at start that it is not the hardened parser.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver import MockServer

from ..integration.admin_helpers import Admin, serve, write_stubs
from .helpers import APP_STUBS, Console, Raw, exchange, port_of, rss_bytes

STUBS = (
    APP_STUBS
    + """\
  - id: thing
    request: {method: GET, path: /thing}
    response:
      headers: {Cache-Control: max-age=60}
      last_modified: "2021-06-29T21:32:25Z"
      json: {text: LONG}
  - id: nothing
    request: {method: GET, path: /nothing}
    response: {status: 204, body: "never sent"}
""".replace("LONG", "a body long enough to be worth compressing. " * 10)
)
TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_stubs(tmp_path_factory.mktemp("stubs"), {"app.yaml": STUBS})


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[MockServer]:
    with serve(root, admin_token=TOKEN) as server:
        yield server


@pytest.fixture
def port(server: MockServer) -> int:
    return port_of(server.url)


@pytest.fixture
def admin(server: MockServer) -> Iterator[Admin]:
    with Admin(server.url, token=TOKEN) as admin:
        admin.ok("DELETE", "/requests")
        yield admin


HEAD = b"POST /upload HTTP/1.1\r\nHost: x\r\n"
SMUGGLING = {
    "cl-and-te": HEAD + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two-hosts": b"GET /ok HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "two-lengths": HEAD + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "obs-fold": b"GET /ok HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
    "bare-lf": b"GET /ok HTTP/1.1\nHost: x\n\n",
    "xchunked": HEAD + b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
    "non-ascii-digit": HEAD + "Content-Length: \u0661\r\n\r\na".encode(),
    "plus-sign-length": HEAD + b"Content-Length: +1\r\n\r\na",
    "space-before-colon": b"GET /ok HTTP/1.1\r\nHost: x\r\nContent-Length : 0\r\n\r\n",
    "lf-in-chunk-extension": HEAD + b"Transfer-Encoding: chunked\r\n\r\n1;a\nb\r\nx\r\n0\r\n\r\n",
}


def refused(port: int, request: bytes) -> None:
    """400 from the parser, the connection closed, and what follows never parsed."""
    follow = b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"
    with Raw(port) as raw:
        raw.send(request + follow)
        answer = raw.answer()
        assert answer.status == 400, answer
        assert raw.closed_by_peer(), "the connection stayed open after a framing error"


@pytest.mark.parametrize("name", sorted(SMUGGLING))
def test_row_25_ambiguous_framing_is_refused_by_the_c_parser(
    port: int, admin: Admin, name: str
) -> None:
    refused(port, SMUGGLING[name])
    assert admin.ok("GET", "/requests")["requests"] == []  # no handler ever ran


def test_row_25_the_pure_python_parser_refuses_them_too_and_is_named_at_start(
    root: Path,
) -> None:
    with Console("serve", str(root), "--port", "0", AIOHTTP_NO_EXTENSIONS="1") as console:
        console.wait_for(r"WARNING .*pure-Python HTTP parser.*install aiohttp's binary wheel")
        port = console.port()
        for name in sorted(SMUGGLING):
            try:
                refused(port, SMUGGLING[name])
            except AssertionError as exc:
                raise AssertionError(f"{name}: {exc}") from None
        assert exchange(port, b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n").body == b"ok"


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /ok HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
        b"GET /ok HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(200)),
    ],
    ids=["100k-url", "9000-byte-header", "200-headers"],
)
def test_row_26_oversize_request_lines_and_headers_are_400_in_flat_memory(
    port: int, admin: Admin, request_bytes: bytes
) -> None:
    request_bytes += b"\r\n" if request_bytes.endswith(b"a\r\n") else b""
    before = rss_bytes()
    for _ in range(100):
        assert exchange(port, request_bytes).status == 400
    assert rss_bytes() - before < 20 * 1024 * 1024
    assert admin.mock("GET", "/ok").text == "ok"


def test_row_26_the_limits_are_settings(tmp_path: Path) -> None:
    root = write_stubs(tmp_path, {"app.yaml": STUBS})
    with serve(root, max_request_line_bytes=200, max_header_bytes=100, max_headers=5) as server:
        port = port_of(server.url)
        line = b"GET /ok?" + b"q" * 150 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        assert exchange(port, line).status == 200
        assert exchange(port, line.replace(b"q" * 150, b"q" * 250)).status == 400
        header = b"GET /ok HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 80 + b"\r\n\r\n"
        assert exchange(port, header).status == 200
        assert exchange(port, header.replace(b"a" * 80, b"a" * 120)).status == 400
        many = b"GET /ok HTTP/1.1\r\nHost: x\r\n" + b"X-B: b\r\n" * 6 + b"\r\n"
        assert exchange(port, many).status == 400


@pytest.mark.parametrize(
    "target",
    [
        "/%5F%5Fadmin/stubs",
        "/%5f%5fadmin/stubs",
        "//__admin/stubs",
        "/x/../__admin/stubs",
        "/__admin/./stubs",
        "/__admin%2Fstubs",
        "/%2F__admin/stubs",
        "/__ADMIN/stubs",
        "/__Admin/stubs",
    ],
)
def test_row_27_no_spelling_of_the_admin_prefix_skips_the_token(port: int, target: str) -> None:
    request = f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    without = exchange(port, request)
    assert without.status in (401, 404), without
    if without.status == 401:  # routed to admin: and with the token it is admin indeed
        authorised = request.replace(
            b"Host: x", f"Host: x\r\nAuthorization: Bearer {TOKEN}".encode()
        )
        assert "stubs" in json.loads(exchange(port, authorised).body)
    else:  # a mock path: the unmatched report, which lists no stub definitions
        assert json.loads(without.body)["error"] == "no stub matched this request"


def test_row_27_a_rebound_host_name_never_reaches_an_open_admin_api(root: Path) -> None:
    """Without a token on loopback, a page whose name resolves to 127.0.0.1 (DNS rebinding)
    is the same origin as the admin API to a browser: only local names in Host get in; and a
    page elsewhere that posts to 127.0.0.1 is named in Origin and refused."""
    with serve(root) as server:
        port = port_of(server.url)

        def call(host: str, method: str = "GET", path: str = "/stubs", extra: str = "") -> int:
            head = f"{method} /__admin{path} HTTP/1.1\r\nHost: {host}\r\n{extra}"
            return exchange(port, (head + "Content-Length: 0\r\n\r\n").encode()).status

        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.nip.io", "localhost.evil"):
            assert call(host) == 403
            assert call(host, "POST", "/reset") == 403
        for host in ("localhost", f"127.0.0.1:{port}", f"[::1]:{port}", "app.localhost"):
            assert call(host) == 200
        # and a page on another site posting a form to the real address (CSRF)
        local = f"127.0.0.1:{port}"
        for origin in ("https://evil.example", "null", f"http://localhost:{port}"):
            assert call(local, "POST", "/reset", f"Origin: {origin}\r\n") == 403
        assert call(local, "POST", "/reset", f"Origin: http://{local}\r\n") == 200
        assert exchange(port, b"GET /ok HTTP/1.1\r\nHost: evil.example\r\n\r\n").body == b"ok"


def test_row_28_bodyless_answers_send_no_body_and_pipelining_survives(port: int) -> None:
    get = b"GET /thing HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n\r\n"
    with Raw(port) as raw:
        first = exchange(port, get)
        etag = first.headers["etag"]
        raw.send(
            get.replace(b"GET", b"HEAD", 1)
            + b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"
            + get.replace(b"\r\n\r\n", f"\r\nIf-None-Match: {etag}\r\n\r\n".encode())
            + b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        head = raw.answer(head=True)
        assert (head.status, head.headers["content-length"]) == (200, str(len(first.body)))
        assert raw.answer().status == 204
        assert raw.answer().status == 304
        last = raw.answer()  # parses only if nothing was sent after the bodyless heads
        assert (last.status, last.body) == (200, b"ok")
        raw.sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            raw._fill()  # and nothing more arrives
        assert raw.buffer == b""


CONDITIONS = {
    "same-tag": ({"If-None-Match": "{tag}"}, 304),
    "weak-tag": ({"If-None-Match": "W/{tag}"}, 304),  # If-None-Match compares weakly
    "tag-in-a-list": ({"If-None-Match": '"other", {tag}'}, 304),
    "star": ({"If-None-Match": "*"}, 304),
    "garbage": ({"If-None-Match": "garbage, ,,"}, 200),
    "unterminated": ({"If-None-Match": '"unterminated'}, 200),
    "another-codings-tag": ({"If-None-Match": "{gzip_tag}"}, 200),
    "modified-since-equal": ({"If-Modified-Since": "Tue, 29 Jun 2021 21:32:25 GMT"}, 304),
    "modified-since-malformed": ({"If-Modified-Since": "yesterday"}, 200),  # ignored
    "modified-since-earlier": ({"If-Modified-Since": "Tue, 29 Jun 2021 21:32:24 GMT"}, 200),
    # If-Modified-Since counts only without If-None-Match (RFC 9110 §13.1.3)
    "none-match-wins": ({"If-None-Match": '"x"', "If-Modified-Since": "Sat, 1 Jan 2050"}, 200),
    "stale-if-match": ({"If-Match": '"stale"'}, 412),
}


@pytest.mark.parametrize("case", sorted(CONDITIONS))
def test_row_29_conditional_requests_follow_rfc_9110(port: int, case: str) -> None:
    get = b"GET /thing HTTP/1.1\r\nHost: x\r\nAccept-Encoding: identity\r\n"
    tag = exchange(port, get + b"\r\n").headers["etag"]
    gzipped = exchange(port, get.replace(b"identity", b"gzip") + b"\r\n")
    assert gzipped.headers["content-encoding"] == "gzip"
    assert gzipped.headers["etag"] != tag  # each representation has its own tag
    assert "Accept-Encoding" in gzipped.headers["vary"]
    conditions, status = CONDITIONS[case]
    extra = {
        name: value.replace("{tag}", tag).replace("{gzip_tag}", gzipped.headers["etag"])
        for name, value in conditions.items()
    }
    lines = "".join(f"{k}: {v}\r\n" for k, v in extra.items()).encode()
    with Raw(port) as raw:
        raw.send(get + lines + b"\r\n" + b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = raw.answer()
        assert answer.status == status, (extra, answer)
        if status == 304:
            assert answer.headers["etag"] == tag
            assert answer.headers["cache-control"] == "max-age=60"
            assert "content-type" not in answer.headers
        assert raw.answer().body == b"ok"  # a 304 carried no body bytes
