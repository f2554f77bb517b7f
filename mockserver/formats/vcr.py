"""VCR.py cassettes (vcrpy, pytest-recording) → recorded exchanges, served as they are.

A cassette is YAML with ``interactions:`` (each a ``request`` with ``method``, ``uri``,
``headers``, ``body`` and a ``response`` with ``status``, ``headers``, ``body: {string}``) and a
``version``. Its exchanges go through the recorder's stub builder, so a cassette is served
exactly as its recording would be: matched on method, path, query and JSON body, identical
requests answered in recorded order (VCR's play counts) and then the last answer repeated.

vcrpy keeps what the HTTP library handed it: requests/urllib3 and aiohttp give bodies already
decoded while the headers still say ``Content-Encoding: gzip`` and the original
``Content-Length``; other clients give the coded bytes (``!!binary``). Either way the body is
decoded here when it can be, and the stub then negotiates the coding anew; stale framing
headers are never replayed.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

from mockserver.core.headernames import (
    CONTENT_ENCODING,
    CONTENT_LENGTH,
    LOWER_CONTENT_ENCODING,
    TRANSFER_ENCODING,
    lowered,
)
from mockserver.formats.har import DEFAULT_PORTS, HarError, HarImport, grouped, origin_of
from mockserver.recording.exchange import Exchange

__all__ = ["cassette_document", "is_cassette", "parse_cassette"]

# Framing the recording's transport chose: the replay frames its own body.
_FRAMING: Final = lowered(CONTENT_LENGTH, TRANSFER_ENCODING, CONTENT_ENCODING)


def is_cassette(document: Any) -> bool:
    """``document`` (a parsed YAML or JSON file) is a VCR.py cassette, not a stub file."""
    return (
        isinstance(document, dict)
        and isinstance(document.get("interactions"), list)
        and "version" in document
        and "stubs" not in document
    )


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise HarError(f"{where} must be a mapping, got {type(value).__name__}")
    return value


def _headers(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    """vcrpy's ``{Name: [value, ...]}`` (a bare value is accepted too)."""
    if value is None:
        return ()
    pairs: list[tuple[str, str]] = []
    for name, values in _mapping(value, where).items():
        for item in values if isinstance(values, list) else [values]:
            if not isinstance(name, str) or not isinstance(item, str | int | float):
                raise HarError(f"{where}.{name}: header values are strings")
            pairs.append((name, str(item)))
    return tuple(pairs)


def _bytes(value: Any, where: str) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    raise HarError(f"{where} must be text or !!binary, got {type(value).__name__}")


def _decoded(body: bytes, coding: str | None) -> bytes:
    """``body`` without its content coding: vcrpy may have kept it coded or decoded."""
    name = (coding or "").strip().lower()
    try:
        if name in ("gzip", "x-gzip") and body[:2] == b"\x1f\x8b":
            return gzip.decompress(body)
        if name == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
    except (OSError, EOFError, zlib.error):
        pass  # not coded after all: the library had decoded it already
    return body


def _interaction(raw: Any, index: int) -> tuple[str, str, int | None, Exchange] | str:
    """(origin, host, explicit port, exchange) of one interaction, or why it is left out."""
    where = f"interactions[{index}]"
    item = _mapping(raw, where)
    request = _mapping(item.get("request"), f"{where}.request")
    response = _mapping(item.get("response"), f"{where}.response")
    method, uri = request.get("method"), request.get("uri")
    if not isinstance(method, str) or not isinstance(uri, str):
        raise HarError(f"{where}.request needs a method and a uri")
    label = f"{where} ({method} {uri[:100]})"
    parts = urlsplit(uri)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        return f"{label}: not an http(s) URI"
    status = _mapping(response.get("status"), f"{where}.response.status").get("code")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return f"{label}: no response status ({status!r})"
    headers = _headers(response.get("headers"), f"{where}.response.headers")
    body_field = response.get("body")
    raw_body = (
        _mapping(body_field, f"{where}.response.body").get("string")
        if body_field is not None
        else None
    )
    coding = next((v for k, v in headers if k.lower() == LOWER_CONTENT_ENCODING), None)
    body = _decoded(_bytes(raw_body, f"{where}.response.body.string"), coding)
    kept = tuple((k, v) for k, v in headers if k.lower() not in _FRAMING)
    if coding is not None and coding.strip().lower() not in ("", "identity"):
        # The recorder takes a body as sent: coded again with gzip, it keeps only *that* the
        # service compressed (gzip: true), and replay negotiates the coding anew (as for HAR).
        body, kept = gzip.compress(body, mtime=0), (*kept, (CONTENT_ENCODING, "gzip"))
    where_from = origin_of(parts)
    if where_from is None:
        return f"{label}: bad port"
    origin, host, explicit = where_from
    exchange = Exchange(
        method=method.upper(),
        path=unquote(parts.path) or "/",
        query=tuple(parse_qsl(parts.query, keep_blank_values=True)),
        request_headers=_headers(request.get("headers"), f"{where}.request.headers"),
        request_body=_bytes(request.get("body"), f"{where}.request.body"),
        status=status,
        response_headers=kept,
        response_body=body,
    )
    return origin, host, explicit, exchange


def parse_cassette(document: Any, service: str | None = None) -> HarImport:
    """The exchanges of a cassette, grouped by origin (or all under ``service``).

    Raises:
        HarError: the document is not a cassette this reader understands.
    """
    if not is_cassette(document):
        raise HarError("not a VCR.py cassette (no interactions: list and version:)")
    interactions = document["interactions"]
    return grouped(
        (_interaction(raw, index) for index, raw in enumerate(interactions)),
        service,
        "interactions",
    )


def cassette_document(document: Any, service: str) -> dict[str, Any]:
    """A cassette as the stub-file document that serves it (one service: the file's)."""
    from mockserver.recording.stubs import stubs_from_exchanges

    found = parse_cassette(document, service)
    exchanges = found.recording.exchanges.get(service, [])
    return {"service": service, "stubs": stubs_from_exchanges(service, exchanges)}
