"""What aiohttp does not bound on its own: how long a request may take to arrive.

aiohttp limits the request line, each header field and the number of headers (passed through
from Settings), and closes idle keep-alive connections; but once a request has begun it waits
for the rest of its headers and body forever (research/reliability.md §3.1). A client that
sends a byte every few seconds (slowloris, slow POST) would hold a connection and a task for
as long as it liked. Here each connection gets a deadline, from the first byte of a request
until its body has arrived; past it the client gets 408 and the connection is closed.

Also here: the early 413 for a declared Content-Length over the cap (no byte of it is read),
and the checks of this installation made at start (aiohttp's C parser, the open-file limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import hdrs, http_parser, web
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

from mockserver.core.config import Settings
from mockserver.core.errors import HttpProblem, MockServerError
from mockserver.server.problems import problem_response

__all__ = [
    "ReceiptTimeout",
    "c_parser_in_use",
    "guarded_server",
    "open_file_limit",
    "raise_open_file_limit",
    "startup_warnings",
]

log = logging.getLogger("mockserver")

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]

# Below this many open files a busy staging mock runs out of sockets (one per connection).
MIN_OPEN_FILES: Final = 1024


class ReceiptTimeout(MockServerError, TimeoutError):
    """A request's headers and body did not arrive within the deadline.

    A TimeoutError, so aiohttp's own lingering read after a response stops on it quietly.
    """


def _timeout_detail(seconds: float) -> str:
    return (
        f"the request's headers and body did not all arrive within {seconds:g} s "
        "(--request-timeout); the connection is closed"
    )


def _raw_408(seconds: float) -> bytes:
    body = HttpProblem(408, "request timeout", _timeout_detail(seconds)).body()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class GuardedRequestHandler(RequestHandler):
    """aiohttp's connection handler with a deadline for receiving each request.

    The deadline starts with the first byte of a request and ends when its body is complete
    (a request without a body is complete with its headers). One timer per connection is
    re-armed lazily, as aiohttp does for keep-alive, so a busy keep-alive connection costs
    no timer per request. Idle time between requests is the keep-alive timeout's business.
    """

    __slots__ = (
        "_receipt_deadline",
        "_receipt_handle",
        "_receipt_payload",
        "_receipt_timeout",
        "delaying",
        "half_closed",
    )

    def __init__(self, manager: web.Server, *, request_timeout: float, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._receipt_timeout = request_timeout
        self._receipt_deadline: float | None = None  # None: no request is arriving
        self._receipt_handle: asyncio.TimerHandle | None = None
        # The body of the request arriving now; None while its headers are still coming.
        self._receipt_payload: StreamReader | None = None
        # The client closed its sending side; a stub's delay is running (server.py): a client
        # that closes during a delay has left, one that closes after a request waits for it.
        self.half_closed = False
        self.delaying = False

    def data_received(self, data: bytes) -> None:
        if data and self._receipt_timeout > 0 and not (self._force_close or self._close):
            self._begin_receipt()
        count = self._request_count
        super().data_received(data)
        if self._receipt_deadline is not None and self._request_count != count and self._messages:
            # The headers of one (or more, pipelined) requests are complete: the newest one's
            # body is what is still arriving, if anything.
            payload = self._messages[-1][1]
            if payload.is_eof():
                self._receipt_deadline = self._receipt_payload = None
            else:
                self._receipt_payload = payload

    def _begin_receipt(self) -> None:
        if self._receipt_deadline is not None:
            payload = self._receipt_payload
            if payload is None or not payload.is_eof():
                return  # these bytes continue the request already arriving
        loop = self._loop
        self._receipt_payload = None
        self._receipt_deadline = deadline = loop.time() + self._receipt_timeout
        if self._receipt_handle is None:
            self._receipt_handle = loop.call_at(deadline, self._check_receipt)

    def _check_receipt(self) -> None:
        self._receipt_handle = None
        deadline, payload = self._receipt_deadline, self._receipt_payload
        if deadline is None or self.transport is None:
            return
        if payload is not None and payload.is_eof():  # the body ended after data_received
            self._receipt_deadline = self._receipt_payload = None
            return
        if self._loop.time() < deadline:  # a later request moved the deadline
            self._receipt_handle = self._loop.call_at(deadline, self._check_receipt)
            return
        self._receipt_deadline = self._receipt_payload = None
        seconds = self._receipt_timeout
        if payload is not None:
            # The handler is (or will be) reading this body: the read raises, and guard()
            # answers 408. Nothing else reads it but aiohttp's lingering, which stops on it.
            payload.set_exception(ReceiptTimeout(_timeout_detail(seconds)))
        elif self._request_in_progress or self._messages:
            # The headers of a pipelined request are late while an earlier one is answered:
            # finish that answer, then close instead of waiting for the rest.
            self.close()
        else:
            log.info("closing a connection: a request's headers were too slow to arrive")
            self.transport.write(_raw_408(seconds))
            self.force_close()

    def eof_received(self) -> bool:  # type: ignore[override]  # asyncio's protocol says bool
        """The client closed its sending side (``shutdown(SHUT_WR)``, ``nc -N``) and may still
        read: answer a request it sent whole, then close. aiohttp lets the transport close at
        once, so such a client got nothing while the journal recorded the answer (issue 13)."""
        self.half_closed = True
        waiter = self._waiter
        idle = waiter is not None and not waiter.done() and not self._messages
        if idle or self._receipt_payload is not None or self.delaying:
            return False  # nothing to answer, never will be, or left during a delay: close
        self.close()  # once this answer is sent; no keep-alive
        return True  # keep the transport open for writing it

    def connection_lost(self, exc: BaseException | None) -> None:
        handle, self._receipt_handle = self._receipt_handle, None
        if handle is not None:
            handle.cancel()
        self._receipt_deadline = self._receipt_payload = None
        super().connection_lost(exc)


class GuardedServer(web.Server):
    """``web.Server`` whose connections are GuardedRequestHandlers."""

    def __init__(self, handler: Handler, *, request_timeout: float, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.request_timeout = request_timeout

    def __call__(self) -> RequestHandler:
        return GuardedRequestHandler(
            self, loop=self._loop, request_timeout=self.request_timeout, **self._kwargs
        )

    async def shutdown(self, timeout: float | None = None) -> None:
        """Stop within ``timeout``, during all of which a request in flight may still finish.

        aiohttp gives such a request ``timeout``, then as long again after asking it to stop
        through its body (which a handler sleeping a stub's delay never reads) before it
        cancels it: given half, a stop takes the deadline it was given.
        """
        await super().shutdown(None if timeout is None else timeout / 2)


def _error(status: int, error: str, detail: str) -> web.Response:
    response = problem_response(HttpProblem(status, error, detail))
    response.force_close()
    return response


def guard(handler: Handler, settings: Settings) -> Handler:
    """``handler`` with the early 413 and the 408 for a body that arrives too slowly."""
    max_body = settings.max_body_bytes

    async def guarded(request: web.BaseRequest) -> web.StreamResponse:
        length = request.content_length if request.body_exists else None
        if (
            length is not None
            and length > max_body
            and hdrs.CONTENT_ENCODING not in request.headers
        ):
            # Declared too large (and not compressed, where only the decoded size counts):
            # refuse before a byte of it is read, rather than after 10 MiB or at the deadline.
            return _error(
                413,
                "request body too large",
                f"Content-Length {length:,} is over the {max_body:,}-byte limit "
                "(--max-body-bytes, after decompression)",
            )
        try:
            return await handler(request)
        except ReceiptTimeout as exc:
            return _error(408, "request timeout", str(exc))

    return guarded


def guarded_server(handler: Handler, settings: Settings, **kwargs: Any) -> web.Server:
    """A low-level aiohttp server for ``handler`` with every limit of ``settings``.

    Handlers are cancelled when their client goes away (a delayed stub whose client gave up
    holds nothing), which every handler here tolerates: state changes happen between awaits.
    """
    return GuardedServer(
        guard(handler, settings),
        request_timeout=settings.request_timeout,
        keepalive_timeout=settings.keepalive_timeout,
        max_line_size=settings.max_request_line_bytes,
        max_field_size=settings.max_header_bytes,
        max_headers=settings.max_headers,
        handler_cancellation=True,
        **kwargs,
    )


# -- checks at start ---------------------------------------------------------------------------


def c_parser_in_use() -> bool:
    """aiohttp parses requests with its C extension (llhttp), not the pure-Python fallback.

    The fallback is what ``AIOHTTP_NO_EXTENSIONS=1`` or a source install without a compiler
    gives; most of aiohttp's request-smuggling advisories affected only it (§3.2).
    """
    return http_parser.HttpRequestParser is not http_parser.HttpRequestParserPy


def open_file_limit() -> tuple[int, int] | None:
    """The soft and hard limits on open files (each connection needs one); None if unknown."""
    try:
        import resource
    except ImportError:  # not on this platform
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft, hard


def raise_open_file_limit(wanted: int = 65536) -> None:
    """Raise the soft open-file limit towards ``wanted``, within the hard limit (as Go does
    for every server it runs); the command line does this, the library leaves it alone."""
    limits = open_file_limit()
    if limits is None:
        return
    import resource

    soft, hard = limits
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        # On failure the limit stays; startup_warnings() says what it means.
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def startup_warnings() -> list[str]:
    """What about this installation a server operator should hear about at start."""
    found = []
    if not c_parser_in_use():
        found.append(
            "aiohttp is using its pure-Python HTTP parser (AIOHTTP_NO_EXTENSIONS is set, or "
            "aiohttp was installed without its C extensions); the C parser is the one "
            "hardened against request smuggling: install aiohttp's binary wheel"
        )
    limits = open_file_limit()
    if limits is not None and 0 <= limits[0] < MIN_OPEN_FILES:
        found.append(
            f"the open-file limit is {limits[0]}: past about that many concurrent connections, "
            "new ones are refused; raise it (ulimit -n, or the container's nofile ulimit)"
        )
    return found
