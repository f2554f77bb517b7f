"""Plain values the core passes around: a loaded stub, what it asks of a request and what it
answers, as written and as prepared to send.

The loader turns stub files into Stub values; the request side lives in request.py, the parts
a stub is built from (paths, patterns, scenarios) below this module, so every arrow points
down: nothing here imports what uses it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from mockserver.core.paths import PathSpec
from mockserver.core.patterns import Pattern
from mockserver.core.request import RequestView
from mockserver.core.scenarios import ScenarioSpec

if TYPE_CHECKING:
    from jinja2.runtime import Context

    from mockserver.core.sandbox import Budget

__all__ = [
    "Fault",
    "Piece",
    "PreparedResponse",
    "Representation",
    "RequestSpec",
    "ResourceSpec",
    "ResponseSpec",
    "ResponseTemplate",
    "ServiceSpec",
    "Stub",
    "StubSet",
    "WebhookSpec",
]


class Fault(StrEnum):
    """What ``response.fault`` may ask for: the server carries it out instead of answering
    (server/faults.py). A stub file spells each by its value."""

    CONNECTION_RESET = "connection_reset"
    EMPTY_RESPONSE = "empty_response"
    MALFORMED_RESPONSE = "malformed_response"
    TRUNCATED_BODY = "truncated_body"


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """What a stub asks of a request. Empty tuples and None mean 'anything'."""

    methods: frozenset[str] | None = None
    path: PathSpec | None = None
    query: tuple[tuple[str, Pattern], ...] = ()
    headers: tuple[tuple[str, Pattern], ...] = ()
    cookies: tuple[tuple[str, Pattern], ...] = ()
    body: tuple[Pattern, ...] = ()
    # The path and the query string together (RequestView.url): WireMock's url/urlPattern.
    url: Pattern | None = None


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


@dataclass(frozen=True, slots=True, eq=False)
class Piece:
    """One compiled template and its key in the stub (``json.id``, ``headers.Location``);
    templates.py compiles and runs it."""

    key: str
    run: Callable[[Context, Budget], Any]


@dataclass(frozen=True, slots=True, eq=False)
class ResponseTemplate:
    """The templated parts of a response; the rest of its ResponseSpec is sent as written."""

    status: Piece | None = None
    headers: tuple[tuple[str, Piece | str], ...] = ()
    body: Piece | str | None = None
    json: Any = None  # the json value with its templated strings as Pieces
    has_json: bool = False
    # Rendered (status, headers, body) → its PreparedResponse, bounded (render_response).
    prepared: dict[tuple[int, tuple[tuple[str, str], ...], bytes], PreparedResponse] = field(
        default_factory=dict
    )


@dataclass(frozen=True, slots=True)
class WebhookSpec:
    """One call a stub makes after it answered (webhookspec.py reads it, webhooks.py makes it)."""

    url: str
    method: str = "POST"
    delay_ms: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    # With the stub's template: true: the URL, header values and body, compiled.
    url_template: Piece | str | None = None
    template: ResponseTemplate | None = None
    # Why this call is not made (a template failed, a rendered URL is refused): journaled.
    refused: str | None = None


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
    # Where the stub begins in its file (None: admin stubs, HAR...): shown, never compared.
    line: int | None = field(default=None, compare=False)
    # The stub as written, as compact JSON: a tenth of the memory of the parsed mapping, and
    # only the admin API and the drift check read it.
    definition_json: bytes = field(default=b"{}", compare=False, repr=False)
    # ``responses:`` in turn: the n-th matching request gets the n-th, then the last repeats.
    responses: tuple[ResponseSpec, ...] = ()
    # Calls made after the answer was sent (webhooks.py); none for most stubs.
    webhooks: tuple[WebhookSpec, ...] = ()
    # Messages published after the answer was sent (response publish:, mockserver/messaging/).
    publishes: tuple[MessageSpec, ...] = ()
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
    amqp: tuple[AmqpSpec, ...] = ()  # each file's amqp: section (messaging doubles)


@dataclass(frozen=True, slots=True)
class StubSet:
    """A complete, validated set of services and stubs: what one snapshot serves."""

    services: Mapping[str, ServiceSpec]
    stubs: Sequence[Stub]

    def stubs_of(self, service: str) -> list[Stub]:
        return [s for s in self.stubs if s.service == service]


# -- messaging (amqp: in a stub file, publish: on a response; core/amqpspec.py reads them,
# mockserver/messaging/ runs them) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExchangeSpec:
    name: str
    type: str
    durable: bool = False


@dataclass(frozen=True, slots=True)
class BindingSpec:
    exchange: str
    routing_key: str = ""
    arguments: tuple[tuple[str, str], ...] = ()  # a headers exchange's (x-match, ...)


@dataclass(frozen=True, slots=True)
class MessageMatch:
    """What a consumed message must hold; every part is optional."""

    body: tuple[Pattern, ...] = ()
    headers: tuple[tuple[str, Pattern], ...] = ()
    properties: tuple[tuple[str, Pattern], ...] = ()


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """One message to publish: a consumer's reply or an HTTP answer's ``publish:``.

    ``exchange`` None (a reply only) sends it to the consumed message's ``reply_to``."""

    exchange: str | None
    routing_key: str
    body: bytes = b""
    properties: tuple[tuple[str, str | int], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    delay_ms: int = 0
    # template: true: the routing key, header values and body, compiled (templates.py)
    key_template: Piece | str | None = None
    template: ResponseTemplate | None = None
    # Why it is not sent (its template failed): journaled instead.
    refused: str | None = None


@dataclass(frozen=True, slots=True)
class ConsumerSpec:
    id: str
    queue: str
    bindings: tuple[BindingSpec, ...]
    match: MessageMatch | None = None
    reply: MessageSpec | None = None


@dataclass(frozen=True, slots=True)
class AmqpSpec:
    """One stub file's broker, exchanges and consumers."""

    url: str | None  # None: MOCKSERVER_AMQP_URL
    exchanges: tuple[ExchangeSpec, ...] = ()
    consumers: tuple[ConsumerSpec, ...] = ()
    source: str = ""
