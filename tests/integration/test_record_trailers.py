"""Trailers are dropped by the recorder and its pass-through, as docs/recording.md says.

A raw-socket service answers with a chunked body followed by a trailer section
(``X-Checksum``). The recorder reads services with aiohttp's client, which parses a trailer
section and discards it (aio-libs/aiohttp#1652): the client of the proxy, the stub file and the
replay keep the body and the headers before it, and no trailer. The last test pins aiohttp's
side, so it fails, and this behaviour is revisited, once aiohttp exposes trailers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import requests
import yaml

from ..reliability.scripted import TRAILED_BODY, TRAILER, ScriptedUpstream
from .admin_helpers import raw_request
from .upstream import recording, replaying

pytestmark = pytest.mark.timeout(60)
GET = b"GET /trailed HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n"


@pytest.fixture
def service() -> Iterator[ScriptedUpstream]:
    with ScriptedUpstream() as running:
        yield running


def test_the_service_sends_a_trailer(service: ScriptedUpstream) -> None:
    status, headers, framed = raw_request(service.url, GET)
    assert (status, headers["transfer-encoding"], headers["trailer"]) == (
        200,
        "chunked",
        "X-Checksum",
    )
    assert framed.endswith(f"0\r\n{TRAILER}\r\n\r\n".encode())


def test_the_recording_keeps_body_and_headers_and_drops_the_trailer(
    service: ScriptedUpstream, tmp_path: Path
) -> None:
    with recording(service.url, tmp_path) as proxy:
        status, headers, framed = raw_request(proxy.url, GET)
        passed = requests.get(proxy.url + "/trailed", timeout=10)
    # Passed through: the body and the headers before it, no trailer section.
    assert (status, headers["x-before"], "trailer" in headers) == (200, "head", False)
    assert TRAILER.encode() not in framed
    assert (passed.content, passed.headers["X-Before"]) == (TRAILED_BODY, "head")
    text = (tmp_path / "svc.yaml").read_text(encoding="utf-8")
    (stub, *_) = yaml.safe_load(text)["stubs"]
    assert stub["response"]["body"] == TRAILED_BODY.decode()
    assert stub["response"]["headers"]["X-Before"] == "head"
    assert "Trailer" not in stub["response"]["headers"]
    assert "X-Checksum" not in text
    assert "abc123" not in text
    service.scripts.clear()  # the service gone: every answer below is the replay's
    with replaying(tmp_path) as replay:
        status, headers, body = raw_request(replay.url, GET)
    assert (status, headers["x-before"], body) == (200, "head", TRAILED_BODY)
    assert "trailer" not in headers
    assert "x-checksum" not in headers


def test_aiohttp_s_client_gives_no_trailers(service: ScriptedUpstream) -> None:
    async def fetch() -> tuple[bytes, aiohttp.ClientResponse]:
        async with aiohttp.ClientSession() as session, session.get(service.url + "/trailed") as got:
            return await got.read(), got

    body, response = asyncio.run(fetch())
    assert body == TRAILED_BODY
    assert "X-Checksum" not in response.headers
    assert all(b"abc123" not in value for _, value in response.raw_headers)
    # No API for them: when aiohttp grows one (#1652), record and replay trailers.
    assert not [name for name in dir(response) if "trailer" in name.lower()]
