"""Recorded exchanges, and what never reaches disk: decoding and redaction.

Pure: the proxy (or a HAR file) supplies Exchanges with the response body as the upstream sent
it; here it is decoded (gzip, deflate, br, zstd) and redacted. recordstubs.py
turns them into stubs, recordwriter.py persists those.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Final

import brotli  # type: ignore[import-not-found, unused-ignore]
import zstandard

from mockserver.core.headernames import (
    CONNECTION,
    KEEP_ALIVE,
    LOWER_CONNECTION,
    LOWER_COOKIE,
    LOWER_SET_COOKIE,
    PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION,
    PROXY_CONNECTION,
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
    lowered,
)
from mockserver.core.secretnames import PLACEHOLDER, SECRET_HEADERS, SECRET_QUERY, redacted_cookies

__all__ = [
    "HOP_BY_HOP",
    "MAX_DECODED_BODY",
    "RECORDED_MARK",
    "Exchange",
    "Redaction",
    "decode_body",
    "hop_by_hop",
    "redact_exchange",
]

RECORDED_MARK: Final = "# Recorded by mockserver"
# RFC 9110 §7.6.1 connection-specific fields, plus framing the server recomputes.
HOP_BY_HOP: Final = lowered(
    CONNECTION,
    KEEP_ALIVE,
    PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION,
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
    PROXY_CONNECTION,
)
# A recorded body larger than a page goes to a body file, which may hold 100 MiB (the most an
# upstream answer may have, proxy.MAX_UPSTREAM_BODY); a coded body that decodes to more (a
# gzip bomb) is kept as sent.
MAX_DECODED_BODY: Final = 100 * 1024 * 1024
# The field a JSONPath ends with: $..token, $.a.b, $..['x-api-key'].
_LAST_NAME: Final = re.compile(r"""(?:\.|\[['"])([A-Za-z0-9_-]+)(?:['"]\])?\Z""")


def hop_by_hop(headers: Iterable[tuple[str, str]]) -> frozenset[str]:
    """Lower-cased names that end at this hop: the fixed set, and every name the Connection
    header lists (RFC 9110 §7.6.1), such as ``Connection: X-Internal``."""
    listed = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == LOWER_CONNECTION
        for token in value.split(",")
        if token.strip()
    }
    return HOP_BY_HOP | listed


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request forwarded upstream and the answer, as it went over the wire."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes
    status: int
    response_headers: tuple[tuple[str, str], ...]
    response_body: bytes  # as sent: still coded when Content-Encoding says so
    reason: str = ""  # the status line's reason phrase, as sent

    def response_header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.response_headers if k.lower() == lowered), None)

    def request_header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.request_headers if k.lower() == lowered), None)


@dataclass(frozen=True, slots=True)
class Redaction:
    """What never reaches disk, the journal or the log: header values, query values, JSON
    fields (JSONPath, in request and response bodies)."""

    headers: frozenset[str] = SECRET_HEADERS
    query: frozenset[str] = SECRET_QUERY
    # JSON fields named like secrets, at any depth, in request and response bodies.
    json_paths: tuple[str, ...] = (
        "$..password",
        "$..passwd",
        "$..secret",
        "$..client_secret",
        "$..api_key",
        "$..apikey",
        "$..access_token",
        "$..refresh_token",
        "$..id_token",
        "$..token",
        # An upstream that echoes the request (httpbin's /anything, a debug endpoint) puts its
        # headers in the body: their secret names, as services spell them (issue 13).
        "$..authorization",
        "$..Authorization",
        "$..cookie",
        "$..Cookie",
        "$..['x-api-key']",
        "$..['X-Api-Key']",
        "$..['proxy-authorization']",
        "$..['Proxy-Authorization']",
    )
    placeholder: str = PLACEHOLDER

    def extended(self, items: Iterable[str]) -> Redaction:
        """More to redact: ``$.json.path``, ``query:name`` or a header name, per item.

        Raises:
            ValueError: an item that starts with ``$`` is not a JSONPath.
        """
        headers, query, paths = set(self.headers), set(self.query), list(self.json_paths)
        for item in items:
            if item.startswith("$"):
                import jsonpath

                try:
                    jsonpath.compile(item)
                except jsonpath.JSONPathError as exc:  # not a ValueError: callers catch that
                    raise ValueError(f"--redact {item!r} is not a JSONPath: {exc}") from None
                paths.append(item)
            elif item.startswith("query:"):
                query.add(item[len("query:") :].lower())
            else:
                headers.add(item.lower())
        return replace(
            self, headers=frozenset(headers), query=frozenset(query), json_paths=tuple(paths)
        )

    def header_pairs(self, pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        return tuple((k, self._header_value(k, v)) for k, v in pairs)

    def _header_value(self, name: str, value: str) -> str:
        lowered = name.lower()
        if lowered not in self.headers:
            return value
        if lowered in (LOWER_COOKIE, LOWER_SET_COOKIE):  # by value, never by name (issue 16)
            return redacted_cookies(lowered, value, self.placeholder)
        return self.placeholder

    def query_pairs(self, pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        return tuple((k, self.placeholder if k.lower() in self.query else v) for k, v in pairs)

    def json_body(self, body: bytes) -> bytes:
        """``body`` with the JSON paths redacted when it is JSON; otherwise as it is."""
        return _redact_json_bytes(body, self)

    def may_redact_json(self, body: bytes) -> bool:
        """Whether a JSON path could redact something in ``body``: the field each path ends
        with is in it as a quoted name (or the body escapes characters, or a path ends in a
        wildcard). Parsing a 90 MB answer to learn that nothing is secret costs a gigabyte."""
        if not self.json_paths:
            return False
        if b"\\u" in body:
            return True
        for path in self.json_paths:
            found = _LAST_NAME.search(path)
            if found is None or f'"{found.group(1)}"'.encode() in body:
                return True
        return False

    def json_value(self, value: Any) -> Any:
        for path in self.json_paths:
            for match in _compiled(path).finditer(value):
                _replace_at(value, match, self.placeholder)
        return value


@functools.lru_cache(maxsize=256)
def _compiled(path: str) -> Any:
    """A JSONPath compiled once: compiling the 18 default paths cost 4 ms per recorded body."""
    import jsonpath

    return jsonpath.compile(path)


def _replace_at(document: Any, match: Any, placeholder: str) -> None:
    if match.parent is None or not match.parts:
        return
    container, key = match.parent.obj, match.parts[-1]
    in_dict = isinstance(container, dict) and key in container
    in_list = isinstance(container, list) and isinstance(key, int) and key < len(container)
    if in_dict or in_list:
        container[key] = placeholder


def decode_body(body: bytes, coding: str | None, limit: int | None = None) -> bytes:
    """The body without its content coding (gzip, deflate, br, zstd).

    Args:
        limit: the most bytes the decoded body may have; a bomb stops there.

    Raises:
        ValueError: the coding is unknown here, the bytes do not decode, or they decode to
            more than ``limit`` bytes.
    """
    name = (coding or "identity").strip().lower()
    cap = 0 if limit is None else limit + 1  # read one byte past the limit to notice it
    try:
        if name in ("identity", "") or not body:  # a HEAD's or a 204's: nothing to decode
            out = body
        elif name in ("gzip", "x-gzip"):
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
                out = stream.read(cap or -1)
        elif name == "deflate":
            try:
                out = _inflate(body, zlib.MAX_WBITS, cap)
            except zlib.error:  # some servers send raw deflate without the zlib wrapper
                out = _inflate(body, -zlib.MAX_WBITS, cap)
        elif name == "br":
            out = _unbrotli(body, cap)
        elif name == "zstd":
            out = _unzstd(body, cap)
        else:
            raise ValueError(f"unknown content coding {name!r}")
    except (OSError, EOFError, zlib.error, brotli.error, zstandard.ZstdError) as exc:
        raise ValueError(f"not valid {name}: {exc}") from None
    if limit is not None and len(out) > limit:
        raise ValueError(f"the {name} body decodes to more than {limit:,} bytes")
    return out


def _unbrotli(body: bytes, cap: int) -> bytes:
    decoder = brotli.Decompressor()
    if not cap:
        out = bytes(decoder.process(body))
    else:
        out = bytes(decoder.process(body, output_buffer_limit=cap))
        while len(out) < cap and not decoder.is_finished() and decoder.can_accept_more_data():
            more = bytes(decoder.process(b"", output_buffer_limit=cap - len(out)))
            if not more:
                break
            out += more
    if len(out) < (cap or len(out) + 1) and not decoder.is_finished():
        raise brotli.error("the stream ends before its end marker")
    return out


def _unzstd(body: bytes, cap: int) -> bytes:
    decoder = zstandard.ZstdDecompressor()
    if cap:  # a bomb is stopped one byte past the limit, before it is decoded whole
        size = 0
        with decoder.stream_reader(body, read_across_frames=True) as reader:
            while size < cap and (chunk := reader.read(min(1 << 20, cap - size))):
                size += len(chunk)
        if size >= cap:
            return b"\0" * cap
    out, rest = [], body
    while rest:  # frame by frame (RFC 8878 allows several), each one to its end
        frame = decoder.decompressobj()
        out.append(frame.decompress(rest))
        if not frame.eof:
            raise zstandard.ZstdError("the stream ends before its end marker")
        rest = frame.unused_data
    return b"".join(out)


def _inflate(body: bytes, wbits: int, cap: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    out = inflater.decompress(body, cap)
    if not inflater.eof and (not cap or len(out) < cap):
        raise zlib.error("the stream ends before its end marker")
    return out


def redact_exchange(exchange: Exchange, redaction: Redaction) -> Exchange:
    """The exchange with secrets replaced (headers, query, JSON fields of both bodies)."""
    return replace(
        exchange,
        query=redaction.query_pairs(exchange.query),
        request_headers=redaction.header_pairs(exchange.request_headers),
        request_body=_redact_json_bytes(exchange.request_body, redaction),
        response_headers=redaction.header_pairs(exchange.response_headers),
    )


def _redact_json_bytes(body: bytes, redaction: Redaction) -> bytes:
    if not body or not redaction.may_redact_json(body):
        return body
    try:
        value = json.loads(body)
    except ValueError:
        return body
    return json.dumps(redaction.json_value(value), ensure_ascii=False).encode()
