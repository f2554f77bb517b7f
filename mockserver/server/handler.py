"""The aiohttp shell: one catch-all handler per listener, RequestView in, prepared bytes out.

Built on aiohttp's low-level ``web.Server``: no router runs per request (a catch-all route
alone costs ~15 % here, STYLE.md rule 5), and stubs added at runtime never meet a frozen
router.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from mockserver.core.config import Settings
from mockserver.core.errors import HttpProblem
from mockserver.core.journal import Journal
from mockserver.core.namespaces import NS_PREFIX, MemoryNamespaces, Namespaces
from mockserver.core.report import brief_report
from mockserver.core.request import RequestView
from mockserver.core.respond import Answer, fault_to_perform, respond
from mockserver.core.store import StubStore
from mockserver.core.stubspec import MAX_DELAY_MS
from mockserver.output.logs import log_request, request_level
from mockserver.recording.forwarding import Forwarding
from mockserver.server.admin import admin_subpath, authorised, handle_admin
from mockserver.server.bodies import REQUEST_CODINGS, BodyError, decode_request_body
from mockserver.server.faults import perform_fault
from mockserver.server.limits import GuardedRequestHandler, guarded_server
from mockserver.server.namespace_admin import namespace_dispatch, namespaced
from mockserver.server.problems import problem_response
from mockserver.server.webhooks import Webhooks
from mockserver.server.wire import WireResponse

__all__ = ["REQUEST_CODINGS", "ServerState", "make_handler", "make_server"]

log = logging.getLogger("mockserver")


class _DrainNoise(logging.Filter):
    """Drops aiohttp's "Unhandled exception" when it drains a body we already answered 400.

    After a corrupt gzip body gets its 400, aiohttp reads what is left of it, meets the same
    decoding error and logs it with a traceback, which reads like a crash but is not one.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, BadHttpMessage | web.RequestPayloadError)


logging.getLogger("aiohttp.server").addFilter(_DrainNoise())


async def _nothing() -> None:
    return None


@dataclass(slots=True)
class ServerState:
    """What every listener of one mockserver shares."""

    settings: Settings
    store: StubStore
    base_urls: dict[str, str] = field(default_factory=dict)  # service → its base URL
    main_url: str = ""
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Called after a reload swapped in a new set: the runner opens ports new services declare.
    after_reload: Callable[[], Awaitable[None]] = _nothing
    # Record and spy modes: where unmatched (or all) requests are forwarded.
    forwarding: Forwarding | None = None
    # serve --workers: admin calls (token checked) go to the coordinator, which applies them
    # to every worker process (cluster.py); None answers them here.
    admin_forward: (
        Callable[[web.BaseRequest, str, int | None], Awaitable[web.StreamResponse]] | None
    ) = None
    # Parallel suites' states beside the default one (namespaces.py); and, in the view of the
    # state an admin call in a namespace gets, that namespace's name.
    namespaces: Namespaces | None = None
    namespace: str | None = None
    # The stubs' webhooks: sent after their answers, journaled for GET /__admin/webhooks.
    webhooks: Webhooks = field(default_factory=Webhooks)

    def __post_init__(self) -> None:
        if self.namespaces is None:
            self.namespaces = MemoryNamespaces(self.store, self.settings)


def make_handler(state: ServerState, listener: int | None) -> Any:
    """The request handler for one listener (None: the main port)."""
    settings = state.settings
    default = state.store
    default_admin = namespace_dispatch(None)
    if settings.admin_api == "wiremock":  # WireMock's routes first, ours for the rest
        from mockserver.server.wiremock_admin import wiremock_dispatch

        default_admin = wiremock_dispatch(default_admin)

    def rejected(
        request: web.BaseRequest, journal: Journal, path: str, status: int, error: str, detail: str
    ) -> web.Response:
        """Refuse a body: answer, close the connection, and journal it (flagged, without it)."""
        view = RequestView(
            request.method, path, request.query_string, tuple(request.headers.items())
        )
        flag = "rejected: " + error.replace("request ", "").replace(" ", "_")
        journal.record(
            view,
            service=None,
            stub_id=None,
            status=status,
            listener=listener,
            error=flag,
        )
        response = problem_response(HttpProblem(status, error, detail))
        response.force_close()
        return response

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        path = request.path  # percent-decoded by aiohttp, so /%5F%5Fadmin arrives as /__admin
        store = default
        if "/__" in path:
            if path.startswith(NS_PREFIX):
                found = await namespaced(request, state, path, listener)
                if isinstance(found, web.StreamResponse):
                    return found
                store, path = found
            elif (admin_path := admin_subpath(path)) is not None:
                return await handle_admin(request, state, admin_path, listener, default_admin)
        journal = store.journal
        body = b""
        if request.body_exists:
            coding = request.headers.get("Content-Encoding")
            if coding is not None and coding.strip().lower() not in REQUEST_CODINGS:
                return rejected(
                    request,
                    journal,
                    path,
                    415,
                    "unsupported content encoding",
                    f"request bodies may be coded with {', '.join(sorted(REQUEST_CODINGS))}; "
                    f"got Content-Encoding: {coding}",
                )
            try:
                # Still coded: the server runs with auto_decompress off (see bodies.py).
                body = decode_request_body(await request.read(), coding, settings.max_body_bytes)
            except web.HTTPRequestEntityTooLarge:
                # Close rather than drain what is left of an oversized body.
                return rejected(
                    request,
                    journal,
                    path,
                    413,
                    "request body too large",
                    f"the body is over the {settings.max_body_bytes:,}-byte limit "
                    "(--max-body-bytes, after decompression)",
                )
            except BodyError as exc:
                return rejected(request, journal, path, exc.status, exc.error, exc.detail)
            except (BadHttpMessage, web.RequestPayloadError) as exc:
                # The rest of the body is unreadable: no keep-alive either.
                reason = exc.__cause__ if isinstance(exc.__cause__, BadHttpMessage) else exc
                message = str(getattr(reason, "message", reason))
                return rejected(request, journal, path, 400, "malformed request body", message)
        headers = tuple(request.headers.items())
        view = RequestView(request.method, path, request.query_string, headers, body)
        # Record and spy modes forward the default namespace's requests only: a namespace's
        # prefix is no part of the upstream's paths.
        forwarding = state.forwarding if store is default else None
        spying = False
        if forwarding is not None and forwarding.target(listener) is not None:
            if forwarding.record_all:  # record mode: everything goes to the real service
                forwarded = await forwarding.forward(request, listener, view, journal)
                if forwarded is not None:
                    return forwarded
            spying = True
        try:
            answer = respond(
                store,
                listener,
                view,
                unmatched_status=settings.unmatched_status,
                near_misses=settings.near_misses,
                journal_unmatched=not spying,
                match_budget=settings.match_budget_ms / 1000,
            )
        except Exception as exc:  # a bug of ours: journal it, so the test that caused it fails
            error = f"{type(exc).__name__}: {exc}"
            log.exception("answering %s %s failed", view.method, path)
            journal.record(
                view,
                service=None,
                stub_id=None,
                status=500,
                listener=listener,
                error=error,
            )
            return problem_response(
                HttpProblem(
                    500,
                    "internal error",
                    f"{error} (a bug in mockserver; the log has the traceback)",
                )
            )
        if spying and answer.report is not None and forwarding is not None:
            forwarded = await forwarding.forward(request, listener, view, journal)
            if forwarded is not None:
                return forwarded
        if log.isEnabledFor(request_level(answer.report)):  # one line per request (logs.py)
            if store is not default:  # the line names the namespace: the path as it was sent
                view = RequestView(
                    view.method, request.path, view.query_string, view.header_items, body
                )
            log_request(log, view, answer.status, answer.stub_id, answer.report, answer.fault)
        pause = _delay_ms(answer, store.rng) if answer.delay_ms[1] or answer.timing else 0.0
        if pause:
            guard = (
                request.protocol if isinstance(request.protocol, GuardedRequestHandler) else None
            )
            if guard is not None:
                guard.delaying = True
                if guard.half_closed and request.transport is not None:
                    request.transport.close()  # it closed before the delay: it has left
            try:
                await asyncio.sleep(pause / 1000)
            except asyncio.CancelledError:  # the client left during the delay
                if answer.entry is not None:
                    answer.entry.error = "client_disconnected"
                raise
            finally:
                if guard is not None:
                    guard.delaying = False
        if answer.report is not None and _kept_from(request, settings):
            brief = json.dumps(brief_report(answer.report), indent=2).encode() + b"\n"
            return WireResponse.build(request, answer.status, answer.headers, brief)
        if answer.fault is not None:
            fault = fault_to_perform(answer, store.rng.random)
            if fault is not None:
                return perform_fault(request, fault, answer.status, answer.headers, answer.body)
        timing = answer.timing
        if timing is not None and timing.dribble and answer.body and request.method != "HEAD":
            response = await dribbled(request, answer, *timing.dribble)
        else:
            response = WireResponse.build(request, answer.status, answer.headers, answer.body)
        if answer.webhooks and answer.stub_id is not None:
            # Sent first, so a webhook never arrives before the answer that caused it.
            await response.prepare(request)
            await response.write_eof()
            state.webhooks.dispatch(answer.stub_id, answer.webhooks, store.deliveries)
        return response

    return handle


def _delay_ms(answer: Answer, rng: random.Random) -> float:
    """The stub's delay for this answer: fixed, uniform in a range, or lognormal (seeded)."""
    timing = answer.timing
    if timing is not None and timing.lognormal is not None:
        median, sigma = timing.lognormal
        return min(rng.lognormvariate(math.log(median), sigma), MAX_DELAY_MS)
    low, high = answer.delay_ms
    return low if low == high else rng.uniform(low, high)


async def dribbled(
    request: web.BaseRequest, answer: Answer, chunks: int, duration_ms: int
) -> web.StreamResponse:
    """The answer with its body sent in ``chunks`` turns over ``duration_ms``, for a client's
    read timeout (the length is declared at once, as a slow server's is)."""
    response = web.StreamResponse(status=answer.status, headers=answer.headers)
    response.content_length = len(answer.body)
    await response.prepare(request)
    size = -(-len(answer.body) // chunks)
    pause = duration_ms / 1000 / chunks
    for start in range(0, len(answer.body), size):
        await response.write(answer.body[start : start + size])
        await asyncio.sleep(pause)
    await response.write_eof()
    return response


def _kept_from(request: web.BaseRequest, settings: Settings) -> bool:
    """The near-miss report is kept from this caller (--unmatched-report)."""
    mode, token = settings.unmatched_report, settings.admin_token
    if mode == "auto":
        return bool(token) and not authorised(request, token or "")
    return mode == "brief"


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

    # Header limits, keep-alive (aiohttp's default is an hour), the request-receipt deadline.
    return guarded_server(
        make_handler(state, listener),
        state.settings,
        request_factory=request_factory,
        access_log=None,
        # Request bodies are decoded by bodies.decode_request_body, which also catches a
        # truncated gzip stream and caps the decoded size as it goes.
        auto_decompress=False,
    )
