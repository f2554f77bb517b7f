"""One incoming request as matching sees it: RequestView, its body's JSON reading (or why there
is none), and how much of it reports show.

Nothing here knows about aiohttp: the server turns its request into a RequestView. A leaf below
the patterns, the paths and the model, which all read requests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any, Final
from urllib.parse import parse_qsl

import msgpack
import msgspec

from mockserver.core.headernames import (
    ACCEPT,
    ACCEPT_ENCODING,
    IF_MATCH,
    IF_MODIFIED_SINCE,
    IF_NONE_MATCH,
    IF_RANGE,
    IF_UNMODIFIED_SINCE,
    LOWER_CONTENT_TYPE,
    LOWER_COOKIE,
    RANGE,
)
from mockserver.core.secretnames import SECRET_HEADERS, SECRET_QUERY, redacted_mapping

__all__ = [
    "MSGPACK_TYPES",
    "NEGOTIATION_HEADERS",
    "NOT_JSON",
    "REPORTED_BODY_CHARS",
    "REPORTED_VALUE_CHARS",
    "NotJson",
    "RequestView",
    "excerpt",
]


class NotJson:
    """Marker for 'the body did not parse as JSON' (None is a valid JSON value)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"NOT_JSON({self.reason!r})"


NOT_JSON: Final = NotJson("not JSON")


MSGPACK_TYPES: Final = ("application/msgpack", "application/x-msgpack")


def _unpack(body: bytes) -> tuple[Any, str | None]:
    """A MessagePack body's value and its JSON text (None when it has no JSON reading)."""
    try:
        value = msgpack.unpackb(body, raw=False, strict_map_key=False)
        # bin, ext and non-string keys have no JSON reading; the text is kept, since text
        # matchers read the body as it (encoding 10 MB twice took half a second more).
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (ValueError, TypeError, RecursionError, msgpack.UnpackException) as exc:
        return NotJson(f"the body is not MessagePack that reads as JSON ({exc})"), None
    return value, text


# A JSON body's reading (RequestView.json): json.loads's value or its error, in a fraction of
# its time (a served OpenAPI document parses every body it checks). msgspec's decoder reads
# it, integers of any size as json.loads does; what it refuses and json.loads may read (NaN
# and Infinity, numbers past a float's range, a lone surrogate, a BOM, UTF-16 or UTF-32) or
# words its own way (any error, nesting too deep among them) is json.loads's.
_DECODE: Final = msgspec.json.Decoder().decode


_KINDS_KEPT: Final = 64


class _MsgpackKinds(dict[str, bool]):
    """Content-Type as sent → whether it is MessagePack: every JSON body's reading asks, and a
    client sends few distinct ones. A hit is the dict's own lookup (no frame); a miss works it
    out, and keeps it while fewer than _KINDS_KEPT are kept (a client could send any number)."""

    def __missing__(self, content_type: str) -> bool:
        found = content_type.split(";", 1)[0].strip().lower() in MSGPACK_TYPES
        if len(self) < _KINDS_KEPT:
            self[content_type] = found
        return found


_MSGPACK_KINDS: Final = _MsgpackKinds()


# What RequestView.negotiation holds, in this order (render.choose reads it by position).
NEGOTIATION_HEADERS: Final = tuple(
    name.lower()
    for name in (
        ACCEPT,
        ACCEPT_ENCODING,
        IF_MATCH,
        IF_NONE_MATCH,
        IF_MODIFIED_SINCE,
        IF_UNMODIFIED_SINCE,
        RANGE,
        IF_RANGE,
    )
)
_WANTED: Final = {name: at for at, name in enumerate(NEGOTIATION_HEADERS)}


# A report, the journal or a log shows this much of a request's body, once per request: a
# 10 MiB body copied into every near miss made a 440 MB answer (issue 13).
REPORTED_BODY_CHARS: Final = 4096
# ... and this much of any one value in a near miss (expected, actual, why).
REPORTED_VALUE_CHARS: Final = 1024


def excerpt(text: str, limit: int) -> str:
    """``text`` when it is at most ``limit`` characters; else its start, its whole length and
    the start of its SHA-256, so two long values can still be told apart."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters in all, sha256 {_digest(text)})"


def _one_or_all(values: list[str] | str) -> list[str] | str:
    return values[0] if isinstance(values, list) and len(values) == 1 else values


@lru_cache(maxsize=16)  # the same body is cut for every near miss of one request
def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


class RequestView:
    """One incoming request, as matching sees it.

    Query, headers, cookies, text and JSON are derived lazily and once: most stubs look at
    the method and path only, and a request is matched against many stubs.
    """

    __slots__ = (
        "_content_type",
        "_cookies",
        "_headers",
        "_json",
        "_json_done",
        "_negotiation",
        "_query",
        "_readings",
        "_text",
        "body",
        "header_items",
        "method",
        "path",
        "query_string",
    )

    def __init__(
        self,
        method: str,
        path: str,
        query_string: str = "",
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> None:
        self.method = method.upper()
        self.path = path
        self.query_string = query_string
        self.body = body
        # The headers as they arrived (names as sent, in order), as the journal keeps them.
        self.header_items: tuple[tuple[str, str], ...] = (
            headers if type(headers) is tuple else tuple(headers)
        )
        self._headers: dict[str, list[str]] | None = None
        self._query: dict[str, list[str]] | None = None
        self._cookies: dict[str, list[str]] | None = None
        self._content_type: str | None = None
        self._negotiation: tuple[str | None, ...] | None = None
        self._text: str | None = None
        self._json: Any = None
        self._json_done = False
        self._readings: dict[str, Any] | None = None

    @property
    def headers(self) -> dict[str, list[str]]:
        """Header values by lower-cased name, in arrival order."""
        if self._headers is None:
            headers: dict[str, list[str]] = {}
            for name, value in self.header_items:
                headers.setdefault(name.lower(), []).append(value)
            self._headers = headers
        return self._headers

    @property
    def negotiation(self) -> tuple[str | None, ...]:
        """The headers that choose a representation and decide a condition, in the order of
        NEGOTIATION_HEADERS, each with its values joined by ", " (None when absent).

        Every answer with an ETag reads these, and most stubs read no other header: one pass
        over the headers finds them without building the whole ``headers`` mapping.
        """
        if self._negotiation is None:
            if self._headers is not None:
                # An empty value is kept: "Accept-Encoding:" (identity only) is not its absence.
                found = [
                    ", ".join(values) if (values := self._headers.get(name)) else None
                    for name in _WANTED
                ]
            else:
                found = [None] * len(_WANTED)
                for name, value in self.header_items:
                    at = _WANTED.get(name.lower())
                    if at is not None:
                        held = found[at]
                        found[at] = value if held is None else f"{held}, {value}"
            self._negotiation = tuple(found)
        return self._negotiation

    @property
    def url(self) -> str:
        """The path and the query string together (``/search?q=x``), as ``url:`` reads them."""
        return f"{self.path}?{self.query_string}" if self.query_string else self.path

    @property
    def query(self) -> dict[str, list[str]]:
        """Query parameters by name (blank values kept), in arrival order."""
        if self._query is None:
            query: dict[str, list[str]] = {}
            for name, value in parse_qsl(self.query_string, keep_blank_values=True):
                query.setdefault(name, []).append(value)
            self._query = query
        return self._query

    @property
    def cookies(self) -> dict[str, list[str]]:
        """Cookies from every Cookie header (RFC 6265 §5.4 'name=value; name2=value2')."""
        if self._cookies is None:
            cookies: dict[str, list[str]] = {}
            for header in self.headers.get(LOWER_COOKIE, ()):
                for pair in header.split(";"):
                    name, sep, value = pair.strip().partition("=")
                    if sep and name:
                        cookies.setdefault(name, []).append(value.strip().strip('"'))
            self._cookies = cookies
        return self._cookies

    @property
    def content_type(self) -> str:
        """The first Content-Type value as sent, "" when there is none. Every JSON body's
        reading asks for it: one pass over the headers, not the whole ``headers`` mapping."""
        if self._content_type is None:
            if self._headers is not None:
                found = self._headers.get(LOWER_CONTENT_TYPE)
                self._content_type = found[0] if found else ""
            else:
                self._content_type = ""
                for name, value in self.header_items:
                    if len(name) == 12 and (
                        name == "Content-Type" or name.lower() == LOWER_CONTENT_TYPE
                    ):  # the first test is the name as clients send it, without a lower()
                        self._content_type = value
                        break
        return self._content_type

    @property
    def is_msgpack(self) -> bool:
        """The body is MessagePack (by Content-Type): it is matched as the JSON it encodes."""
        return _MSGPACK_KINDS[self.content_type]

    @property
    def text(self) -> str:
        """The body as text; undecodable bytes become U+FFFD rather than failing the match.

        A MessagePack body reads as its JSON text, so text matchers see what json ones do.
        """
        if self._text is None:
            if self.body and self.is_msgpack:
                self.json()  # sets the text when the body has a JSON reading
            if self._text is None:
                self._text = self.body.decode("utf-8", errors="replace")
        return self._text

    def json(self) -> Any:
        """The body parsed as JSON (or decoded from MessagePack), or a NotJson saying why not."""
        if not self._json_done:
            self._json_done = True
            body = self.body
            if not body:
                self._json = NotJson("the body is empty")
            elif _MSGPACK_KINDS[self.content_type]:  # is_msgpack, without its frame
                self._json, text = _unpack(body)
                if text is not None:
                    self._text = text
            else:
                try:
                    self._json = _DECODE(body)
                except (msgspec.DecodeError, RecursionError):
                    try:
                        self._json = json.loads(body)
                    except (ValueError, RecursionError) as exc:
                        self._json = NotJson(f"the body is not JSON ({exc})")
        return self._json

    def reading(self, kind: str, read: Callable[[RequestView], Any]) -> Any:
        """The body as ``read`` reads it (an XML tree, form fields, multipart parts), once per
        request however many stubs look at it."""
        if self._readings is None:
            self._readings = {}
        if kind not in self._readings:
            self._readings[kind] = read(self)
        return self._readings[kind]

    def shown_fields(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Query and headers as reports and the journal show them: one value or the list,
        secret-named ones never (secretnames.py)."""
        query = redacted_mapping(self.query, SECRET_QUERY)
        headers = redacted_mapping(self.headers, SECRET_HEADERS)
        return (
            {k: _one_or_all(v) for k, v in query.items()},
            {k: _one_or_all(v) for k, v in headers.items()},
        )
