"""A real service to record: an aiohttp application on port 0, in a thread of its own.

It sends what real services send (ETags and 304s, gzip and deflate when asked, cookies, an
auth challenge, a redirect, hop-by-hop headers), can be slow or reset mid-body, counts the
requests it has in flight, and remembers the headers each request arrived with.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import signal
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from mockserver import MockServer, Settings
from mockserver.recording.mode import Target, recording_server
from mockserver.recording.proxy import UpstreamSettings

from ..console import DEADLINE, MOCKSERVER, Console

SECRET_TOKEN = "tok-7c1e9a-bearer"
SECRET_COOKIE = "sess-55aa0f-cookie"
SET_COOKIE_SECRET = "srv-9b2d41-setcookie"
API_KEY = "key-3f88c2-apikey"
QUERY_TOKEN = "qry-d40b17-token"
PASSWORD = "pw-e2a6c9-password"
SECRETS = (SECRET_TOKEN, SECRET_COOKIE, SET_COOKIE_SECRET, API_KEY, QUERY_TOKEN, PASSWORD)

PRETTY = {"id": 7, "name": "Ada Lovelace", "tags": ["math", "engines"], "ratio": 0.5}
TEXT = "line one\r\nline two  \n\ttabbed — ünïcode\n\n"
BINARY = bytes(range(256)) * 4
LARGE = ("the same sentence, over and over. " * 40).encode()
# How services tag the gzip variant of a body whose tag is "v<version>" (/validated/{style}):
# unchanged (aiohttp, many frameworks), weakened (nginx), or with a coding suffix (Apache).
GZIP_TAG_STYLES = {
    "same": lambda tag: tag,
    "weak": lambda tag: f"W/{tag}",
    "suffix": lambda tag: tag[:-1] + '-gzip"',
}


SIZED_TYPES = {
    "json": "application/json",
    "text": "text/plain",
    "binary": "application/octet-stream",
}


def sized_body(kind: str, size: int, seed: int) -> bytes:
    """/sized/{kind}/{size}/{seed}'s body: ``size`` bytes (JSON: about), the same for ``seed``."""
    if kind == "json":
        item = {"id": 0, "seed": seed, "text": "lorem ipsum dolor sit amet " * 3}
        count = size // (len(json.dumps(item)) + 1)
        return json.dumps([{**item, "id": n} for n in range(count)]).encode()
    unit = (
        f"line {seed}: the quick brown fox jumps over the lazy dog\n".encode()
        if kind == "text"
        else bytes(range(256)) + seed.to_bytes(4, "big")
    )
    return (unit * (size // len(unit) + 1))[:size]


def validated_body(version: int) -> bytes:
    """/validated/{style}'s JSON body at ``version``: long enough to be compressed."""
    return json.dumps({"version": version, "text": LARGE.decode()}).encode()


@dataclass
class State:
    """What the service does (``version`` changes its answers) and what it has seen."""

    version: int = 1
    counter: int = 0
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # path, headers
    in_flight: int = 0  # requests to /held/{n} being answered now
    most_in_flight: int = 0
    watch: threading.Condition = field(default_factory=threading.Condition)  # on in_flight
    gate: asyncio.Event | None = None  # /held/{n} answers once it is set
    release: asyncio.Event | None = None  # /slow answers once it is set (when stopping)


def _accepts(request: web.Request, coding: str) -> bool:
    return coding in request.headers.get("Accept-Encoding", "").lower()


LOGO = bytes(range(256)) * 16  # 4,096 bytes


def _logo_file() -> Path:
    import tempfile

    path = Path(tempfile.gettempdir()) / f"mockserver-test-logo-{len(LOGO)}.bin"
    if not path.exists() or path.read_bytes() != LOGO:
        path.write_bytes(LOGO)
    return path


def make_app(state: State) -> web.Application:
    routes = web.RouteTableDef()

    @web.middleware
    async def remember(request: web.Request, handler: Any) -> web.StreamResponse:
        state.seen.append((request.path_qs, {k.lower(): v for k, v in request.headers.items()}))
        return await handler(request)  # type: ignore[no-any-return]

    @routes.get("/etag")
    async def etag(request: web.Request) -> web.Response:
        headers = {"ETag": '"v1"', "Cache-Control": "max-age=60"}
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers=headers)
        return web.json_response({"id": 1, "name": "Ada"}, headers=headers)

    @routes.get("/validated/{style}")
    async def validated(request: web.Request) -> web.Response:
        # The body's tag, and the tag of its gzip variant as this style of service sends it;
        # If-None-Match compared weakly (RFC 9110 §13.1.2) with either.
        tag = f'"v{state.version}"'
        gzip_tag = GZIP_TAG_STYLES[request.match_info["style"]](tag)
        coded = _accepts(request, "gzip")
        headers = {"ETag": gzip_tag if coded else tag, "Cache-Control": "no-cache"}
        headers["Vary"] = "Accept-Encoding"
        held = request.headers.get("If-None-Match", "")
        if any(t.strip().removeprefix("W/") in (tag, gzip_tag) for t in held.split(",")):
            return web.Response(status=304, headers=headers)
        body = validated_body(state.version)
        if coded:
            headers["Content-Encoding"] = "gzip"
            body = gzip.compress(body)
        return web.Response(body=body, content_type="application/json", headers=headers)

    @routes.get("/pretty")
    async def pretty(request: web.Request) -> web.Response:
        return web.json_response(PRETTY, dumps=lambda v: json.dumps(v, indent=2))

    @routes.get("/text")
    async def text(request: web.Request) -> web.Response:
        return web.Response(body=TEXT.encode(), content_type="text/plain", charset="utf-8")

    @routes.get("/binary")
    async def binary(request: web.Request) -> web.Response:
        return web.Response(body=BINARY, content_type="image/png")

    @routes.get("/gzip")
    async def gzipped(request: web.Request) -> web.Response:
        if not _accepts(request, "gzip"):
            return web.Response(body=LARGE, content_type="text/plain")
        headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        body = gzip.compress(LARGE)
        return web.Response(body=body, content_type="text/plain", headers=headers)

    @routes.get("/plain")
    async def plain(request: web.Request) -> web.Response:
        return web.Response(body=LARGE, content_type="text/plain")  # never compressed

    @routes.get("/deflate")
    async def deflated(request: web.Request) -> web.Response:
        if not _accepts(request, "deflate"):
            return web.Response(body=LARGE, content_type="text/plain")
        headers = {"Content-Encoding": "deflate"}
        return web.Response(body=zlib.compress(LARGE), content_type="text/plain", headers=headers)

    @routes.post("/login")
    async def login(request: web.Request) -> web.Response:
        sent = await request.json()
        response = web.json_response({"user": sent.get("user"), "ok": True})
        response.headers["Set-Cookie"] = f"session={SET_COOKIE_SECRET}; HttpOnly; Path=/"
        return response

    @routes.get("/private")
    async def private(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {SECRET_TOKEN}":
            challenge = {"WWW-Authenticate": 'Bearer realm="upstream"'}
            return web.json_response({"error": "who are you"}, status=401, headers=challenge)
        return web.json_response({"secret": "data"})

    @routes.get("/redirect")
    async def redirect(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/etag"})

    @routes.get("/logo.bin")
    async def logo(request: web.Request) -> web.StreamResponse:
        # aiohttp's own static file answer: ETag, Last-Modified, Range, 206, 304 and 416.
        return web.FileResponse(_logo_file())

    @routes.post("/echo-raw")
    async def echo_raw(request: web.Request) -> web.Response:
        body = await request.read()
        return web.json_response({"bytes": len(body), "type": request.content_type})

    @routes.get("/redirect-absolute")
    async def redirect_absolute(request: web.Request) -> web.Response:
        # As many services do: an absolute URL on their own origin, and one elsewhere.
        to = request.query.get("to", f"{request.url.origin()}/etag?x=1")
        return web.Response(status=302, headers={"Location": to})

    @routes.get("/counter")
    async def counter(request: web.Request) -> web.Response:
        state.counter += 1
        return web.json_response({"count": state.counter})

    @routes.get("/hop")
    async def hop(request: web.Request) -> web.Response:
        headers = {
            "Keep-Alive": "timeout=7",
            "Proxy-Authenticate": 'Basic realm="hop"',
            "Trailer": "X-Checksum",
            "Connection": "X-Hop-Internal",
            "X-Hop-Internal": "upstream-only",
            "X-End-To-End": "kept",
        }
        return web.json_response({"ok": True}, headers=headers)

    @routes.get("/slow")
    async def slow(request: web.Request) -> web.Response:
        assert state.release is not None
        await state.release.wait()  # until the service stops: longer than any timeout
        return web.Response(text="too late")

    @routes.get("/reset")
    async def reset(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "100000"})
        response.content_type = "text/plain"
        await response.prepare(request)
        await response.write(b"partial" * 100)
        assert request.transport is not None
        request.transport.abort()  # the connection drops with most of the body unsent
        return response

    @routes.get("/held/{n}")
    async def held(request: web.Request) -> web.Response:
        assert state.gate is not None
        with state.watch:
            state.in_flight += 1
            state.most_in_flight = max(state.most_in_flight, state.in_flight)
            state.watch.notify_all()
        try:
            await state.gate.wait()  # until the test opens it
        finally:
            with state.watch:
                state.in_flight -= 1
        return web.json_response({"n": int(request.match_info["n"])})

    @routes.get("/api/user/{id}")
    async def user(request: web.Request) -> web.Response:
        if state.version == 1:
            return web.json_response({"id": request.match_info["id"], "name": "Ada", "age": 36})
        return web.json_response({"id": request.match_info["id"], "name": "Bob", "email": "b@x"})

    @routes.get("/sized/{kind}/{size}/{seed}")
    async def sized(request: web.Request) -> web.Response:
        kind, size = request.match_info["kind"], int(request.match_info["size"])
        body = sized_body(kind, size, int(request.match_info["seed"]))
        return web.Response(body=body, content_type=SIZED_TYPES[kind])

    @routes.get("/api/item/{id}")
    async def item(request: web.Request) -> web.Response:
        return web.json_response({"item": request.match_info["id"]})

    @routes.get("/api/status")
    async def status(request: web.Request) -> web.Response:
        if state.version == 1:
            return web.json_response({"up": True})
        return web.json_response({"up": False}, status=503)

    @routes.post("/api/echo")
    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"got": await request.json(), "v": state.version})

    @routes.get("/api/echo-headers")  # as httpbin's /anything does
    async def echo_headers(request: web.Request) -> web.Response:
        return web.json_response({"headers": dict(request.headers)})

    app = web.Application(middlewares=[remember])
    app.add_routes(routes)
    return app


class Upstream:
    """``make_app`` served on 127.0.0.1 port 0 until ``stop()``; a context manager."""

    def __init__(
        self, state: State | None = None, app: Callable[[State], web.Application] | None = None
    ) -> None:
        self.state = state or State()
        self._make_app = app or make_app
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def start(self) -> Self:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def setup() -> None:
            self.state.release = asyncio.Event()
            self.state.gate = asyncio.Event()
            runner = web.AppRunner(
                self._make_app(self.state), handle_signals=False, access_log=None
            )
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self._runner = runner
            host, port = runner.addresses[0][:2]
            self.url = f"http://{host}:{port}"

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(setup())
            ready.set()
            loop.run_forever()
            loop.close()

        self._loop, self._thread = loop, threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("the upstream did not start")
        return self

    def open_gate(self) -> None:
        """Let every request to /held/{n} be answered, now and from now on."""
        assert self._loop is not None
        assert self.state.gate is not None
        self._loop.call_soon_threadsafe(self.state.gate.set)

    def stop(self) -> None:
        """Close the listener and every connection. Safe to call twice."""
        loop, thread, runner = self._loop, self._thread, self._runner
        self._loop = self._thread = self._runner = None
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            assert self.state.release is not None
            assert self.state.gate is not None
            self.state.release.set()
            self.state.gate.set()
            if runner is not None:
                await runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@contextmanager
def recording(
    url: str,
    out: Path,
    *,
    name: str = "svc",
    redact: tuple[str, ...] = (),
    limits: UpstreamSettings | None = None,
) -> Iterator[MockServer]:
    """A recording proxy in front of ``url`` on port 0; the file is written when it stops."""
    settings = Settings(paths=(), port=0)
    stubs, forwarding = recording_server(
        [Target(name, url)], out, settings, redact=redact, upstream=limits
    )
    with MockServer(settings, stubs=stubs, forwarding=forwarding) as server:
        yield server


def replaying(*paths: Path) -> MockServer:
    """A plain mock server over recorded files (start it with ``with``)."""
    return MockServer(Settings(paths=tuple(map(str, paths)), port=0, ephemeral_service_ports=True))


@contextmanager
def console(*args: str, service: str = "svc") -> Iterator[str]:
    """``mockserver ARGS`` (record, serve) as a subprocess; yields ``service``'s URL from its
    banner; stops it with SIGTERM (a recorder writes its files then) and checks the exit."""
    with Console([MOCKSERVER, *args]) as process:
        line = process.next_line(lambda text: text.split()[:1] == [service])
        yield line.split()[1]
        process.process.send_signal(signal.SIGTERM)
        assert process.process.wait(timeout=DEADLINE) == 0, process.rest()
