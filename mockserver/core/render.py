"""A ResponseSpec turned into what to send, once, at load time; and, per request, the choice.

At load: the body in every representation the stub offers (identity, br, gzip, deflate, zstd,
MessagePack for JSON), each with its headers and its ETag, computed once. An
``etag: auto`` tag differs per coding; a literal (recorded) tag is the service's: its coded
variants carry it weak, as nginx sends them, and a client holding it in any coding gets 304.
Per request: ``choose`` negotiates the representation and evaluates the preconditions (pure
decisions from ``http``), and returns status, headers and body for the server to copy out.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from base64 import urlsafe_b64encode
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache, partial
from typing import Any, Final

import msgpack
import zstandard

from mockserver.core.errors import HttpProblem
from mockserver.core.etags import ETag
from mockserver.core.headernames import (
    ACCEPT,
    ACCEPT_ENCODING,
    ACCEPT_RANGES,
    CACHE_CONTROL,
    CONTENT_ENCODING,
    CONTENT_LOCATION,
    CONTENT_TYPE,
    ETAG,
    EXPIRES,
    LAST_MODIFIED,
    LOWER_CONTENT_TYPE,
    LOWER_ETAG,
    LOWER_LAST_MODIFIED,
    LOWER_VARY,
    VARY,
    lowered,
)
from mockserver.core.http import Conditional, best_media_type, evaluate_conditions, select_encoding
from mockserver.core.model import PreparedResponse, Representation, ResponseSpec
from mockserver.core.ranges import answer_range
from mockserver.core.request import RequestView

__all__ = ["Choice", "choose", "encode_json", "prepare", "variant"]

JSON_TYPE: Final = "application/json"
TEXT_TYPE: Final = "text/plain; charset=utf-8"
BINARY_TYPE: Final = "application/octet-stream"
MSGPACK_TYPES: Final = ("application/msgpack", "application/x-msgpack")
DEFAULT_MIN_SIZE: Final = 256

# Headers a 304 repeats (RFC 9110 §15.4.5); Date is added by the server.
_NOT_MODIFIED_KEEP: Final = lowered(
    CACHE_CONTROL, CONTENT_LOCATION, EXPIRES, VARY, LAST_MODIFIED, ETAG
)
_COMPRESSIBLE_PREFIXES: Final = ("text/",)
_COMPRESSIBLE: Final = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/ecmascript",
        "application/x-ndjson",
        "application/yaml",
        "application/x-yaml",
        "application/graphql",
        "application/x-www-form-urlencoded",
        "image/svg+xml",
        "application/wasm",
    }
)


def _brotli() -> Callable[[bytes], bytes] | None:
    try:
        import brotli  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    # Quality 5, not brotli's default 11: 30 us instead of 3 ms for a 2 KB body, as small or
    # smaller here, and every compressible stub is coded at load (brotli is a dependency).
    return lambda body: bytes(brotli.compress(body, quality=5))


# Best first: among codings a client rates equally, the smallest output wins.
_CODERS: Final[dict[str, Callable[[bytes], bytes]]] = {
    name: coder
    for name, coder in (
        ("br", _brotli()),
        # mtime=0: the same body always compresses to the same bytes, so its ETag is stable.
        ("gzip", lambda body: gzip.compress(body, compresslevel=6, mtime=0)),
        # "deflate" in HTTP is the zlib format (RFC 9110 §8.4.1.2).
        ("deflate", lambda body: zlib.compress(body, 6)),
        # Last: a client that rates it as high as the others gets what it got before.
        ("zstd", lambda body: zstandard.ZstdCompressor(level=3).compress(body)),
    )
    if coder is not None
}


def available_encodings() -> tuple[str, ...]:
    """Codings this installation can send (br only with the brotli package, a dependency)."""
    return tuple(_CODERS)


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, as services usually send it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def compressible(content_type: str | None) -> bool:
    media = _media(content_type)
    return (
        media.startswith(_COMPRESSIBLE_PREFIXES)
        or media in _COMPRESSIBLE
        or media.endswith(("+json", "+xml"))
    )


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers if k.lower() == lowered), None)


def _with_vary(headers: list[tuple[str, str]], tokens: list[str]) -> list[tuple[str, str]]:
    if not tokens:
        return headers
    existing = _header(headers, VARY)
    present = {t.strip().lower() for t in (existing or "").split(",") if t.strip()}
    missing = [t for t in tokens if t.lower() not in present]
    if not missing:
        return headers
    value = ", ".join([existing, *missing] if existing else missing)
    return [(k, v) for k, v in headers if k.lower() != LOWER_VARY] + [(VARY, value)]


def prepare(
    spec: ResponseSpec,
    *,
    methods: frozenset[str] | None = None,
    service_gzip: str = "auto",
    min_size: int = DEFAULT_MIN_SIZE,
) -> PreparedResponse:
    """Everything ``spec`` can send, computed now so that no request pays for it.

    Args:
        spec: the validated response.
        methods: the stub's methods; ``etag: auto`` applies to 2xx answers to GET/HEAD.
        service_gzip: the service's ``gzip`` setting, used when the stub has none.
        min_size: bodies smaller than this are not compressed under ``gzip: auto``.
    """
    if spec.template is not None:  # rendered and prepared per request (templates.py)
        return PreparedResponse(
            spec.status,
            spec.headers,
            b"",
            spec.delay_ms,
            spec.timing,
            fault=spec.fault,
            fault_rate=spec.fault_rate,
            templated=spec,
            reason=spec.reason,
            expires_in=spec.expires_in,
        )
    headers = list(spec.headers)
    content_type = _header(headers, CONTENT_TYPE)
    if content_type is None and spec.content_type and spec.body:
        content_type = spec.content_type
        headers.append((CONTENT_TYPE, content_type))
    ok = 200 <= spec.status < 300
    etag = _base_etag(spec, methods, ok)
    services_tag = etag is not None and spec.etag != "auto"
    if spec.last_modified is not None:
        headers = [(k, v) for k, v in headers if k.lower() != LOWER_LAST_MODIFIED]
        headers.append((LAST_MODIFIED, http_date(spec.last_modified)))

    default_media = _media(content_type) or ""
    coded_by_stub = _header(headers, CONTENT_ENCODING) is not None
    packed = (
        _msgpack_of(spec.body)
        if ok and default_media == JSON_TYPE and spec.body and not coded_by_stub
        else None
    )
    offers_msgpack = packed is not None
    media_types = (default_media, *MSGPACK_TYPES) if offers_msgpack else ()
    setting = spec.gzip or service_gzip
    make = partial(
        _media_variants,
        headers=headers,
        etag=etag,
        services_tag=services_tag,
        default_media=default_media,
        vary_accept=offers_msgpack,
        encodable=ok and bool(spec.body) and not coded_by_stub and setting != "false",
        setting=setting,
        min_size=min_size,
        # Range requests are answered from a 200 to GET, uncompressed (ranges.py).
        ranges=spec.status == 200 and (methods is None or "GET" in methods),
    )
    variants, codings = make(default_media, spec.body, content_type)
    default = variants[(default_media, "identity")]
    needs_choice = offers_msgpack or bool(codings)
    needs_conditions = ok and (etag is not None or spec.last_modified is not None)
    return PreparedResponse(
        spec.status,
        default.headers,
        default.body,
        spec.delay_ms,
        spec.timing,
        etag=None if etag is None else str(etag),
        last_modified=spec.last_modified,
        media_types=media_types,
        encodings={default_media: codings},
        variants=variants if (needs_choice or needs_conditions) else {},
        # MessagePack forms are built on the first request that asks for one (then kept):
        # most stubs are never asked, and 10,000 stubs would load at half the speed.
        packed=packed,
        force_coding=setting == "true" and ok and not coded_by_stub,
        fault=spec.fault,
        fault_rate=spec.fault_rate,
        reason=spec.reason,
        expires_in=spec.expires_in,
    )


_Built = tuple[dict[tuple[str, str], Representation], tuple[str, ...]]


def _media_variants(
    media: str,
    body: bytes,
    media_type: str | None,
    *,
    headers: list[tuple[str, str]],
    etag: ETag | None,
    services_tag: bool,
    default_media: str,
    vary_accept: bool,
    encodable: bool,
    setting: str,
    min_size: int,
    ranges: bool = False,
) -> tuple[dict[tuple[str, str], Representation], tuple[str, ...]]:
    """Every coding of one media type's body, each with its headers and its ETag.

    ``services_tag``: ``etag`` is a literal or recorded one, the service's, which validates
    every coding of this body; otherwise (auto) each coding has a tag of its own.
    """
    base = [(k, v) for k, v in headers if k.lower() != LOWER_CONTENT_TYPE]
    if media_type:
        base.append((CONTENT_TYPE, media_type))
    coded: dict[str, bytes] = {}
    if encodable and (setting == "true" or (compressible(media_type) and len(body) >= min_size)):
        for name, coder in _CODERS.items():
            out = coder(body)
            if setting == "true" or len(out) < len(body):
                coded[name] = out
    vary = ([ACCEPT] if vary_accept else []) + ([ACCEPT_ENCODING] if coded else [])
    # Each media type is its own representation with its own tag: -msgpack, -x-msgpack.
    media_etag = (
        etag if media == default_media or etag is None else etag.suffixed(media.split("/", 1)[1])
    )
    body_etag = media_etag if services_tag else None
    plain = [*base, (ACCEPT_RANGES, "bytes")] if ranges else base
    identity = _representation(body, plain, vary, media_etag, None, body_etag)
    variants = {(media, "identity"): identity}
    for name, out in coded.items():
        tag = None
        if media_etag is not None:
            # A service's tag stays the service's on its coded variants: weak, as nginx marks
            # its gzip variants, so no strong tag names two byte sequences (RFC 9110 §8.8.3.3)
            # and weak comparison (§8.8.3.2) still matches it. An auto tag is per coding: a
            # suffix inside the quotes, so two codings never share a tag and each answers 304.
            tag = media_etag.weakened() if services_tag else media_etag.suffixed(name)
        variants[(media, name)] = _representation(out, base, vary, tag, name, body_etag)
    return variants, tuple(coded)


def variant(prepared: PreparedResponse, media: str, coding: str = "identity") -> Representation:
    """One representation, built now if it was left for first use.

    Raises:
        KeyError: the stub offers no such representation.
    """
    if media not in prepared.encodings and media in MSGPACK_TYPES and prepared.packed:
        default = prepared.variants[(prepared.media_types[0], "identity")]
        own = lowered(CONTENT_TYPE, ETAG, VARY, CONTENT_ENCODING)
        built, codings = _media_variants(
            media,
            prepared.packed,
            media,
            headers=[(k, v) for k, v in default.headers if k.lower() not in own],
            etag=None if prepared.etag is None else ETag.literal(prepared.etag),
            services_tag=default.body_etag is not None,
            default_media=prepared.media_types[0],
            vary_accept=True,
            encodable=prepared.force_coding,
            setting="true" if prepared.force_coding else "auto",
            min_size=0,
        )
        prepared.variants.update(built)
        prepared.encodings[media] = codings
    return prepared.variants[(media, coding)]


def _msgpack_of(body: bytes) -> bytes | None:
    """The MessagePack form of a JSON body; None when the body is not JSON after all (a
    ``body:`` under a JSON Content-Type) or has no MessagePack form (an integer past 64 bits)."""
    try:
        return msgpack.packb(json.loads(body), use_bin_type=True)  # type: ignore[no-any-return]
    except (ValueError, RecursionError, OverflowError):
        return None


def _base_etag(spec: ResponseSpec, methods: frozenset[str] | None, ok: bool) -> ETag | None:
    if spec.etag is False:
        return None
    if isinstance(spec.etag, str) and spec.etag != "auto":
        return ETag.literal(spec.etag)
    reads = methods is None or bool(methods & {"GET", "HEAD"})
    if not (ok and reads):
        return None
    # A strong validator from the bytes (RFC 9110 §8.8.3): the same body, the same tag.
    digest = hashlib.blake2b(spec.body, digest_size=12).digest()
    return ETag(urlsafe_b64encode(digest).decode().rstrip("="))


def _representation(
    body: bytes,
    headers: list[tuple[str, str]],
    vary: list[str],
    tag: ETag | None,
    coding: str | None,
    body_tag: ETag | None,
) -> Representation:
    """One representation, ready to send: its tags as their headers say them."""
    full = _with_vary(list(headers), vary)
    etag = None if tag is None else str(tag)
    body_etag = None if body_tag is None else str(body_tag)
    if etag is not None:
        full = [(k, v) for k, v in full if k.lower() != LOWER_ETAG] + [(ETAG, etag)]
    if coding is not None:
        full.append((CONTENT_ENCODING, coding))
    keep = tuple((k, v) for k, v in full if k.lower() in _NOT_MODIFIED_KEEP)
    return Representation(body, tuple(full), etag, keep, body_etag)


class Choice:
    """What to send for one request: status, headers, body (None: no body, as for 304)."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: tuple[tuple[str, str], ...], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


_JSON_ONLY: Final = ((CONTENT_TYPE, JSON_TYPE),)
_PRECONDITION_BODY: Final = encode_json(
    HttpProblem(412, "precondition failed", "If-Match / If-Unmodified-Since did not hold").as_dict()
)
_NOT_ACCEPTABLE_BODY: Final = encode_json(
    HttpProblem(406, "not acceptable", "Accept-Encoding refuses every coding offered").as_dict()
)


def choose(prepared: PreparedResponse, request: RequestView) -> Choice:
    """The representation and status for a request (RFC 9110 §12 negotiation, §13 conditions)."""
    variants = prepared.variants
    if not variants:
        plain = Choice(prepared.status, prepared.headers, prepared.body)
        return _ranged(plain, prepared, request, None) if request.method == "GET" else plain
    accept, accept_encoding, *conditions, range_header, _ = request.negotiation
    # Negotiation depends on two headers only, and clients send the same few values again
    # and again: remember each answer (bounded) so a request pays a dict lookup, not a parse.
    key = (accept, accept_encoding)
    cache = prepared.negotiated_cache
    chosen_or_none = cache.get(key, _MISSING)
    if chosen_or_none is _MISSING:
        chosen_or_none = _negotiate(prepared, accept, accept_encoding)
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[key] = chosen_or_none
    if chosen_or_none is None:
        return Choice(406, _JSON_ONLY, _NOT_ACCEPTABLE_BODY)
    chosen: Representation = chosen_or_none  # type: ignore[assignment]
    if 200 <= prepared.status < 300 and conditions != _NO_CONDITIONS:
        if_match, if_none_match, if_modified_since, if_unmodified_since = conditions
        decision = _decide(
            request.method,
            chosen.etag,
            chosen.body_etag,
            prepared.last_modified,
            if_match,
            if_none_match,
            if_modified_since,
            if_unmodified_since,
        )
        if decision is Conditional.NOT_MODIFIED:
            return Choice(304, chosen.not_modified_headers, b"")
        if decision is Conditional.PRECONDITION_FAILED:
            return Choice(412, _JSON_ONLY, _PRECONDITION_BODY)
    whole = Choice(prepared.status, chosen.headers, chosen.body)
    if range_header is None or request.method != "GET":
        return whole
    return _ranged(whole, prepared, request, chosen.etag)


def _ranged(
    whole: Choice, prepared: PreparedResponse, request: RequestView, etag: str | None
) -> Choice:
    """``whole`` as the request's Range asks (206, 416), or as it is (ranges.py)."""
    if whole.status != 200:  # before reading any header: most answers stop here
        return whole
    *_, range_header, if_range = request.negotiation
    if range_header is None:
        return whole
    found = answer_range(
        range_header, if_range, whole.headers, whole.body, etag, prepared.last_modified
    )
    return whole if found is None else Choice(found.status, found.headers, found.body)


@lru_cache(maxsize=1024)
def _decide(
    method: str,
    etag: str | None,
    body_etag: str | None,
    last_modified: datetime | None,
    if_match: str | None,
    if_none_match: str | None,
    if_modified_since: str | None,
    if_unmodified_since: str | None,
) -> Conditional:
    """evaluate_conditions, remembered: a client revalidating sends the same validators
    again and again, so a 304 costs a lookup instead of parsing them (the decision is pure)."""
    return evaluate_conditions(
        method,
        etag,
        last_modified,
        if_match=if_match,
        if_none_match=if_none_match,
        if_modified_since=if_modified_since,
        if_unmodified_since=if_unmodified_since,
        body_etag=body_etag,
    )


_MISSING: Final = object()
_CACHE_SIZE: Final = 64
_NO_CONDITIONS: Final = [None, None, None, None]


def _negotiate(
    prepared: PreparedResponse, accept: str | None, accept_encoding: str | None
) -> Representation | None:
    """The representation for these Accept and Accept-Encoding values; None means 406."""
    variants = prepared.variants
    media = (
        best_media_type(accept, prepared.media_types)
        if prepared.media_types
        else next(iter(variants))[0]
    )
    if media not in prepared.encodings:
        variant(prepared, media)
    codings = prepared.encodings.get(media, ())
    coding = select_encoding(accept_encoding, codings) if codings else "identity"
    return None if coding is None else variants[(media, coding)]


def http_date(moment: datetime) -> str:
    """An IMF-fixdate (RFC 9110 §5.6.7), always in GMT."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)
