"""Forwarding to real services: one aiohttp ClientSession per upstream, bounded and timed.

Each upstream gets a TCPConnector with connection limits and an asyncio.Semaphore bounding
the calls in flight, so a burst of test traffic cannot swamp the real service; connect and
total timeouts; no redirects followed (the client sees the 3xx, as it would from the real
service); hop-by-hop headers neither forwarded nor returned. The request goes out with the
client's headers and no others: aiohttp's own Accept-Encoding, Accept, User-Agent and
Content-Type are not added, so a client that asked for no coding gets none. The body is passed
through as the upstream coded it (auto_decompress off), so the client gets the bytes the
service sent.
"""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import SplitResult, parse_qsl, urlsplit, urlunsplit

import aiohttp
from aiohttp import hdrs
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from mockserver.core.addresses import refused_address
from mockserver.core.errors import MockServerError
from mockserver.core.headernames import LOWER_CONTENT_LENGTH, lowered
from mockserver.core.http import FORBIDDEN_IN_HEADERS
from mockserver.recording.exchange import HOP_BY_HOP, Exchange, hop_by_hop

__all__ = ["Upstream", "UpstreamError", "UpstreamSettings", "unusable_answer"]

# Request headers the proxy sets itself. The body arrives decoded (aiohttp's parser undoes a
# request Content-Encoding), so it is forwarded decoded and without that header.
_NOT_FORWARDED: Final = HOP_BY_HOP | lowered(hdrs.HOST, hdrs.CONTENT_LENGTH, hdrs.CONTENT_ENCODING)
_NOT_RETURNED: Final = HOP_BY_HOP | {LOWER_CONTENT_LENGTH}
# What aiohttp would add on its own: a request without Accept-Encoding would reach the service
# with "gzip, deflate" and come back gzipped to a client that never asked (curl without
# --compressed). A header the client sent is forwarded whatever this list says.
_NOT_ADDED: Final = (hdrs.ACCEPT, hdrs.ACCEPT_ENCODING, hdrs.USER_AGENT, hdrs.CONTENT_TYPE)
MAX_UPSTREAM_BODY: Final = 100 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class UpstreamSettings:
    connect_timeout: float = 5.0
    total_timeout: float = 60.0
    max_connections: int = 100
    max_in_flight: int = 50


# Headers that name a URL the client may follow: one on the upstream's own origin is made
# relative, as a reverse proxy's proxy_redirect does, so following it stays on the double
# (live, and in the recording) instead of reaching the real service (issue 16).
_LINKS: Final = lowered(hdrs.LOCATION, hdrs.CONTENT_LOCATION)


def _on_the_double(value: str, base_url: str) -> str:
    """``value`` made relative when it points at ``base_url``'s origin, at or below its path."""
    link, base = urlsplit(value), urlsplit(base_url)
    if not link.scheme or (link.scheme.lower(), link.hostname, _port(link)) != (
        base.scheme.lower(),
        base.hostname,
        _port(base),
    ):
        return value  # relative already, or another origin: as it is
    prefix = base.path.rstrip("/")
    if link.path != prefix and not link.path.startswith(prefix + "/"):
        return value  # outside what the double serves for this upstream
    return urlunsplit(("", "", link.path[len(prefix) :] or "/", link.query, link.fragment))


def _port(parts: SplitResult) -> int | None:
    try:
        return parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return None


class UpstreamError(MockServerError):
    """The upstream could not answer: ``status`` is 502 (unreachable, broken) or 504 (slow)."""

    def __init__(self, status: int, target: str, detail: str, error: str = "") -> None:
        super().__init__(detail)
        self.status, self.target, self.detail = status, target, detail
        self.error = error or ("upstream timed out" if status == 504 else "upstream unreachable")

    def body(self) -> dict[str, str]:
        return {"error": self.error, "target": self.target, "detail": self.detail}


def unusable_answer(status: int, headers: Iterable[tuple[str, str]]) -> str | None:
    """Why an upstream's answer cannot be passed on (aiohttp would refuse to send it and drop
    the connection), or None."""
    if status < 100:
        return f"the upstream answered status {status}, which HTTP/1.1 cannot send"
    for name, value in headers:
        bad = FORBIDDEN_IN_HEADERS.search(name) or FORBIDDEN_IN_HEADERS.search(value)
        if bad is not None:
            return (
                f"the upstream's header {name!r} holds the control character {bad.group()!r}, "
                "which HTTP forbids"
            )
    return None


class GuardedResolver(AbstractResolver):
    """The default resolver, refusing link-local (cloud metadata) addresses at connect time."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            refused = refused_address(result["host"])
            if refused:
                raise OSError(f"{host} resolves to {result['host']}, refused: {refused}")
        return results

    async def close(self) -> None:
        await self._inner.close()


class Upstream:
    """A real service to forward to."""

    def __init__(self, name: str, base_url: str, settings: UpstreamSettings | None = None):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"an upstream is an http(s) URL, got {base_url!r}")
        # Checked here too, whatever built it: aiohttp connects to an address literal without
        # asking the resolver, so GuardedResolver never sees one.
        refused = refused_address(parts.hostname)
        if refused:
            raise ValueError(f"upstream {base_url!r} is refused: {refused}")
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.settings = settings or UpstreamSettings()
        self._session: aiohttp.ClientSession | None = None
        self._gate = asyncio.Semaphore(self.settings.max_in_flight)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            s = self.settings
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=s.max_connections,
                    limit_per_host=s.max_connections,
                    resolver=GuardedResolver(),
                ),
                timeout=aiohttp.ClientTimeout(total=s.total_timeout, connect=s.connect_timeout),
                auto_decompress=False,
                skip_auto_headers=_NOT_ADDED,
                cookie_jar=aiohttp.DummyCookieJar(),  # a proxy keeps no cookies of its own
            )
        return self._session

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def forward(
        self,
        method: str,
        target: str,
        path: str,
        query_string: str,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
    ) -> Exchange:
        """Send the request upstream; the Exchange holds the answer as it came.

        Args:
            target: the path and query as received (still percent-encoded), appended to the
                upstream's base URL.
            path: the decoded path, for the recording.

        Raises:
            UpstreamError: refused, unreachable, reset mid-body (502) or too slow (504).
        """
        url = self.base_url + target
        dropped = _NOT_FORWARDED | hop_by_hop(headers)
        sent = [(k, v) for k, v in headers if k.lower() not in dropped]
        try:
            async with (
                self._gate,
                self._client().request(
                    method, url, headers=sent, data=body or None, allow_redirects=False
                ) as response,
            ):
                # read(n) returns what has arrived so far, not the whole body: read to the
                # end, so a body cut short raises (ClientPayloadError) instead of passing.
                # One buffer that grows in place and is handed over without a copy (CPython's
                # BytesIO.getvalue): a list of chunks joined at the end held each answer twice.
                buffer = io.BytesIO()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    if buffer.tell() + len(chunk) > MAX_UPSTREAM_BODY:
                        raise UpstreamError(502, self.base_url, "the upstream body is over 100 MiB")
                    buffer.write(chunk)
                raw = buffer.getvalue()
                del buffer
                answered = tuple(response.headers.items())
                not_returned = _NOT_RETURNED | hop_by_hop(answered)
                if method == "HEAD":  # the GET's length, which an empty body cannot say
                    not_returned -= {LOWER_CONTENT_LENGTH}
                # str(): aiohttp's header names are istr, which YAML cannot represent.
                returned = tuple(
                    (
                        str(k),
                        _on_the_double(str(v), self.base_url) if k.lower() in _LINKS else str(v),
                    )
                    for k, v in answered
                    if k.lower() not in not_returned
                )
                status, reason = response.status, response.reason or ""
        except TimeoutError:
            raise UpstreamError(
                504,
                self.base_url,
                f"no answer within {self.settings.total_timeout:g} s "
                f"(connect {self.settings.connect_timeout:g} s)",
            ) from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(502, self.base_url, f"{type(exc).__name__}: {exc}") from None
        unusable = unusable_answer(status, returned)
        if unusable is not None:
            raise UpstreamError(502, self.base_url, unusable, "upstream answer unusable")
        pairs = tuple(parse_qsl(query_string, keep_blank_values=True))
        sent_headers = tuple((str(k), str(v)) for k, v in headers)
        return Exchange(method, path, pairs, sent_headers, body, status, returned, raw, reason)
