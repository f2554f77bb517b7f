"""What a recorded exchange becomes in a stub: its request matchers and its response.

Pure. The body is stored decoded (the replay negotiates coding again), redacted, and as close
to the bytes the service sent as the format allows: ``json:`` when a compact replay gives the
same bytes, else ``body:`` text, else ``body_base64:``; a body over the inline limit is named
as a ``body_file:`` by its hash and handed back for the caller to write.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import parse_qsl

from mockserver.core.headernames import (
    ACCEPT_ENCODING,
    CONTENT_ENCODING,
    CONTENT_LENGTH,
    CONTENT_TYPE,
    DATE,
    ETAG,
    EXPIRES,
    IF_MODIFIED_SINCE,
    IF_NONE_MATCH,
    LAST_MODIFIED,
    LOWER_ACCEPT_ENCODING,
    LOWER_CONTENT_ENCODING,
    LOWER_COOKIE,
    LOWER_EXPIRES,
    LOWER_VARY,
    SERVER,
    lowered,
)
from mockserver.core.http import select_encoding, without_coding_suffix
from mockserver.core.render import encode_json
from mockserver.core.replayed import valid_reason
from mockserver.recording.exchange import (
    HOP_BY_HOP,
    MAX_DECODED_BODY,
    Exchange,
    Redaction,
    decode_body,
    hop_by_hop,
)

__all__ = [
    "INLINE_BODY_BYTES",
    "body_file_name",
    "kept_coding",
    "request_key",
    "request_spec",
    "response_spec",
    "revalidated",
    "slug",
    "varied_on",
]

log = logging.getLogger("mockserver")

# Response headers not written into stubs: framing and coding (the body is stored decoded and
# re-encoded on replay), per-response values, and validators (written as etag/last_modified).
_NOT_RECORDED: Final = HOP_BY_HOP | lowered(
    CONTENT_LENGTH, CONTENT_ENCODING, DATE, SERVER, ETAG, LAST_MODIFIED
)
_PHRASES: Final = {status.value: status.phrase for status in HTTPStatus}
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CODINGS: Final = ("gzip", "deflate", "br", "zstd")
# A body inline reads well up to a page or so; past 64 KiB nobody reads it in the stub file,
# and YAML would spend ~0.85 s per MB writing it (and base64 grows it by a third). Such a body
# goes to a body file, as the service sent it (decoded, redacted), written once by its hash.
INLINE_BODY_BYTES: Final = 64 * 1024
# A request body matched as JSON is written inline (a matcher cannot be a body file): past
# this size the stub matches method, path and query only.
_MATCHED_BODY_BYTES: Final = 64 * 1024


def request_key(exchange: Exchange, redaction: Redaction, coding: str | None) -> tuple[Any, ...]:
    """What makes two exchanges answers to the same request: method (HEAD its own), path, the
    query as a multiset, the body, the request headers the service said it varied on, and a
    coding the recorder kept as sent (only clients accepting it get that answer)."""
    return (
        exchange.method,
        exchange.path,
        tuple(sorted(exchange.query)),
        exchange.request_body,
        tuple((name, _selected(exchange, name, redaction)) for name in varied_on(exchange)),
        coding,
    )


def varied_on(exchange: Exchange) -> tuple[str, ...]:
    """The request headers the service's ``Vary`` names, but Accept-Encoding (the replay
    negotiates codings itself) and ``*`` (nothing to match on), lower-cased, in order."""
    names: list[str] = []
    for header, value in exchange.response_headers:
        if header.lower() == LOWER_VARY:
            for token in value.split(","):
                name = token.strip().lower()
                if name and name not in ("*", LOWER_ACCEPT_ENCODING) and name not in names:
                    names.append(name)
    return tuple(names)


def _selected(exchange: Exchange, name: str, redaction: Redaction) -> Any:
    """What of a varied-on request header chose the answer, as far as the recording may
    keep it: the value; for a secret header its presence; for Cookie the cookie names."""
    value = exchange.request_header(name)
    if value is None:
        return None
    if name == LOWER_COOKIE:
        return tuple(sorted(_cookie_names(value)))
    return True if name in redaction.headers else value


def _cookie_names(header: str) -> set[str]:
    return {pair.split("=", 1)[0].strip() for pair in header.split(";") if "=" in pair}


def request_spec(exchange: Exchange, redaction: Redaction, coding: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"method": exchange.method, "path": exchange.path}
    values: dict[str, list[str]] = {}
    for name, value in exchange.query:
        values.setdefault(name, []).append(value)
    query: dict[str, Any] = {}
    for name, found in values.items():
        if redaction.placeholder in found:
            continue  # never match on a redacted value
        # A repeated name matches its values exactly, as a multiset: ?x=1&x=999 is not
        # ?x=1&x=2 (any other matcher holds when one value does).
        query[name] = found[0] if len(found) == 1 else {"values": found}
    if query:
        spec["query"] = query
    headers, cookies = _selectors(exchange, redaction)
    if coding is not None:
        headers[ACCEPT_ENCODING] = {"accepts_coding": coding.strip().lower()}
    if headers:
        spec["headers"] = headers
    if cookies:
        spec["cookies"] = cookies
    body = exchange.request_body
    if exchange.method in _BODY_METHODS and body and len(body) <= _MATCHED_BODY_BYTES:
        matcher = _body_matcher(exchange, body, redaction)
        if matcher is not None:
            spec["body"] = matcher
    return spec


def _selectors(exchange: Exchange, redaction: Redaction) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and cookie matchers for what the service varied on (see ``_selected``)."""
    headers: dict[str, Any] = {}
    cookies: dict[str, Any] = {}
    for name in varied_on(exchange):
        shown = "-".join(part.capitalize() for part in name.split("-"))
        chosen = _selected(exchange, name, redaction)
        if chosen is None:
            headers[shown] = {"absent": True}
        elif name == LOWER_COOKIE:
            cookies.update({cookie: {"absent": False} for cookie in chosen})
        elif chosen is True:
            headers[shown] = {"absent": False}
        else:
            headers[shown] = chosen
    return headers, cookies


def _body_matcher(exchange: Exchange, body: bytes, redaction: Redaction) -> Any:
    """How a recorded request body is matched: JSON as JSON (what was redacted left out), a
    form by its fields (secret-named ones left out), anything else by its SHA-256: exactly,
    and without writing a body that may hold a secret (issue 16)."""
    value = _json_or_none(body)
    if value is not None:
        kept = _without_placeholders(value, redaction.placeholder)
        # Something was redacted: match on the rest only.
        return {"json_subset": kept} if kept != value else {"json": value}
    content_type = (exchange.request_header(CONTENT_TYPE) or "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            pairs = None
        if pairs is not None:
            fields: dict[str, str] = {}
            for name, field in pairs:
                if name.lower() not in redaction.query and name not in fields:
                    fields[name] = field
            return {"form": fields} if fields else None
    return {"sha256": hashlib.sha256(body).hexdigest()}


def _without_placeholders(value: Any, placeholder: str) -> Any:
    if isinstance(value, dict):
        return {
            k: _without_placeholders(v, placeholder) for k, v in value.items() if v != placeholder
        }
    if isinstance(value, list):
        return [_without_placeholders(v, placeholder) for v in value if v != placeholder]
    return value


def body_file_name(directory: str, data: bytes) -> str:
    """Where a body goes, relative to its stub file: named by its hash, so written once."""
    return f"{directory}/{hashlib.sha256(data).hexdigest()[:32]}.body"


def response_spec(
    exchange: Exchange, redaction: Redaction, inline: int, body_dir: str
) -> tuple[dict[str, Any], tuple[str, bytes] | None]:
    """The stub's response, and the body file it names (path, bytes) when the body is large."""
    coding = exchange.response_header(CONTENT_ENCODING)
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
    reason = exchange.reason
    if reason and reason != _PHRASES.get(exchange.status) and valid_reason(reason):
        spec["reason"] = reason  # "Custom", not the status's usual phrase
    headers: dict[str, Any] = {}
    dropped = _NOT_RECORDED | hop_by_hop(exchange.response_headers)
    if as_sent:
        dropped -= {LOWER_CONTENT_ENCODING}
    expires_in = _expires_in(exchange)
    if expires_in is not None:
        dropped |= {LOWER_EXPIRES}
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
    if expires_in is not None:
        spec["expires_in"] = expires_in
    content_type = (exchange.response_header(CONTENT_TYPE) or "").lower()
    json_like = "json" in content_type or not content_type
    stored: tuple[str, bytes] | None = None
    if len(body) > inline:
        data = body if as_sent else _redacted_large(body, redaction, json_like)
        stored = (body_file_name(body_dir, data), data)
        spec["body_file"] = stored[0]
    elif as_sent:
        spec["body_base64"] = base64.b64encode(body).decode("ascii")
    elif body:
        parsed = _json_or_none(body) if json_like else None
        compact = encode_json(parsed) if parsed is not None else None
        if parsed is not None and redaction.may_redact_json(body):
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
    if as_sent:
        spec["gzip"] = False
    etag = exchange.response_header(ETAG)
    if etag and coding and not as_sent:
        # The tag as the service sends it for the body: a service that names the coding in
        # the tag ("abc-gzip", Apache) sends "abc" uncoded. Replay validates either form, and
        # a tag without a suffix (nginx's weak W/"abc", or "abc") is kept as it came.
        etag = without_coding_suffix(etag, coding)
    spec["etag"] = etag if etag else False
    modified = exchange.response_header(LAST_MODIFIED)
    if modified:
        spec["last_modified"] = modified
    # Replay negotiates compression again: offered when the upstream compressed, not when it
    # sent identity to a client that accepted a coding. When the client accepted none, how
    # the service compresses is unknown, and the service's default (auto) decides.
    if as_sent:
        return spec, stored
    if coding and coding.strip().lower() != "identity":
        spec["gzip"] = True
    elif select_encoding(exchange.request_header(ACCEPT_ENCODING), _CODINGS) in _CODINGS:
        spec["gzip"] = False
    return spec, stored


def kept_coding(response: dict[str, Any]) -> str | None:
    """The content coding a recorded response keeps as sent (one the recorder could not
    decode), or None: the body is stored decoded and the replay negotiates."""
    for name, value in response.get("headers", {}).items():
        if name.lower() == LOWER_CONTENT_ENCODING:
            return str(value[0] if isinstance(value, list) else value)
    return None


def _expires_in(exchange: Exchange) -> int | None:
    """``Expires`` as seconds after the answer's ``Date`` (the replay adds them to its own),
    or None to keep it as sent: no Date, or an Expires that is no date (``0``: expired)."""
    expires, date = exchange.response_header(EXPIRES), exchange.response_header(DATE)
    if expires is None or date is None:
        return None
    try:
        return int((parsedate_to_datetime(expires) - parsedate_to_datetime(date)).total_seconds())
    except (TypeError, ValueError, IndexError):
        return None


def _redacted_large(body: bytes, redaction: Redaction, json_like: bool) -> bytes:
    """A large body as its file holds it: the bytes as sent unless redaction changes them."""
    if not json_like or not redaction.may_redact_json(body):
        return body
    parsed = _json_or_none(body)
    if parsed is None:
        return body
    before = encode_json(parsed)
    after = encode_json(redaction.json_value(parsed))
    return body if after == before else after


def revalidated(exchange: Exchange) -> bool:
    return exchange.status == 304 and any(
        exchange.request_header(name) for name in (IF_NONE_MATCH, IF_MODIFIED_SINCE)
    )


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:50] or "root"
