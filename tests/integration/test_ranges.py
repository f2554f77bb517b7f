"""Range requests on every static stub, side by side with aiohttp's FileResponse (a reference
implementation of RFC 9110 §14) serving the same bytes."""

from __future__ import annotations

import asyncio
import email
import os
import threading
from collections.abc import Iterator

import pytest
import requests
from aiohttp import web

from mockserver.server.runner import MockServer

from .admin_helpers import serve, write_stubs

BODY = os.urandom(4096)
STUBS = """\
service: files
stubs:
  - id: logo
    request: {method: GET, path: /logo.bin}
    response:
      headers: {Content-Type: application/octet-stream}
      body_file: logo.bin
      last_modified: "Sun, 06 Dec 2026 08:00:00 GMT"
  - id: page
    request: {method: GET, path: /page}
    response: {headers: {Content-Type: text/plain}, body: "%s"}
  - id: created
    request: {method: GET, path: /created}
    response: {status: 201, body: "0123456789"}
""" % ("0123456789" * 400)


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    root = tmp_path_factory.mktemp("stubs")
    (root / "logo.bin").write_bytes(BODY)
    write_stubs(root, {"files.yaml": STUBS})
    with serve(root) as server:
        yield server


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """aiohttp's FileResponse serving the same bytes, in a thread of its own."""
    folder = tmp_path_factory.mktemp("files")
    (folder / "logo.bin").write_bytes(BODY)
    started = threading.Event()
    url: list[str] = []
    stop: list[asyncio.Event] = []
    loop = asyncio.new_event_loop()

    async def main() -> None:
        async def logo(request: web.Request) -> web.StreamResponse:
            return web.FileResponse(folder / "logo.bin")

        app = web.Application()
        app.router.add_get("/logo.bin", logo)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        url.append(f"http://127.0.0.1:{port}")
        stop.append(asyncio.Event())
        started.set()
        await stop[0].wait()
        await runner.cleanup()

    def run() -> None:
        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(30)
    yield url[0]
    loop.call_soon_threadsafe(stop[0].set)
    thread.join(30)


def get(base: str, path: str, **headers: str) -> requests.Response:
    # identity: FileResponse may compress otherwise, and ranges are of the bytes as sent
    return requests.get(base + path, headers={"Accept-Encoding": "identity", **headers}, timeout=10)


@pytest.mark.parametrize(
    "range_",
    ["bytes=0-9", "bytes=-16", "bytes=4000-", "bytes=4090-5000", "bytes=0-0", "bytes=-5000"],
)
def test_a_single_range_is_what_the_reference_sends(
    mock: MockServer, reference: str, range_: str
) -> None:
    ours, theirs = (
        get(mock.url, "/logo.bin", Range=range_),
        get(reference, "/logo.bin", Range=range_),
    )
    assert (ours.status_code, theirs.status_code) == (206, 206)
    assert ours.headers["Content-Range"] == theirs.headers["Content-Range"]
    assert ours.content == theirs.content
    first, last = (
        int(x) for x in ours.headers["Content-Range"].split()[1].split("/")[0].split("-")
    )
    assert ours.content == BODY[first : last + 1]


@pytest.mark.parametrize("range_", ["bytes=999999-", "bytes=4096-"])
def test_an_unsatisfiable_range_is_416_like_the_reference(
    mock: MockServer, reference: str, range_: str
) -> None:
    ours, theirs = (
        get(mock.url, "/logo.bin", Range=range_),
        get(reference, "/logo.bin", Range=range_),
    )
    assert (ours.status_code, theirs.status_code) == (416, 416)
    assert ours.headers["Content-Range"] == theirs.headers["Content-Range"] == "bytes */4096"
    assert ours.content == b""


@pytest.mark.parametrize(
    "ignored",
    [
        "bytes=9-1",  # invalid: last before first
        "items=0-1",  # not bytes
        "bytes=x-1",
        "bytes=" + ",".join(["0-0"] * 65),  # too many ranges
        "bytes=0-,0-",  # overlapping: more bytes than the body
    ],
)
def test_a_range_that_cannot_be_honoured_is_ignored(mock: MockServer, ignored: str) -> None:
    whole = get(mock.url, "/logo.bin", Range=ignored)
    assert (whole.status_code, whole.content) == (200, BODY)
    assert "Content-Range" not in whole.headers


def test_a_plain_get_is_whole_and_says_ranges_are_accepted(mock: MockServer) -> None:
    whole = get(mock.url, "/logo.bin")
    assert (whole.status_code, whole.content) == (200, BODY)
    assert whole.headers["Accept-Ranges"] == "bytes"


def test_several_ranges_are_multipart_byteranges(mock: MockServer) -> None:
    answer = get(mock.url, "/logo.bin", Range="bytes=0-9, -16")
    assert answer.status_code == 206
    content_type = answer.headers["Content-Type"]
    assert content_type.startswith("multipart/byteranges; boundary=")
    message = email.message_from_bytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + answer.content
    )
    parts = [
        (p["Content-Range"], p["Content-Type"], p.get_payload(decode=True))
        for p in message.get_payload()
    ]
    assert parts == [
        ("bytes 0-9/4096", "application/octet-stream", BODY[:10]),
        ("bytes 4080-4095/4096", "application/octet-stream", BODY[-16:]),
    ]


def test_if_range_sends_the_range_only_for_the_current_representation(mock: MockServer) -> None:
    etag = get(mock.url, "/logo.bin").headers["ETag"]
    assert get(mock.url, "/logo.bin", Range="bytes=0-9", **{"If-Range": etag}).status_code == 206
    for stale in ('"other"', "W/" + etag, "Sat, 05 Dec 2026 08:00:00 GMT"):
        whole = get(mock.url, "/logo.bin", Range="bytes=0-9", **{"If-Range": stale})
        assert (whole.status_code, whole.content) == (200, BODY), stale
    dated = get(
        mock.url, "/logo.bin", Range="bytes=0-9", **{"If-Range": "Sun, 06 Dec 2026 08:00:00 GMT"}
    )
    assert (dated.status_code, dated.content) == (206, BODY[:10])


def test_conditions_come_before_the_range(mock: MockServer) -> None:
    etag = get(mock.url, "/logo.bin").headers["ETag"]
    unchanged = get(mock.url, "/logo.bin", Range="bytes=0-9", **{"If-None-Match": etag})
    assert unchanged.status_code == 304
    failed = get(mock.url, "/logo.bin", Range="bytes=0-9", **{"If-Match": '"other"'})
    assert failed.status_code == 412


def test_only_a_200_to_get_uncompressed_is_ranged(mock: MockServer) -> None:
    head = requests.head(mock.url + "/logo.bin", headers={"Range": "bytes=0-9"}, timeout=10)
    assert (head.status_code, head.headers["Content-Length"]) == (200, "4096")
    created = get(mock.url, "/created", Range="bytes=0-1")
    assert (created.status_code, created.content) == (201, b"0123456789")
    # A gzip answer is sent whole: a slice of gzip bytes decodes to nothing.
    gzipped = requests.get(
        mock.url + "/page", headers={"Range": "bytes=0-9", "Accept-Encoding": "gzip"}, timeout=10
    )
    assert gzipped.status_code == 200
    assert gzipped.headers["Content-Encoding"] == "gzip"
    assert gzipped.text == "0123456789" * 400
    plain = get(mock.url, "/page", Range="bytes=10-19")
    assert (plain.status_code, plain.text) == (206, "0123456789")
