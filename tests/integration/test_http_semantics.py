"""HTTP semantics over real sockets: validators, 304/412, codings both ways, MessagePack, HEAD
and 304 framing, and stateful resources; with aiohttp, requests, raw sockets and curl."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import select
import shutil
import socket
import subprocess
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import aiohttp
import msgpack
import pytest
import requests

from mockserver import MockServer, Settings
from mockserver.core.errors import HttpProblem
from mockserver.core.render import available_encodings
from mockserver.formats.loader import load_paths
from mockserver.testing.offline import OfflineDouble

REPO = Path(__file__).resolve().parents[2]
BIG = {"users": [{"id": str(i), "name": f"user {i}", "role": "member"} for i in range(15)]}
BIG_BYTES = json.dumps(BIG, separators=(",", ":")).encode()
LAST_MODIFIED = "Tue, 29 Jun 2021 21:32:25 GMT"
CART = {"id": "1", "owner": "Simon", "lines": [{"sku": "ABC-123", "quantity": 2}]}
STUBS = """
service: web
stubs:
  - id: big
    request: {method: GET, path: /big}
    response:
      headers: {Cache-Control: max-age=60}
      last_modified: "2021-06-29T21:32:25Z"
      json: @BIG@
  - request: {method: GET, path: /literal}
    response: {body: hello, etag: v7}
  - request: {method: GET, path: /untagged}
    response: {body: x, etag: false}
  - id: create
    request: {method: POST, path: /users, body: {json_subset: {name: Ada}}}
    response: {status: 201, json: {created: true}}
resources:
  - path: /api/carts
    items: [@CART@]
""".replace("@BIG@", json.dumps(BIG)).replace("@CART@", json.dumps(CART))


def write_stub_file(root: Path, name: str, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(text, encoding="utf-8")
    return root


def start(*paths: Path) -> MockServer:
    settings = Settings(paths=tuple(map(str, paths)), port=0, ephemeral_service_ports=True)
    return MockServer(settings).start()


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a server with STUBS, shared by this module's tests."""
    with start(write_stub_file(tmp_path_factory.mktemp("stubs"), "web.yaml", STUBS)) as server:
        yield server.url


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def etag_of(response: requests.Response) -> str:
    return response.headers["ETag"]


def address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


# ---------------------------------------------------------------------------------------------
# Validators and preconditions


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/big", "auto", id="auto"),
        pytest.param("/literal", '"v7"', id="literal quoted"),
        pytest.param("/untagged", None, id="false"),
    ],
)
def test_etag_forms(http: requests.Session, url: str, path: str, expected: str | None) -> None:
    sent = http.get(url + path, headers={"Accept-Encoding": "identity"}).headers.get("ETag")
    if expected == "auto":
        assert re.fullmatch(r'"[\w-]+"', sent or ""), sent
    else:
        assert sent == expected


def test_requests_gzip_round_trip_and_304(http: requests.Session, url: str) -> None:
    first = http.get(url + "/big", headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200
    assert first.headers["Content-Encoding"] == "gzip"
    assert first.json() == BIG
    assert first.headers["Vary"] == "Accept, Accept-Encoding"
    tag = etag_of(first)
    assert tag.endswith('-gzip"')
    again = http.get(url + "/big", headers={"Accept-Encoding": "gzip", "If-None-Match": tag})
    assert (again.status_code, again.content) == (304, b"")
    kept = {name: again.headers.get(name) for name in ("ETag", "Cache-Control", "Last-Modified")}
    assert kept == {"ETag": tag, "Cache-Control": "max-age=60", "Last-Modified": LAST_MODIFIED}
    assert again.headers["Vary"] == "Accept, Accept-Encoding"
    assert "Date" in again.headers
    assert not {"Content-Type", "Content-Encoding"} & set(again.headers)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({"If-None-Match": 'W/"nope", *'}, 200, id="star inside a list is garbage"),
        pytest.param({"If-None-Match": "*"}, 304, id="If-None-Match star"),
        pytest.param({"If-Modified-Since": LAST_MODIFIED}, 304, id="If-Modified-Since"),
        pytest.param({"If-Modified-Since": "someday"}, 200, id="malformed date ignored"),
        pytest.param(
            {"If-Modified-Since": LAST_MODIFIED, "If-None-Match": '"other"'},
            200,
            id="If-Modified-Since ignored with If-None-Match",
        ),
        pytest.param({"If-Match": '"stale"'}, 412, id="If-Match stale"),
        pytest.param({"If-Match": "*"}, 200, id="If-Match star"),
    ],
)
def test_conditional_get(
    http: requests.Session, url: str, headers: dict[str, str], status: int
) -> None:
    response = http.get(url + "/big", headers=headers)
    assert response.status_code == status
    if status == 412:
        assert response.json()["error"] == "precondition failed"


@pytest.mark.parametrize(
    ("accept_encoding", "status", "coding"),
    [
        pytest.param("gzip;q=0", 200, None, id="gzip refused"),
        pytest.param("deflate", 200, "deflate", id="deflate"),
        pytest.param("x-gzip", 200, "gzip", id="x-gzip"),
        pytest.param("gzip;q=0.5, deflate", 200, "deflate", id="q-values"),
        pytest.param("*", 200, available_encodings()[0], id="star"),
        pytest.param("identity;q=0, *;q=0", 406, None, id="nothing acceptable"),
    ],
)
def test_accept_encoding(
    http: requests.Session, url: str, accept_encoding: str, status: int, coding: str | None
) -> None:
    response = http.get(url + "/big", headers={"Accept-Encoding": accept_encoding})
    assert response.status_code == status
    assert response.headers.get("Content-Encoding") == coding
    if status == 200:
        assert response.json() == BIG  # requests decodes gzip and deflate


def test_aiohttp_decompresses_and_revalidates_with_the_coded_etag(url: str) -> None:
    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/big") as first:
                coding = first.headers["Content-Encoding"]
                assert coding in available_encodings()
                assert await first.read() == BIG_BYTES
                tag = first.headers["ETag"]
            assert tag.endswith(f'-{coding}"')
            async with session.get(url + "/big", headers={"If-None-Match": tag}) as again:
                assert again.status == 304
                assert await again.read() == b""
                assert again.headers["ETag"] == tag

    asyncio.run(main())


# ---------------------------------------------------------------------------------------------
# Framing: HEAD and 304 carry no body, so a pipelined request after them must still parse


def read_response(stream: BinaryIO, *, bodyless: bool) -> tuple[int, dict[str, str], bytes]:
    status = int(stream.readline().split()[1])
    headers: dict[str, str] = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = 0 if bodyless or status == 304 else int(headers.get("content-length", "0"))
    return status, headers, stream.read(length)


@pytest.mark.parametrize(
    ("first", "status"),
    [
        pytest.param("HEAD /big HTTP/1.1\r\nAccept-Encoding: gzip\r\n", 200, id="HEAD gzip"),
        pytest.param("HEAD /big HTTP/1.1\r\n", 200, id="HEAD"),
        pytest.param('GET /literal HTTP/1.1\r\nIf-None-Match: "v7"\r\n', 304, id="304"),
        pytest.param("HEAD /api/carts/1 HTTP/1.1\r\n", 200, id="HEAD resource"),
    ],
)
def test_pipelined_after_a_bodyless_response(url: str, first: str, status: int) -> None:
    second = "GET /literal HTTP/1.1\r\nConnection: close\r\n"
    with socket.create_connection(address(url), timeout=10) as sock:
        sock.sendall(f"{first}Host: x\r\n\r\n{second}Host: x\r\n\r\n".encode())
        with sock.makefile("rb") as stream:
            got, headers, _ = read_response(stream, bodyless=True)
            assert got == status
            next_status, _, next_body = read_response(stream, bodyless=False)
            assert (next_status, next_body) == (200, b"hello")
            assert stream.read() == b""  # nothing left over: the framing held
    if first.startswith("HEAD /big"):
        get_headers = {"Accept-Encoding": "gzip" if "gzip" in first else "identity"}
        full = requests.get(url + "/big", headers=get_headers, stream=True)
        with full:
            assert headers["content-length"] == full.headers["Content-Length"]
            assert headers["etag"] == full.headers["ETag"]


def curl(*args: str) -> bytes:
    command = ["curl", "-sS", "--compressed", *args]
    return subprocess.run(command, capture_output=True, check=True, timeout=30).stdout


def test_curl_compressed_against_the_bundled_stubs() -> None:
    assert shutil.which("curl"), "curl is needed here (.ci/run installs it)"
    with start(REPO / "stubs") as server:
        users = server.url_for("users", "/api/users")
        raw_headers, _, body = curl("-D", "-", "-o", "-", users).partition(b"\r\n\r\n")
        fields = (line.split(": ", 1) for line in raw_headers.decode().splitlines()[1:])
        sent = {name.lower(): value for name, value in fields}  # values as sent: tags are exact
        coding, tag = sent["content-encoding"], sent["etag"]
        assert coding in ("gzip", "br", "deflate")
        assert tag.endswith(f'-{coding}"')
        assert json.loads(body)["total"] == 5  # curl decompressed what we compressed
        revalidated = curl(
            "-o", "/dev/null", "-w", "%{http_code}", "-H", f"If-None-Match: {tag}", users
        )
        assert revalidated == b"304"


# ---------------------------------------------------------------------------------------------
# MessagePack both ways


@pytest.mark.parametrize("media", ["application/msgpack", "application/x-msgpack"])
def test_msgpack_response_when_preferred(http: requests.Session, url: str, media: str) -> None:
    response = http.get(url + "/big", headers={"Accept": f"application/json;q=0.5, {media}"})
    assert response.headers["Content-Type"] == media
    assert msgpack.unpackb(response.content) == BIG
    assert "Accept" in response.headers["Vary"]
    assert etag_of(response).endswith('-msgpack"')
    plain = http.get(url + "/big", headers={"Accept": f"application/json, {media};q=0.9"})
    assert plain.headers["Content-Type"] == "application/json"


def test_msgpack_request_body_is_matched_as_json(http: requests.Session, url: str) -> None:
    headers = {"Content-Type": "application/msgpack"}
    ada = http.post(url + "/users", data=msgpack.packb({"name": "Ada"}), headers=headers)
    assert (ada.status_code, ada.json()) == (201, {"created": True})
    bob = http.post(url + "/users", data=msgpack.packb({"name": "Bob"}), headers=headers)
    assert bob.status_code == 404


# ---------------------------------------------------------------------------------------------
# Compressed request bodies

CODERS = {"gzip": gzip.compress, "deflate": zlib.compress}


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_compressed_request_body_is_decoded_before_matching(
    http: requests.Session, url: str, coding: str
) -> None:
    http.delete(url + "/__admin/requests")
    headers = {"Content-Type": "application/json", "Content-Encoding": coding}
    ada = json.dumps({"name": "Ada"}).encode()
    assert http.post(url + "/users", data=CODERS[coding](ada), headers=headers).status_code == 201
    bob = CODERS[coding](b'{"name": "Bob"}')
    assert http.post(url + "/users", data=bob, headers=headers).status_code == 404
    matched, unmatched = http.get(url + "/__admin/requests").json()["requests"]
    assert (matched["body"], matched["stub"]) == (ada.decode(), "create")
    assert matched["content_encoding"] == coding
    assert unmatched["content_encoding"] == coding


def test_corrupt_gzip_gets_400_and_the_server_carries_on(url: str) -> None:
    body = b"\x1f\x8b\x08\x00not really gzip at all"
    request = (
        "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Encoding: gzip\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection(address(url), timeout=10) as sock:
        sock.sendall(request)
        with sock.makefile("rb") as stream:
            status, headers, answer = read_response(stream, bodyless=False)
            assert status == 400
            assert json.loads(answer)["error"] == "malformed request body"
            assert headers["connection"] == "close"
            assert stream.read() == b""
    with requests.get(url + "/literal") as after:  # a new connection is served
        assert after.text == "hello"


@pytest.mark.parametrize("coding", ["compress", "snappy", "gzip, gzip"])
def test_unknown_request_coding_gets_415(http: requests.Session, url: str, coding: str) -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": coding}
    response = http.post(url + "/users", data=b'{"name": "Ada"}', headers=headers)
    assert response.status_code == 415
    assert coding in response.json()["detail"]


def test_a_refused_body_is_one_problem_in_the_server_and_offline(
    http: requests.Session, url: str, tmp_path: Path
) -> None:
    """The server and the socket-free double write the same HttpProblem byte for byte."""
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    truncated = gzip.compress(b'{"name": "Ada"}')[:-4]
    expected = HttpProblem(400, "malformed request body", "the gzip stream is truncated")
    served = http.post(url + "/users", data=truncated, headers=headers)
    assert (served.status_code, served.content) == (expected.status, expected.body())
    double = OfflineDouble(load_paths([write_stub_file(tmp_path, "web.yaml", STUBS)]))
    offline = double.answer("POST", double.urls["web"] + "/users", headers.items(), truncated)
    assert (offline.status, offline.body) == (expected.status, expected.body())


def gzip_bomb(zeros: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    """``zeros`` zero bytes gzip-compressed, a piece at a time (never held whole)."""
    coder = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(chunk)
    for _ in range(zeros // chunk):
        if out := coder.compress(block):
            yield out
    yield coder.flush()


def test_a_gzip_bomb_gets_413_and_the_server_carries_on(url: str) -> None:
    # The compressed stream (~300 KB) is read whole, within --max-body-bytes, then decoded only
    # up to the cap: memory and CPU stay bounded whatever the stream expands to.
    head = (
        "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    with socket.create_connection(address(url), timeout=10) as sock:
        sock.sendall(head.encode())
        for piece in gzip_bomb(300 * 1024 * 1024):  # ~300 KB compressed
            sock.sendall(b"%x\r\n%b\r\n" % (len(piece), piece))
            if select.select([sock], [], [], 0)[0]:  # the answer came: stop sending
                break
        else:
            sock.sendall(b"0\r\n\r\n")
        with sock.makefile("rb") as stream:
            status, _, body = read_response(stream, bodyless=False)
    assert status == 413
    assert json.loads(body)["error"] == "request body too large"
    with requests.get(url + "/literal") as after:
        assert after.text == "hello"


# ---------------------------------------------------------------------------------------------
# Stateful resources


def test_resource_lifecycle_over_http(http: requests.Session, url: str) -> None:
    carts = url + "/api/carts"
    assert http.post(url + "/__admin/reset").status_code == 200
    assert http.get(carts).json() == [CART]
    item = http.get(carts + "/1")
    original = etag_of(item)
    assert http.get(carts + "/1", headers={"If-None-Match": original}).status_code == 304
    created = http.post(carts, json={"owner": "Ada"})
    assert created.status_code == 201
    assert created.headers["Location"] == "/api/carts/2"
    assert created.headers["ETag"] == etag_of(http.get(carts + "/2"))
    patch = {"Content-Type": "application/merge-patch+json", "If-Match": original}
    patched = http.patch(carts + "/1", data=b'{"owner": "Ada", "lines": null}', headers=patch)
    assert (patched.status_code, patched.json()) == (200, {"id": "1", "owner": "Ada"})
    stale = http.patch(carts + "/1", json={"owner": "Bob"}, headers={"If-Match": original})
    assert stale.status_code == 412
    put = http.put(carts + "/1", json={"owner": "Eve"}, headers={"If-Match": etag_of(patched)})
    assert (put.status_code, put.json()) == (200, {"owner": "Eve", "id": "1"})
    assert http.delete(carts + "/2").status_code == 204
    assert http.get(carts + "/2").status_code == 404
    assert http.post(url + "/__admin/reset").status_code == 200
    restored = http.get(carts + "/1")
    assert (restored.json(), etag_of(restored)) == (CART, original)
    assert http.get(carts).json() == [CART]


def test_concurrent_writers_with_one_etag_exactly_one_wins(url: str) -> None:
    item = url + "/api/carts/1"

    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            async with session.post(url + "/__admin/reset") as reset:
                assert reset.status == 200
            async with session.get(item) as current:
                tag = current.headers["ETag"]

            async def write(n: int) -> tuple[int, int]:
                headers = {"If-Match": tag}
                async with session.patch(item, json={"owner": f"w{n}"}, headers=headers) as r:
                    await r.read()
                    return r.status, n

            results = await asyncio.gather(*(write(n) for n in range(20)))
            assert Counter(status for status, _ in results) == {200: 1, 412: 19}
            (winner,) = [n for status, n in results if status == 200]
            async with session.get(item) as final:
                assert (await final.json())["owner"] == f"w{winner}"
                assert final.headers["ETag"] != tag

    asyncio.run(main())
