"""The same stubs with no sockets, behind respx: httpx clients, sync and async.

One respx route takes every request to the double's ``.mockserver.invalid`` hosts and answers
it with ``respond``, like the requests-mock and aioresponses doubles (offline.py); other URLs
are refused by respx, so nothing escapes to the network. A stub's fault raises what httpx
raises when a real server breaks the connection that way.
"""

from __future__ import annotations

from typing import Any

from mockserver.core.model import Fault
from mockserver.core.respond import Answer, fault_to_perform
from mockserver.server.faults import MALFORMED
from mockserver.testing.offline import HOST_PATTERN, OfflineDouble, OfflineUnavailable

__all__ = ["respx_router"]


def respx_router(double: OfflineDouble) -> Any:
    """A respx router (a context manager) whose one route is the double."""
    try:
        import httpx
        import respx
    except ImportError as exc:
        raise OfflineUnavailable(
            f"mock_httpx needs httpx and respx ({exc}): pip install 'mockserver[offline]'"
        ) from None

    router = respx.mock(assert_all_called=False, assert_all_mocked=True)

    def answer(request: Any) -> Any:
        body = request.read()  # a streamed body is read whole, as a server would
        got = double.answer(request.method, str(request.url), request.headers.multi_items(), body)
        if fault_to_perform(got, double.store.rng.random) is not None:
            raise _httpx_fault(got, request)
        return httpx.Response(got.status, headers=list(got.headers), content=got.body)

    router.route(url__regex=HOST_PATTERN).mock(side_effect=answer)
    return router


def _httpx_fault(answer: Answer, request: Any) -> Exception:
    """What httpx (h11 underneath) raises when a real server breaks the connection so."""
    import httpx

    if answer.fault is Fault.CONNECTION_RESET:
        return httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
    if answer.fault is Fault.EMPTY_RESPONSE:
        return httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    if answer.fault is Fault.TRUNCATED_BODY:
        half = len(answer.body) // 2
        return httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body "
            f"(received {half} bytes, expected {len(answer.body)})",
            request=request,
        )
    line = bytearray(MALFORMED.strip())
    return httpx.RemoteProtocolError(f"illegal status line: {line!r}", request=request)
