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
from dataclasses import dataclass
from enum import Enum
from typing import Any

from aiohttp import hdrs, web
from aiohttp.http_exceptions import BadHttpMessage

from mockserver.core.config import Settings
from mockserver.core.errors import HttpProblem
from mockserver.core.journal import Journal
from mockserver.core.namespaces import NS_PREFIX, split_namespace
from mockserver.core.report import brief_report
from mockserver.core.request import RequestView
from mockserver.core.respond import Answer, fault_to_perform, respond
from mockserver.core.store import StubStore
from mockserver.core.stubspec import MAX_DELAY_MS
from mockserver.messaging.doubles import publish_after
from mockserver.output.logs import log_request, request_level
from mockserver.server.admin import Dispatch, admin_subpath, authorised, handle_admin
from mockserver.server.bodies import REQUEST_CODINGS, BodyError, decode_request_body
from mockserver.server.faults import perform_fault
from mockserver.server.limits import GuardedRequestHandler, guarded_server
from mockserver.server.namespace_admin import namespace_dispatch, namespaced
from mockserver.server.problems import problem_response
from mockserver.server.state import ServerState
from mockserver.server.wire import WireResponse
from mockserver.state.respond import respond_shared

__all__ = ["REQUEST_CODINGS", "Handler", "Plan", "make_handler", "make_server", "plan"]

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]

log = logging.getLogger("mockserver")


class Plan(Enum):
    """What becomes of a request once its body is in: decided by ``plan``, carried out by the
    handler."""

    ANSWER = "answer"  # write respond()'s answer (a stub's, a resource's, the unmatched report)
    FORWARD = "forward"  # the upstream answers: record mode, or a miss in spy mode
    FAULT = "fault"  # the stub asks for a fault: drawn at its rate, after its delay


# Read per request as module names: Python 3.11 looks an enum member up through its class
# several times slower than a global (~0.1 us a read here).
ANSWER, FORWARD, FAULT = Plan.ANSWER, Plan.FORWARD, Plan.FAULT


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request's body is refused before any stub is asked: the answer's problem."""

    status: int
    error: str
    detail: str


def plan(answer: Answer | None, spying: bool) -> Plan:
    """What to do with a request: ``answer`` is None when the stubs were not asked (record
    mode forwards everything); ``spying``: a miss goes to the upstream."""
    if answer is None or (spying and answer.report is not None):
        return FORWARD
    return ANSWER if answer.fault is None else FAULT


async def intake(request: web.BaseRequest, max_bytes: int) -> bytes | Refusal:
    """The request's body, decoded and within ``max_bytes``, or why it is refused."""
    coding = request.headers.get(hdrs.CONTENT_ENCODING)
    if coding is not None and coding.strip().lower() not in REQUEST_CODINGS:
        return Refusal(
            415,
            "unsupported content encoding",
            f"request bodies may be coded with {', '.join(sorted(REQUEST_CODINGS))}; "
            f"got Content-Encoding: {coding}",
        )
    try:
        # Still coded: the server runs with auto_decompress off (see bodies.py).
        return decode_request_body(await request.read(), coding, max_bytes)
    except web.HTTPRequestEntityTooLarge:
        return Refusal(
            413,
            "request body too large",
            f"the body is over the {max_bytes:,}-byte limit (--max-body-bytes, after "
            "decompression)",
        )
    except BodyError as exc:
        return Refusal(exc.status, exc.error, exc.detail)
    except (BadHttpMessage, web.RequestPayloadError) as exc:
        reason = exc.__cause__ if isinstance(exc.__cause__, BadHttpMessage) else exc
        return Refusal(400, "malformed request body", str(getattr(reason, "message", reason)))


def refused(
    request: web.BaseRequest, journal: Journal, path: str, listener: int | None, why: Refusal
) -> web.Response:
    """Refuse a body: answer, close the connection (rather than drain what is left of it),
    and journal it (flagged, without it)."""
    headers = tuple(request.headers.items())
    view = RequestView(request.method, path, request.query_string, headers, b"")
    flag = "rejected: " + why.error.replace("request ", "").replace(" ", "_")
    journal.record(
        view, service=None, stub_id=None, status=why.status, listener=listener, error=flag
    )
    response = problem_response(HttpProblem(why.status, why.error, why.detail))
    response.force_close()
    return response


def failed(
    exc: Exception,
    view: RequestView,
    journal: Journal,
    listener: int | None,
) -> web.Response:
    """A bug of ours while answering: journaled, so the test that caused it fails."""
    error = f"{type(exc).__name__}: {exc}"
    log.exception("answering %s %s failed", view.method, view.path)
    journal.record(view, service=None, stub_id=None, status=500, listener=listener, error=error)
    return problem_response(
        HttpProblem(
            500, "internal error", f"{error} (a bug in mockserver; the log has the traceback)"
        )
    )


def make_handler(state: ServerState, listener: int | None) -> Handler:
    """The request handler for one listener (None: the main port)."""
    settings = state.settings
    default = state.store
    default_admin = namespace_dispatch(None)
    if settings.admin_api == "wiremock":  # WireMock's routes first, ours for the rest
        from mockserver.server.wiremock_admin import wiremock_dispatch

        default_admin = wiremock_dispatch(default_admin)
    unmatched_status, near_misses = settings.unmatched_status, settings.near_misses
    match_budget = settings.match_budget_ms / 1000
    steps = state.steps

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        path = request.path  # percent-decoded by aiohttp, so /%5F%5Fadmin arrives as /__admin
        store = default
        if "/__" in path:
            routed = await route(request, state, path, listener, default_admin)
            if isinstance(routed, web.StreamResponse):
                return routed
            store, path = routed
        body = b""
        if request.body_exists:
            taken = await intake(request, settings.max_body_bytes)
            if isinstance(taken, Refusal):
                return refused(request, store.journal, path, listener, taken)
            body = taken
        headers = tuple(request.headers.items())
        view = RequestView(request.method, path, request.query_string, headers, body)
        # Record and spy modes forward the default namespace's requests only: a namespace's
        # prefix is no part of the upstream's paths.
        forwarding = state.forwarding if store is default else None
        if forwarding is not None and forwarding.target(listener) is None:
            forwarding = None
        answer = None
        if forwarding is None or not forwarding.record_all:
            try:
                # With shared state, only a store with stateful stubs or resources needs the
                # awaited path: static stubs are answered as in one process.
                if steps is None or not (store.snapshot.stateful or store.resources):
                    answer = respond(
                        store,
                        listener,
                        view,
                        unmatched_status=unmatched_status,
                        near_misses=near_misses,
                        journal_unmatched=forwarding is None,
                        match_budget=match_budget,
                    )
                else:  # --state redis: a stateful stub's step is Redis's (state/respond.py)
                    answer = await respond_shared(
                        steps,
                        settings,
                        store,
                        None if store is default else split_namespace(request.path)[0],
                        listener,
                        view,
                        journal_unmatched=forwarding is None,
                    )
            except Exception as exc:
                return failed(exc, view, store.journal, listener)
        step = plan(answer, forwarding is not None)
        if step is FORWARD:
            assert forwarding is not None  # plan() forwards only to an upstream there is
            forwarded = await forwarding.forward(request, listener, view, store.journal)
            assert forwarded is not None  # None only for a listener without an upstream
            return forwarded
        assert answer is not None  # plan() forwards what the stubs were not asked
        if log.isEnabledFor(request_level(answer.report)):  # one line per request (logs.py)
            if store is not default:  # the line names the namespace: the path as it was sent
                view = RequestView(view.method, request.path, view.query_string, headers, body)
            log_request(log, view, answer.status, answer.stub_id, answer.report, answer.fault)
        if answer.delay_ms[1] or answer.timing:
            await delayed(request, answer, store.rng)
        if step is FAULT:
            fault = fault_to_perform(answer, store.rng.random)
            if fault is not None:
                return perform_fault(request, fault, answer.status, answer.headers, answer.body)
        timing = answer.timing
        if timing is not None and timing.dribble and answer.body and request.method != "HEAD":
            response = await dribbled(request, answer, *timing.dribble)
        else:
            sent = answer.body if answer.report is None else shown_report(request, answer, settings)
            response = WireResponse.build(
                request, answer.status, answer.headers, sent, answer.reason
            )
        if (answer.webhooks or answer.publishes) and answer.stub_id is not None:
            # Sent first, so a webhook or message never arrives before the answer that caused it.
            await response.prepare(request)
            await response.write_eof()
            state.webhooks.dispatch(answer.stub_id, answer.webhooks, store.deliveries)
            if answer.publishes:
                publish_after(
                    state.messaging, answer.stub_id, answer.publishes, state.store.messages
                )
        return response

    return handle


async def route(
    request: web.BaseRequest,
    state: ServerState,
    path: str,
    listener: int | None,
    default_admin: Dispatch,
) -> web.StreamResponse | tuple[StubStore, str]:
    """A path with ``/__`` in it: an admin call (answered here) or a namespace's request (its
    store, and the path without the prefix); else the default store and the path."""
    if path.startswith(NS_PREFIX):
        return await namespaced(request, state, path, listener)
    admin_path = admin_subpath(path)
    if admin_path is not None:
        return await handle_admin(request, state, admin_path, listener, default_admin)
    return state.store, path


async def delayed(request: web.BaseRequest, answer: Answer, rng: random.Random) -> None:
    """Wait out the stub's delay; a client that leaves meanwhile is marked on its entry."""
    pause = _delay_ms(answer, rng)
    if not pause:
        return
    guard = request.protocol if isinstance(request.protocol, GuardedRequestHandler) else None
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


def shown_report(request: web.BaseRequest, answer: Answer, settings: Settings) -> bytes:
    """The unmatched answer's body: the near-miss report, or its brief form when it is kept
    from this caller (--unmatched-report)."""
    if answer.report is not None and _kept_from(request, settings):
        return json.dumps(brief_report(answer.report), indent=2).encode() + b"\n"
    return answer.body


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
    response = web.StreamResponse(
        status=answer.status, reason=answer.reason, headers=answer.headers
    )
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
