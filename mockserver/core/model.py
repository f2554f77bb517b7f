"""Plain values the core passes around: the request as seen by matching, and loaded stubs.

Nothing here knows about aiohttp: the server turns its request into a RequestView, and the
loader turns stub files into Stub values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar
from urllib.parse import parse_qsl

import msgpack

from mockserver.core.secretnames import SECRET_HEADERS, SECRET_QUERY, redacted_mapping

if TYPE_CHECKING:
    from mockserver.core.paths import PathSpec
    from mockserver.core.patterns import Pattern
    from mockserver.core.scenarios import ScenarioSpec
    from mockserver.core.templates import ResponseTemplate
    from mockserver.core.webhookspec import WebhookSpec

__all__ = [
    "NEGOTIATION_HEADERS",
    "NOT_JSON",
    "Fault",
    "NotJson",
    "PreparedResponse",
    "Representation",
    "RequestSpec",
    "RequestView",
    "ResourceSpec",
    "ResponseSpec",
    "ServiceSpec",
    "Stub",
    "StubSet",
    "forget_shared",
    "shared",
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


H = TypeVar("H", bound=Hashable)
_SHARED: dict[Any, Any] = {}
_SHARED_MAX: Final = 65_536


def shared(value: H) -> H:
    """One object for equal immutable values from stub files (method sets, path segments,
    delays): 10,000 stubs of ``method: GET`` then hold one frozenset, not 10,000. Bounded,
    so stubs posted at runtime cannot grow it without limit."""
    found = _SHARED.get(value)
    if found is not None:
        return found  # type: ignore[no-any-return]
    if len(_SHARED) < _SHARED_MAX:
        _SHARED[value] = value
    return value


def forget_shared() -> None:
    """Start the table of shared values afresh (each full load does): values the previous
    stub set held stay valid, they are only no longer handed out."""
    _SHARED.clear()


class Fault(StrEnum):
    """What ``response.fault`` may ask for: the server carries it out instead of answering
    (server/faults.py). A stub file spells each by its value."""

    CONNECTION_RESET = "connection_reset"
    EMPTY_RESPONSE = "empty_response"
    MALFORMED_RESPONSE = "malformed_response"
    TRUNCATED_BODY = "truncated_body"


# What RequestView.negotiation holds, in this order (render.choose reads it by position).
NEGOTIATION_HEADERS: Final = (
    "accept",
    "accept-encoding",
    "if-match",
    "if-none-match",
    "if-modified-since",
    "if-unmodified-since",
    "range",
    "if-range",
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
            for header in self.headers.get("cookie", ()):
                for pair in header.split(";"):
                    name, sep, value = pair.strip().partition("=")
                    if sep and name:
                        cookies.setdefault(name, []).append(value.strip().strip('"'))
            self._cookies = cookies
        return self._cookies

    @property
    def is_msgpack(self) -> bool:
        """The body is MessagePack (by Content-Type): it is matched as the JSON it encodes."""
        types = self.headers.get("content-type")
        return types is not None and types[0].split(";", 1)[0].strip().lower() in MSGPACK_TYPES

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
            if not self.body:
                self._json = NotJson("the body is empty")
            elif self.is_msgpack:
                self._json, text = _unpack(self.body)
                if text is not None:
                    self._text = text
            else:
                try:
                    self._json = json.loads(self.body)
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


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """What a stub asks of a request. Empty tuples and None mean 'anything'."""

    methods: frozenset[str] | None = None
    path: PathSpec | None = None
    query: tuple[tuple[str, Pattern], ...] = ()
    headers: tuple[tuple[str, Pattern], ...] = ()
    cookies: tuple[tuple[str, Pattern], ...] = ()
    body: tuple[Pattern, ...] = ()


EtagSetting = Literal["auto"] | str | Literal[False]
GzipSetting = Literal["auto", "true", "false"]


@dataclass(frozen=True, slots=True)
class Timing:
    """How an answer is paced beyond a fixed or uniform ``delay_ms``."""

    lognormal: tuple[int, float] | None = None  # delay_ms: {lognormal: {median, sigma}}
    dribble: tuple[int, int] | None = None  # dribble: {chunks, duration_ms}: the body in turns


@dataclass(frozen=True, slots=True)
class ResponseSpec:
    """What a stub answers, as written (after validation and decoding of the body)."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    content_type: str | None = None
    etag: str | bool = "auto"
    last_modified: datetime | None = None
    gzip: GzipSetting | None = None
    delay_ms: tuple[int, int] = (0, 0)
    timing: Timing | None = None
    fault: Fault | None = None  # how the connection breaks instead of answering
    fault_rate: float = 1.0  # the share of requests that meet the fault (drawn per request)
    # template: true: the parts rendered per request (templates.py); None for a static answer.
    template: ResponseTemplate | None = field(default=None, compare=False)
    reason: str | None = None  # the status line's phrase, when not the usual one (replayed.py)
    expires_in: int | None = None  # Expires, in seconds after each answer's Date


@dataclass(frozen=True, slots=True)
class Representation:
    """One encoding of a response (identity, gzip, MessagePack...), ready to send."""

    body: bytes
    headers: tuple[tuple[str, str], ...]
    etag: str | None = None
    # What a 304 for this representation carries (RFC 9110 §15.4.5).
    not_modified_headers: tuple[tuple[str, str], ...] = ()
    # The service's tag for the body in any coding (a recorded or literal etag), which
    # validates every coded variant of it; None for an auto tag (one per coding).
    body_etag: str | None = None


@dataclass(frozen=True, slots=True)
class PreparedResponse:
    """The bytes and headers a stub sends, computed once when the stub is loaded.

    ``headers`` and ``body`` are the default representation. When the stub offers more
    (compressed codings, MessagePack) or can answer conditional requests, ``variants`` holds
    every representation by (media type, coding), each with its own ETag.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    delay_ms: tuple[int, int] = (0, 0)
    timing: Timing | None = None
    etag: str | None = None
    last_modified: datetime | None = None
    media_types: tuple[str, ...] = ()
    encodings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    variants: dict[tuple[str, str], Representation] = field(default_factory=dict)
    # The MessagePack body, whose representations render builds on first use, and whether
    # the stub forces compression (gzip: true) for them.
    packed: bytes | None = field(default=None, compare=False, repr=False)
    force_coding: bool = False
    fault: Fault | None = None  # the ResponseSpec's: the server breaks the connection instead
    fault_rate: float = 1.0
    reason: str | None = None  # the ResponseSpec's
    expires_in: int | None = None
    # A templated response: nothing above is prepared; each request renders this spec, then
    # prepares the result (templates.render_response).
    templated: ResponseSpec | None = field(default=None, compare=False, repr=False)
    # (Accept, Accept-Encoding) → chosen representation (None: 406), filled by render.choose.
    negotiated_cache: dict[tuple[str | None, str | None], object] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def negotiated(self) -> bool:
        """False when the default representation is all there is to send."""
        return bool(self.variants)


@dataclass(frozen=True, slots=True)
class Stub:
    """One loaded stub: a request spec, its response, and where it came from.

    The response is prepared (bytes, ETags, compressed forms) on the first request it
    answers, once, then kept: most of a large stub set is never asked for, and preparing
    10,000 stubs at load would cost memory and start time that no request needed.
    """

    id: str
    service: str
    request: RequestSpec
    response: ResponseSpec
    # render.prepare with the stub's methods and its service's compression settings.
    prepare: Callable[[ResponseSpec], PreparedResponse] = field(compare=False, repr=False)
    priority: int = 0
    order: int = 0
    source: str = "<admin>"
    index: int = 0
    # The stub as written, as compact JSON: a tenth of the memory of the parsed mapping, and
    # only the admin API and the drift check read it.
    definition_json: bytes = field(default=b"{}", compare=False, repr=False)
    # ``responses:`` in turn: the n-th matching request gets the n-th, then the last repeats.
    responses: tuple[ResponseSpec, ...] = ()
    # Calls made after the answer was sent (webhooks.py); none for most stubs.
    webhooks: tuple[WebhookSpec, ...] = ()
    # Matches only in this scenario state, and moves it (scenarios.py); None for most stubs.
    scenario: ScenarioSpec | None = None
    # An OpenAPI operation's request check (oasvalidate.py): the violations of a request.
    check: Callable[[RequestView], list[dict[str, str]]] | None = field(
        default=None, compare=False, repr=False
    )
    _prepared: PreparedResponse | None = field(default=None, init=False, compare=False, repr=False)
    _sequence: tuple[PreparedResponse, ...] | None = field(
        default=None, init=False, compare=False, repr=False
    )

    @property
    def prepared(self) -> PreparedResponse:
        """The response as sent, prepared on first use (two threads may both prepare it;
        either result is the same)."""
        done = self._prepared
        if done is None:
            done = self.prepare(self.response)
            object.__setattr__(self, "_prepared", done)  # a cache, not a change of value
        return done

    @property
    def sequence(self) -> tuple[PreparedResponse, ...]:
        """``responses:`` prepared, in turn; empty for a stub with one response."""
        done = self._sequence
        if done is None:
            done = tuple(self.prepare(one) for one in self.responses)
            object.__setattr__(self, "_sequence", done)
        return done

    @property
    def definition(self) -> dict[str, Any]:
        """The stub as written in its file (or posted), in the stub-file keys."""
        value = json.loads(self.definition_json)
        return value if isinstance(value, dict) else {}

    @property
    def label(self) -> str:
        """How reports name the stub: its id and, for orientation, method and path."""
        return f"{self.id} ({self.describe_route()})"

    def describe_route(self) -> str:
        methods = "|".join(sorted(self.request.methods)) if self.request.methods else "ANY"
        path = self.request.path.text if self.request.path else "(any path)"
        return f"{methods} {path}"


@dataclass(frozen=True, slots=True)
class ResourceSpec:
    """A stateful REST collection (behaviour belongs to the HTTP-semantics layer)."""

    path: str
    id_field: str = "id"
    items: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One service: its name, where it listens, and its settings."""

    name: str
    port: int | None = None
    upstream: str | None = None
    gzip: GzipSetting = "auto"
    min_size: int = 256
    sources: tuple[str, ...] = ()
    resources: tuple[ResourceSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class StubSet:
    """A complete, validated set of services and stubs: what one snapshot serves."""

    services: Mapping[str, ServiceSpec]
    stubs: Sequence[Stub]

    def stubs_of(self, service: str) -> list[Stub]:
        return [s for s in self.stubs if s.service == service]
