"""Prebuilt answers (mockserver.wire) against aiohttp's own response path, on real sockets.

Two low-level aiohttp servers answer the same inputs, one through WireResponse.build and one
through web.Response; a raw socket sends each the same bytes, and the answers must agree in
everything but the order of headers and the clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import ClientSession, TraceConfig, web

from mockserver.server.wire import WireResponse, wire_head

Headers = tuple[tuple[str, str], ...]
JSON: Headers = (("Content-Type", "application/json"), ("ETag", '"abc"'))


async def _serve(
    handler: Callable[[web.BaseRequest], web.StreamResponse],
) -> tuple[web.Server, asyncio.AbstractServer, int]:
    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        return handler(request)

    server = web.Server(handle, access_log=None)
    listener = await asyncio.get_running_loop().create_server(server, "127.0.0.1", 0)
    return server, listener, listener.sockets[0].getsockname()[1]


Answer = tuple[int, Headers, bytes]


def _with_pair(answer: Answer, scenario: Callable[[int, int], Awaitable[None]]) -> None:
    """Run ``scenario(wire port, aiohttp port)`` against two servers answering ``answer``."""
    status, headers, body = answer

    async def main() -> None:
        wire = await _serve(lambda request: WireResponse.build(request, status, headers, body))
        plain = await _serve(lambda _: web.Response(status=status, headers=headers, body=body))
        try:
            await scenario(wire[2], plain[2])
        finally:
            for server, listener, _ in (wire, plain):
                listener.close()
                await listener.wait_closed()
                await server.shutdown(1)

    asyncio.run(main())


async def _exchange(
    port: int, raw: bytes, answers: int = 1, *, body: bool = True
) -> list[tuple[str, dict[str, list[str]], bytes]]:
    """Send ``raw`` and read ``answers`` responses: (status line, headers, body) each."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    out = []
    try:
        for _ in range(answers):
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            status_line, *lines = head.decode().split("\r\n")[:-2]
            headers: dict[str, list[str]] = {}
            for line in lines:
                name, _, value = line.partition(": ")
                headers.setdefault(name.lower(), []).append(value)
            length = int(headers.get("content-length", ["0"])[0])
            content = b""
            if body and length:
                content = await asyncio.wait_for(reader.readexactly(length), 5)
            out.append((status_line, headers, content))
    finally:
        writer.close()
    return out


def _comparable(
    answer: tuple[str, dict[str, list[str]], bytes],
) -> tuple[str, dict[str, list[str]], bytes]:
    status_line, headers, body = answer
    assert len(headers.pop("date")) == 1
    return status_line, headers, body


GET = b"GET /x HTTP/1.1\r\nHost: here\r\n\r\n"

ANSWERS = {
    "json 200": (200, JSON, b'{"a": 1}'),
    "no content type": (200, (), b"some bytes"),
    "empty 200": (200, JSON, b""),
    "201": (201, (("Location", "/x/1"), *JSON), b"{}"),
    "204": (204, (("X-Trace", "1"),), b""),
    "304": (304, (("ETag", '"abc"'), ("Vary", "Accept")), b""),
    "404 report": (404, JSON, b'{"error": "no stub"}'),
    "unknown status": (599, JSON, b"{}"),
    "stub's own Server": (200, (("Server", "upstream/1.0"), *JSON), b"{}"),
    "repeated header": (200, (("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")), b"x"),
    "non-ascii value": (200, (("X-Name", "Zoë"),), b"x"),
    "stub's Content-Length": (200, (("Content-Length", "3"),), b"abc"),
    "stub's Connection": (200, (("Connection", "close"),), b"abc"),
    "stub's Date": (200, (("Date", "Tue, 29 Jun 2021 21:32:25 GMT"),), b"abc"),
}


@pytest.mark.parametrize("name", sorted(ANSWERS))
@pytest.mark.parametrize(
    "raw",
    [
        GET,
        b"HEAD /x HTTP/1.1\r\nHost: here\r\n\r\n",
        b"GET /x HTTP/1.0\r\nHost: here\r\n\r\n",
        b"GET /x HTTP/1.0\r\nHost: here\r\nConnection: keep-alive\r\n\r\n",
        b"GET /x HTTP/1.1\r\nHost: here\r\nConnection: close\r\n\r\n",
        b"CONNECT here:443 HTTP/1.1\r\nHost: here:443\r\n\r\n",
    ],
    ids=["GET", "HEAD", "1.0", "1.0 keep-alive", "close", "CONNECT"],
)
def test_the_wire_answer_is_what_aiohttp_would_send(name: str, raw: bytes) -> None:
    async def scenario(wire_port: int, plain_port: int) -> None:
        if raw.startswith(b"HEAD"):  # no body follows, whatever Content-Length says
            wire = await _exchange(wire_port, raw, body=False)
            plain = await _exchange(plain_port, raw, body=False)
        else:
            wire = await _exchange(wire_port, raw)
            plain = await _exchange(plain_port, raw)
        assert _comparable(wire[0]) == _comparable(plain[0])

    _with_pair(ANSWERS[name], scenario)


def test_pipelined_requests_are_answered_in_order_on_one_connection() -> None:
    async def scenario(wire_port: int, _: int) -> None:
        answers = await _exchange(wire_port, GET * 5, answers=5)
        assert [a[2] for a in answers] == [b'{"a": 1}'] * 5
        assert all(a[0] == "HTTP/1.1 200 OK" for a in answers)

    _with_pair(ANSWERS["json 200"], scenario)


def test_a_real_client_reuses_its_connection() -> None:
    created: list[object] = []

    async def on_create(*args: object) -> None:
        created.append(args)

    async def scenario(wire_port: int, _: int) -> None:
        tracing = TraceConfig()
        tracing.on_connection_create_end.append(on_create)
        async with ClientSession(trace_configs=[tracing]) as session:
            for _ in range(3):
                async with session.get(f"http://127.0.0.1:{wire_port}/x") as response:
                    assert response.status == 200
                    assert await response.json() == {"a": 1}
                    assert response.headers["ETag"] == '"abc"'

    _with_pair(ANSWERS["json 200"], scenario)
    assert len(created) == 1  # one connection, kept alive and reused


@pytest.mark.parametrize("value", ["a\r\nX-Injected: 1", "a\nb", "a\x00b"])
def test_a_header_that_would_smuggle_a_line_is_not_prebuilt(value: str) -> None:
    assert wire_head(200, (("X-Bad", value),), 1) is None


def test_a_stub_that_frames_or_dates_its_own_answer_is_not_prebuilt() -> None:
    assert wire_head(200, (("Transfer-Encoding", "chunked"),), 1) is None
    assert wire_head(200, (("content-length", "1"),), 1) is None
    assert wire_head(200, (("Date", "Tue, 29 Jun 2021 21:32:25 GMT"),), 1) is None
    assert wire_head(200, JSON, 1) is not None
