"""Recorded exchanges → stubs → readable YAML, with secrets redacted before anything is kept.

Pure: the proxy (or a HAR file) supplies Exchanges with the response body as the upstream sent
it; here it is decoded (gzip, deflate, brotli when installed), redacted, grouped (identical
requests with different answers become a ``responses:`` sequence) and written as the ordinary
stub format. Persisting the text is the caller's job.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import logging
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Final

import yaml

from .http import select_encoding, without_coding_suffix
from .render import encode_json
from .secretnames import PLACEHOLDER, SECRET_HEADERS, SECRET_QUERY

__all__ = [
    "HOP_BY_HOP",
    "RECORDED_MARK",
    "Exchange",
    "Redaction",
    "decode_body",
    "hop_by_hop",
    "redact_exchange",
    "service_document",
    "stubs_from_exchanges",
]

RECORDED_MARK: Final = "# Recorded by mockserver"
# RFC 9110 §7.6.1 connection-specific fields, plus framing the server recomputes.
HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-connection",
    }
)
# Response headers not written into stubs: framing and coding (the body is stored decoded and
# re-encoded on replay), per-response values, and validators (written as etag/last_modified).
_NOT_RECORDED: Final = HOP_BY_HOP | {
    "content-length",
    "content-encoding",
    "date",
    "server",
    "etag",
    "last-modified",
    "vary",
}
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CODINGS: Final = ("gzip", "deflate", "br")
# A recorded body is written into a stub file, which may hold 10 MiB (loader.MAX_FILE_BYTES).
MAX_DECODED_BODY: Final = 10 * 1024 * 1024

log = logging.getLogger("mockserver")


def hop_by_hop(headers: Iterable[tuple[str, str]]) -> frozenset[str]:
    """Lower-cased names that end at this hop: the fixed set, and every name the Connection
    header lists (RFC 9110 §7.6.1), such as ``Connection: X-Internal``."""
    listed = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
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
        return tuple((k, self.placeholder if k.lower() in self.headers else v) for k, v in pairs)

    def query_pairs(self, pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        return tuple((k, self.placeholder if k.lower() in self.query else v) for k, v in pairs)

    def json_body(self, body: bytes) -> bytes:
        """``body`` with the JSON paths redacted when it is JSON; otherwise as it is."""
        return _redact_json_bytes(body, self)

    def json_value(self, value: Any) -> Any:
        if not self.json_paths:
            return value
        import jsonpath

        for path in self.json_paths:
            for match in jsonpath.compile(path).finditer(value):
                _replace_at(value, match, self.placeholder)
        return value


def _replace_at(document: Any, match: Any, placeholder: str) -> None:
    if match.parent is None or not match.parts:
        return
    container, key = match.parent.obj, match.parts[-1]
    in_dict = isinstance(container, dict) and key in container
    in_list = isinstance(container, list) and isinstance(key, int) and key < len(container)
    if in_dict or in_list:
        container[key] = placeholder


def decode_body(body: bytes, coding: str | None, limit: int | None = None) -> bytes:
    """The body without its content coding (gzip, deflate, br when brotli is installed).

    Args:
        limit: the most bytes the decoded body may have; a gzip bomb stops there.

    Raises:
        ValueError: the coding is unknown here, the bytes do not decode, or they decode to
            more than ``limit`` bytes.
    """
    name = (coding or "identity").strip().lower()
    cap = 0 if limit is None else limit + 1  # read one byte past the limit to notice it
    try:
        if name in ("identity", ""):
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
            import brotli  # type: ignore[import-not-found, unused-ignore]

            out = bytes(brotli.decompress(body))
        else:
            raise ValueError(f"unknown content coding {name!r}")
    except ImportError:
        raise ValueError("br needs the brotli package (pip install 'mockserver[brotli]')") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"not valid {name}: {exc}") from None
    if limit is not None and len(out) > limit:
        raise ValueError(f"the {name} body decodes to more than {limit:,} bytes")
    return out


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
    if not redaction.json_paths or not body:
        return body
    try:
        value = json.loads(body)
    except ValueError:
        return body
    return json.dumps(redaction.json_value(value), ensure_ascii=False).encode()


def _request_key(exchange: Exchange) -> tuple[Any, ...]:
    return (exchange.method, exchange.path, tuple(sorted(exchange.query)), exchange.request_body)


def _request_spec(exchange: Exchange, redaction: Redaction) -> dict[str, Any]:
    spec: dict[str, Any] = {"method": exchange.method, "path": exchange.path}
    query: dict[str, Any] = {}
    for name, value in exchange.query:
        if value == redaction.placeholder or name in query:
            continue  # never match on a redacted value; a repeated name matches its first
        query[name] = value
    if query:
        spec["query"] = query
    if exchange.method in _BODY_METHODS and exchange.request_body:
        value = _json_or_none(exchange.request_body)
        if value is not None:
            kept = _without_placeholders(value, redaction.placeholder)
            if kept != value:  # something was redacted: match on the rest only
                spec["body"] = {"json_subset": kept}
            else:
                spec["body"] = {"json": value}
    return spec


def _without_placeholders(value: Any, placeholder: str) -> Any:
    if isinstance(value, dict):
        return {
            k: _without_placeholders(v, placeholder) for k, v in value.items() if v != placeholder
        }
    if isinstance(value, list):
        return [_without_placeholders(v, placeholder) for v in value if v != placeholder]
    return value


def _response_spec(exchange: Exchange, redaction: Redaction) -> dict[str, Any]:
    coding = exchange.response_header("content-encoding")
    as_sent = False
    try:
        body = decode_body(exchange.response_body, coding, MAX_DECODED_BODY)
    except ValueError as exc:
        # Corrupt, unknown or a bomb: keep the bytes and their Content-Encoding as the
        # upstream sent them (a replay sends them byte for byte), rather than failing the
        # whole recording or writing gigabytes.
        log.warning("%s %s: response kept as sent: %s", exchange.method, exchange.path, exc)
        body, as_sent = exchange.response_body, True
    spec: dict[str, Any] = {"status": exchange.status}
    headers: dict[str, Any] = {}
    dropped = _NOT_RECORDED | hop_by_hop(exchange.response_headers)
    if as_sent:
        dropped -= {"content-encoding"}
    for name, value in exchange.response_headers:
        if name.lower() in dropped:
            continue
        if name in headers:
            existing = headers[name]
            headers[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            headers[name] = value
    if headers:
        spec["headers"] = headers
    content_type = (exchange.response_header("content-type") or "").lower()
    if as_sent:
        spec["body_base64"] = base64.b64encode(body).decode("ascii")
        spec["gzip"] = False
    elif body:
        parsed = _json_or_none(body) if "json" in content_type or not content_type else None
        compact = encode_json(parsed) if parsed is not None else None
        if parsed is not None:
            parsed = redaction.json_value(parsed)
        # `json:` is re-sent compactly: kept only when that gives the same bytes (or when
        # redaction changed it anyway), else the text, so a replay is byte for byte.
        if parsed is not None and (compact == body or encode_json(parsed) != compact):
            spec["json"] = parsed
        else:
            try:
                spec["body"] = body.decode("utf-8")
            except UnicodeDecodeError:
                spec["body_base64"] = base64.b64encode(body).decode("ascii")
    etag = exchange.response_header("etag")
    if etag and coding and not as_sent:
        # The tag as the service sends it for the body: a service that names the coding in
        # the tag ("abc-gzip", Apache) sends "abc" uncoded. Replay validates either form, and
        # a tag without a suffix (nginx's weak W/"abc", or "abc") is kept as it came.
        etag = without_coding_suffix(etag, coding)
    spec["etag"] = etag if etag else False
    modified = exchange.response_header("last-modified")
    if modified:
        spec["last_modified"] = modified
    # Replay negotiates compression again: offered when the upstream compressed, not when it
    # sent identity to a client that accepted a coding. When the client accepted none, how
    # the service compresses is unknown, and the service's default (auto) decides.
    if as_sent:
        return spec
    if coding and coding.strip().lower() != "identity":
        spec["gzip"] = True
    elif select_encoding(exchange.request_header("accept-encoding"), _CODINGS) in _CODINGS:
        spec["gzip"] = False
    return spec


def _revalidated(exchange: Exchange) -> bool:
    return exchange.status == 304 and any(
        exchange.request_header(name) for name in ("if-none-match", "if-modified-since")
    )


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50] or "root"


def stubs_from_exchanges(
    service: str, exchanges: Sequence[Exchange], redaction: Redaction | None = None
) -> list[dict[str, Any]]:
    """Stub dicts for ``exchanges`` in recorded order; repeats with other answers → sequences."""
    redaction = redaction or Redaction()
    groups: dict[tuple[Any, ...], list[Exchange]] = {}
    for exchange in exchanges:
        clean = redact_exchange(exchange, redaction)
        groups.setdefault(_request_key(clean), []).append(clean)
    stubs: list[dict[str, Any]] = []
    used: set[str] = set()
    for seen in groups.values():
        # A 304 answered a client's conditional request: replay makes it from the stub's
        # etag and last_modified, so it is not a response of its own (it would be sent to
        # clients that asked unconditionally).
        group = [e for e in seen if not _revalidated(e)] or seen
        first = group[0]
        base = f"{service}-{first.method.lower()}-{_slug(first.path)}"
        stub_id, n = base, 2
        while stub_id in used:
            stub_id, n = f"{base}-{n}", n + 1
        used.add(stub_id)
        responses: list[dict[str, Any]] = []
        for exchange in group:
            response = _response_spec(exchange, redaction)
            if not responses or responses[-1] != response:
                responses.append(response)
        stub: dict[str, Any] = {"id": stub_id, "request": _request_spec(first, redaction)}
        if len(responses) == 1:
            stub["response"] = responses[0]
        else:
            stub["responses"] = responses
        stubs.append(stub)
    return stubs


def service_document(
    service: str,
    upstream: str | None,
    stubs: Sequence[Mapping[str, Any]],
    *,
    port: int | None = None,
    now: datetime | None = None,
    note: str = "recording again replaces this file.",
) -> str:
    """The stub file for one service, as readable YAML, marked as recorded; ``note`` says
    what writing it again does."""
    moment = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S UTC")
    document: dict[str, Any] = {"service": service}
    if port is not None:
        document["port"] = port
    if upstream:
        document["upstream"] = upstream
    document["stubs"] = [dict(s) for s in stubs]
    header = (
        f"{RECORDED_MARK} from {upstream or 'an upstream'} on {moment}.\n"
        f"# Secrets were redacted. Edit freely; {note}\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


@dataclass(slots=True)
class Recording:
    """Exchanges collected per service while a recorder runs."""

    upstreams: dict[str, str] = field(default_factory=dict)
    exchanges: dict[str, list[Exchange]] = field(default_factory=dict)

    def add(self, service: str, upstream: str, exchange: Exchange) -> None:
        self.upstreams[service] = upstream
        self.exchanges.setdefault(service, []).append(exchange)
