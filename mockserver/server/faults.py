"""Faults a stub asks for instead of an answer: the connection breaks the way real ones do.

``response.fault`` (after any ``delay_ms``, so a slow failure is a delay and a fault):

- ``connection_reset``: the connection is reset (RST) before a byte of the answer is sent;
- ``empty_response``: the connection is closed (FIN) before a byte of the answer is sent;
- ``malformed_response``: a line that is not HTTP, then the connection is closed;
- ``truncated_body``: the status line and headers, with the whole body's Content-Length,
  then half of the body, then the connection is closed.

The handler returns an ordinary response afterwards; writing it meets the closed transport,
which aiohttp takes for a client that went away and drops quietly.
"""

from __future__ import annotations

import socket
import struct
from typing import Final, assert_never

from aiohttp import web

from mockserver.core.model import Fault
from mockserver.server.wire import FRAMING, date_line, wire_head

__all__ = ["MALFORMED", "perform_fault"]

# What ``malformed_response`` sends: not a status line, so every client refuses it.
MALFORMED: Final = b"this is not an HTTP response\r\n\r\n"


def perform_fault(
    request: web.BaseRequest,
    fault: Fault,
    status: int,
    headers: tuple[tuple[str, str], ...],
    body: bytes,
) -> web.StreamResponse:
    """Break the connection of ``request`` as ``fault`` says; returns what aiohttp then drops."""
    transport = request.transport
    if transport is not None and not transport.is_closing():
        match fault:
            case Fault.CONNECTION_RESET:
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    # Linger on, for zero seconds: close() then sends RST, not FIN.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                transport.abort()
            case Fault.MALFORMED_RESPONSE:
                transport.write(MALFORMED)
                transport.close()
            case Fault.TRUNCATED_BODY:
                framed = tuple((k, v) for k, v in headers if k.lower() not in FRAMING)
                head = wire_head(status, framed, len(body))
                if head is not None:  # None: a header no answer may carry; then nothing is sent
                    transport.write(head + date_line() + body[: len(body) // 2])
                transport.close()
            case Fault.EMPTY_RESPONSE:
                transport.close()
            case _:
                assert_never(fault)
    response = web.Response(status=status)
    response.force_close()
    return response
