"""A stub's answer written as bytes serialized once: status line and headers, then the body.

aiohttp builds a ``web.Response`` per request, fills a header multidict, adds Content-Length,
Date and Server, then serializes it all (about a fifth of the time a static answer costs).
A stub's answer is the same every time but for the Date, so its head is serialized on first use
and kept; each request then costs one concatenation and one write (STYLE.md rule 5).

Only the plain case goes this way: HTTP/1.1, a keep-alive connection, not HEAD or CONNECT,
and headers that leave framing and the clock to us. Anything else (HTTP/1.0,
``Connection: close``, a stub that sets Content-Length, Connection or Date itself) takes
aiohttp's own path, which knows every rule.
"""

from __future__ import annotations

import time
from email.utils import formatdate
from http import HTTPStatus
from typing import Final

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.http import SERVER_SOFTWARE, HttpVersion11

from mockserver.core.headernames import LOWER_CONTENT_TYPE, LOWER_DATE, LOWER_SERVER
from mockserver.core.http import FORBIDDEN_IN_HEADERS
from mockserver.core.stubspec import SERVER_HEADERS

__all__ = ["FRAMING", "WireResponse", "date_line", "wire_head"]

# Framing (and the clock) are ours to write; a stub that sets these itself, a recorded Date
# for one, is served by aiohttp's path, which keeps what the stub says.
FRAMING: Final = SERVER_HEADERS | {LOWER_DATE}
# RFC 9110 §6.4.1, §15.3.5, §15.4.5: no body, and no Content-Length, for these.
_EMPTY_BODY: Final = frozenset({204, 304, *range(100, 200)})
_REASONS: Final = {status.value: status.phrase for status in HTTPStatus}
# HEAD answers carry the GET's Content-Length but no body; a 2xx to CONNECT has no body either
# (RFC 9110 §9.3.2, §9.3.6): aiohttp's path knows both.
_OWN_FRAMING_METHODS: Final = frozenset({"HEAD", "CONNECT"})
_CACHE_SIZE: Final = 4096

# id(headers) → (headers, status, body length, head): the headers tuple is kept in the entry,
# so its id cannot be reused by another tuple while the entry lives.
_heads: dict[int, tuple[tuple[tuple[str, str], ...], int, int, bytes | None]] = {}


def wire_head(status: int, headers: tuple[tuple[str, str], ...], body_length: int) -> bytes | None:
    """The serialized status line and headers (without Date and the blank line), or None
    when this answer must take aiohttp's path."""
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}"]
    has_type = False
    for name, value in headers:
        lowered = name.lower()
        if (
            lowered in FRAMING
            or FORBIDDEN_IN_HEADERS.search(name)
            or FORBIDDEN_IN_HEADERS.search(value)
        ):
            return None
        has_type = has_type or lowered == LOWER_CONTENT_TYPE
        lines.append(f"{name}: {value}")
    if status not in _EMPTY_BODY:
        lines.append(f"{hdrs.CONTENT_LENGTH}: {body_length}")
        if body_length and not has_type:  # RFC 9110 §8.3, as aiohttp does
            lines.append(f"{hdrs.CONTENT_TYPE}: application/octet-stream")
    if not any(name.lower() == LOWER_SERVER for name, _ in headers):
        lines.append(f"{hdrs.SERVER}: {SERVER_SOFTWARE}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _cached_head(status: int, headers: tuple[tuple[str, str], ...], length: int) -> bytes | None:
    entry = _heads.get(id(headers))
    if entry is not None and entry[0] is headers and entry[1] == status and entry[2] == length:
        return entry[3]
    head = wire_head(status, headers, length)
    if len(_heads) >= _CACHE_SIZE:  # answers built per request (resources) would grow it
        _heads.clear()
    _heads[id(headers)] = (headers, status, length, head)
    return head


class _DateLine:
    """``Date: ...`` and the blank line ending the head, formatted once a second."""

    __slots__ = ("line", "second")

    def __init__(self) -> None:
        self.second = -1
        self.line = b""

    def __call__(self) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.line = f"{hdrs.DATE}: {formatdate(now, usegmt=True)}\r\n\r\n".encode("ascii")
        return self.line


date_line: Final = _DateLine()


class WireResponse(web.StreamResponse):
    """An answer whose bytes are written whole at prepare time."""

    __slots__ = ("_wire_body", "_wire_head")

    def __init__(self, status: int, head: bytes, body: bytes) -> None:
        super().__init__(status=status)
        self._wire_head = head
        self._wire_body = b"" if status in _EMPTY_BODY else body

    @classmethod
    def build(
        cls,
        request: web.BaseRequest,
        status: int,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        reason: str | None = None,
    ) -> web.StreamResponse:
        """The answer as a WireResponse when it qualifies, else as an ordinary web.Response
        (which a stub's own reason phrase takes too)."""
        if (
            reason is None
            and request.version == HttpVersion11
            and request.keep_alive
            and request.method not in _OWN_FRAMING_METHODS
        ):
            head = _cached_head(status, headers, len(body))
            if head is not None:
                return cls(status, head, body)
        return web.Response(status=status, reason=reason, body=body, headers=headers)

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        if self._eof_sent:
            return None
        self._req = request
        self._keep_alive = True
        self._eof_sent = True  # so the write_eof() aiohttp calls next has nothing to do
        writer = request.writer
        data = self._wire_head + date_line() + self._wire_body
        self._body_length = len(self._wire_body)
        await writer.write_eof(data)
        return None
