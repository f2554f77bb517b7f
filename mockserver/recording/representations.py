"""What the recorder asks a service itself, once per exchange, so a stub holds a whole
representation with the validators the service gives it (issue 16).

A HEAD answer has no body, yet the replay must send the Content-Length of the GET's: the
recorder fetches the GET (safe, RFC 9110 §9.2.1) in the HEAD's coding and records the HEAD's
status and headers with that body. A coded answer with a weak tag may be nginx weakening its
strong tag because it compressed the body: the recorder asks for the identity
representation, and when that has the same body under the strong form of the tag, records
the strong one (the replay weakens it again on the variants it codes itself, as nginx does),
so ``If-Match`` with the strong tag the service sent holds.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Final

from mockserver.core.headernames import (
    ACCEPT_ENCODING,
    CONTENT_ENCODING,
    ETAG,
    LOWER_ACCEPT_ENCODING,
    LOWER_ETAG,
)
from mockserver.recording.exchange import MAX_DECODED_BODY, Exchange, decode_body
from mockserver.recording.proxy import Upstream, UpstreamError

__all__ = ["head_with_body", "with_identity_tag"]

log = logging.getLogger("mockserver")

_CODING_ASKS: Final = frozenset({LOWER_ACCEPT_ENCODING})


async def head_with_body(
    upstream: Upstream,
    head: Exchange,
    target: str,
    query_string: str,
    headers: tuple[tuple[str, str], ...],
) -> Exchange:
    """``head`` with the body a GET of the same target gets in the HEAD's coding (nginx
    compresses no HEAD answer: its length is the uncoded body's); as it is when the GET fails
    or answers otherwise."""
    if not 200 <= head.status < 300:
        return head
    coding = head.response_header(CONTENT_ENCODING)
    asked = headers
    if not coding:
        kept = tuple((k, v) for k, v in headers if k.lower() not in _CODING_ASKS)
        asked = (*kept, (ACCEPT_ENCODING, "identity"))
    try:
        got = await upstream.forward("GET", target, head.path, query_string, asked, b"")
    except UpstreamError as exc:
        log.warning("HEAD %s: recorded without a body length: %s", head.path, exc.detail)
        return head
    if got.status != head.status or got.response_header(CONTENT_ENCODING) != coding:
        return head
    return replace(head, response_body=got.response_body)


async def with_identity_tag(
    upstream: Upstream,
    exchange: Exchange,
    target: str,
    query_string: str,
    headers: tuple[tuple[str, str], ...],
) -> Exchange:
    """``exchange`` (a GET) with the service's strong tag when its coded answer carried the
    weak form of it and the identity answer has the same body under the strong one."""
    tag = exchange.response_header(ETAG)
    coding = exchange.response_header(CONTENT_ENCODING)
    if not (200 <= exchange.status < 300 and coding and tag and tag.startswith("W/")):
        return exchange
    plain = (
        *((k, v) for k, v in headers if k.lower() not in _CODING_ASKS),
        (ACCEPT_ENCODING, "identity"),
    )
    try:
        identity = await upstream.forward("GET", target, exchange.path, query_string, plain, b"")
        body = decode_body(exchange.response_body, coding, MAX_DECODED_BODY)
    except (UpstreamError, ValueError):
        return exchange  # recorded as it came: the weak tag still answers If-None-Match
    strong = identity.response_header(ETAG)
    same = identity.status == exchange.status and identity.response_body == body
    if not same or strong != tag[2:] or identity.response_header(CONTENT_ENCODING):
        return exchange
    kept = tuple(
        (k, strong if k.lower() == LOWER_ETAG else v) for k, v in exchange.response_headers
    )
    return replace(exchange, response_headers=kept)
