"""A second real service to record (issue 16): answers that depend on more than the URL.

An aiohttp application served by upstream.Upstream (port 0): a page tagged and compressed
as nginx does (strong ETag uncoded, weak when gzipped, Last-Modified, 304, If-Match), answers
chosen by Accept, Accept-Language and Cookie (with ``Vary``), br, zstd and a coding nobody can
decode, Expires an hour after Date, a reason phrase of its own, an echo of a repeated query,
an absolute redirect, and a HEAD answer of its own beside a GET that changes with ``version``.
It remembers the status of every answer it sent, to count what reached the origin.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import brotli
import zstandard
from aiohttp import web

from .upstream import State

PAGE = ("<!doctype html><title>fidelity</title>" + "<p>the same paragraph</p>\n" * 60).encode()
PAGE_TAG = '"65937d25-714"'
PAGE_MODIFIED = "Mon, 01 Jan 2024 00:00:00 GMT"
TEXT = ("a body that compresses well; " * 80).encode()
SQUASH = "x-squash"  # a content coding only this service and its own clients know


def squash(body: bytes) -> bytes:
    return body[::-1]


def _accepts(request: web.Request, coding: str) -> bool:
    return any(
        token.split(";")[0].strip().lower() == coding and "q=0" not in token.replace(" ", "")
        for token in request.headers.get("Accept-Encoding", "").split(",")
    )


def _tags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


@dataclass
class FidelityState(State):
    statuses: list[tuple[str, int]] = field(default_factory=list)  # path, status answered


def make_fidelity_app(state: State) -> web.Application:
    assert isinstance(state, FidelityState)
    routes = web.RouteTableDef()
    statuses = state.statuses

    @web.middleware
    async def remember(request: web.Request, handler: Any) -> web.StreamResponse:
        state.seen.append((request.path_qs, {k.lower(): v for k, v in request.headers.items()}))
        response: web.StreamResponse = await handler(request)
        statuses.append((request.path, response.status))
        return response

    @routes.get("/index.html")
    async def index(request: web.Request) -> web.Response:
        # nginx with gzip on and etag on: the gzip variant's tag is the weak form of the page's.
        coded = _accepts(request, "gzip")
        headers = {
            "ETag": f"W/{PAGE_TAG}" if coded else PAGE_TAG,
            "Last-Modified": PAGE_MODIFIED,
            "Vary": "Accept-Encoding",
            "Content-Type": "text/html",
        }
        held = request.headers.get("If-Match")
        if held is not None and held != "*" and PAGE_TAG not in _tags(held):
            return web.Response(status=412)
        tags = [t.removeprefix("W/") for t in _tags(request.headers.get("If-None-Match", ""))]
        if PAGE_TAG in tags:
            return web.Response(status=304, headers=headers)
        if coded:
            headers["Content-Encoding"] = "gzip"
            return web.Response(body=gzip.compress(PAGE), headers=headers)
        return web.Response(body=PAGE, headers=headers)

    @routes.get("/negotiate")
    async def negotiate(request: web.Request) -> web.Response:
        vary = {"Vary": "Accept"}
        if "text/html" in request.headers.get("Accept", ""):
            return web.Response(text="<p>html</p>", content_type="text/html", headers=vary)
        return web.json_response({"format": "json"}, headers=vary)

    @routes.get("/lang")
    async def lang(request: web.Request) -> web.Response:
        german = request.headers.get("Accept-Language", "").startswith("de")
        return web.json_response(
            {"greeting": "Hallo" if german else "Hello"}, headers={"Vary": "Accept-Language"}
        )

    @routes.get("/theme")
    async def theme(request: web.Request) -> web.Response:
        chosen = request.cookies.get("theme", "light")
        response = web.json_response({"theme": chosen}, headers={"Vary": "Cookie"})
        if "theme" not in request.cookies:
            response.headers.add("Set-Cookie", "session=abc123; HttpOnly; Path=/")
            response.headers.add("Set-Cookie", "theme=dark; Max-Age=3600")
        return response

    @routes.get("/br")
    async def br(request: web.Request) -> web.Response:
        if _accepts(request, "br"):  # br or nothing: a service that knows one coding
            headers = {"Content-Encoding": "br", "Vary": "Accept-Encoding"}
            return web.Response(
                body=brotli.compress(TEXT), content_type="text/plain", headers=headers
            )
        return web.Response(
            body=TEXT, content_type="text/plain", headers={"Vary": "Accept-Encoding"}
        )

    @routes.get("/zstd")
    async def zstd(request: web.Request) -> web.Response:
        if _accepts(request, "zstd"):
            body = zstandard.ZstdCompressor().compress(TEXT)
            headers = {"Content-Encoding": "zstd", "Vary": "Accept-Encoding"}
            return web.Response(body=body, content_type="text/plain", headers=headers)
        return web.Response(
            body=TEXT, content_type="text/plain", headers={"Vary": "Accept-Encoding"}
        )

    @routes.get("/squashed")
    async def squashed(request: web.Request) -> web.Response:
        if _accepts(request, SQUASH):
            headers = {"Content-Encoding": SQUASH, "Vary": "Accept-Encoding"}
            return web.Response(body=squash(TEXT), content_type="text/plain", headers=headers)
        return web.Response(
            body=TEXT, content_type="text/plain", headers={"Vary": "Accept-Encoding"}
        )

    @routes.get("/expires")
    async def expires(request: web.Request) -> web.Response:
        now = datetime.now(UTC).replace(microsecond=0)
        headers = {
            "Date": format_datetime(now, usegmt=True),
            "Expires": format_datetime(now + timedelta(hours=1), usegmt=True),
        }
        return web.json_response({"fresh": "for an hour"}, headers=headers)

    @routes.get("/reason")
    async def reason(request: web.Request) -> web.Response:
        return web.json_response({"ok": True}, reason="Custom")

    @routes.get("/query")
    async def query(request: web.Request) -> web.Response:
        return web.json_response({"x": sorted(request.query.getall("x", []))})

    @routes.get("/away")
    async def away(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": f"{request.url.origin()}/index.html"})

    def doc_body() -> bytes:
        return json.dumps({"version": state.version, "text": "document " * 20}).encode()

    @routes.get("/doc", allow_head=False)
    async def doc(request: web.Request) -> web.Response:
        return web.Response(body=doc_body(), content_type="application/json")

    @routes.head("/doc")
    async def doc_head(request: web.Request) -> web.Response:
        headers = {"X-Answered-By": "head", "Content-Length": str(len(doc_body()))}
        return web.Response(headers=headers, content_type="application/json")

    app = web.Application(middlewares=[remember])
    app.add_routes(routes)
    return app
