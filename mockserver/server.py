"""The aiohttp shell: one catch-all handler per listener, RequestView in, prepared bytes out.

Built on aiohttp's low-level ``web.Server``: no router runs per request (a catch-all route
alone costs ~15 % here, STYLE.md rule 5), and stubs added at runtime never meet a frozen
router.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from .admin import ADMIN_PREFIX, handle_admin
from .config import Settings
from .model import RequestView
from .report import report_text, unmatched_report
from .store import StubStore

__all__ = ["ServerState", "make_handler", "make_server"]

log = logging.getLogger("mockserver")


@dataclass(slots=True)
class ServerState:
    """What every listener of one mockserver shares."""

    settings: Settings
    store: StubStore
    base_urls: dict[str, str] = field(default_factory=dict)  # service → its base URL
    main_url: str = ""


def error_response(status: int, error: str, detail: str) -> web.Response:
    return web.json_response({"error": error, "detail": detail}, status=status)


def make_handler(state: ServerState, listener: int | None) -> Any:
    """The request handler for one listener (None: the main port)."""
    settings = state.settings
    debug = log.isEnabledFor(logging.DEBUG)

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        if path.startswith(ADMIN_PREFIX) and (
            len(path) == len(ADMIN_PREFIX) or path[len(ADMIN_PREFIX)] == "/"
        ):
            return await handle_admin(request, state)
        body = b""
        if request.body_exists:
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                return error_response(
                    413,
                    "request body too large",
                    f"the body is over the {settings.max_body_bytes:,}-byte limit "
                    "(--max-body-bytes, after decompression)",
                )
            except BadHttpMessage as exc:  # e.g. a corrupt gzip body: aiohttp alone gives 500
                return error_response(400, "malformed request body", str(exc.message))
        view = RequestView(
            request.method, path, request.query_string, request.headers.items(), body
        )
        index = state.store.snapshot.index_for(listener)
        found = index.match(view)
        if found is None:
            return _unmatched(view, index, settings)
        prepared = found.stub.prepared
        if debug:
            log.debug("%s %s -> %d (%s)", view.method, path, prepared.status, found.stub.id)
        low, high = prepared.delay_ms
        if high:
            await asyncio.sleep((low if low == high else random.uniform(low, high)) / 1000)
        return web.Response(status=prepared.status, body=prepared.body, headers=prepared.headers)

    return handle


def _unmatched(view: RequestView, index: Any, settings: Settings) -> web.Response:
    near = index.near_misses(view, settings.near_misses)
    report = unmatched_report(view, near, len(index))
    if log.isEnabledFor(logging.INFO):
        log.info("%s", report_text(report))
    return web.Response(
        status=settings.unmatched_status,
        body=json.dumps(report, indent=2, ensure_ascii=False).encode() + b"\n",
        content_type="application/json",
    )


def make_server(state: ServerState, listener: int | None) -> web.Server:
    """A low-level aiohttp server for one listener, with our body cap and timeouts."""
    max_body = state.settings.max_body_bytes

    def request_factory(
        message: Any, payload: Any, protocol: Any, writer: Any, task: Any
    ) -> web.BaseRequest:
        return web.BaseRequest(
            message,
            payload,
            protocol,
            writer,
            task,
            asyncio.get_running_loop(),
            client_max_size=max_body,
        )

    return web.Server(
        make_handler(state, listener),
        request_factory=request_factory,
        # aiohttp's default keeps idle connections for an hour; 75 s is what proxies expect.
        keepalive_timeout=75.0,
        access_log=None,
    )
