"""Recorded exchanges → stubs → the YAML of a recorded stub file, one exchange at a time.

Pure: a ``StubBuilder`` takes exchanges as they complete, redacts them, groups identical
requests (different answers become a ``responses:`` sequence) and renders each stub's YAML
once, when it changes, so a file written again and again costs a join, not a dump of
everything. Every stub is checked by the stub-file parser before it is kept: whatever is
recorded, ``validate`` and ``serve`` accept; an exchange the format cannot hold is refused with
the reason. A body over ``INLINE_BODY_BYTES`` is named as a ``body_file:`` (by its hash) and
handed back for the caller to write beside the stub file.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import yaml

from .documents import read_document
from .errors import StubFileError
from .http import select_encoding, without_coding_suffix
from .loader import MAX_FILE_BYTES
from .recording import (
    HOP_BY_HOP,
    MAX_DECODED_BODY,
    RECORDED_MARK,
    Exchange,
    Redaction,
    decode_body,
    hop_by_hop,
    redact_exchange,
)
from .render import encode_json
from .stubfile import parse_service

__all__ = [
    "INLINE_BODY_BYTES",
    "SESSION_MARK",
    "RecordedStub",
    "Recording",
    "StubBuilder",
    "document_text",
    "header_text",
    "render_stub",
    "service_document",
    "stubs_from_exchanges",
]

log = logging.getLogger("mockserver")

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
# A body inline reads well up to a page or so; past 64 KiB nobody reads it in the stub file,
# and YAML would spend ~0.85 s per MB writing it (and base64 grows it by a third). Such a body
# goes to a body file, as the service sent it (decoded, redacted), written once by its hash.
INLINE_BODY_BYTES: Final = 64 * 1024
# Once the stub file is this full, every body over 1 KiB goes to a body file too, so that many
# mid-sized answers cannot take the file to the loader's limit.
_CROWDED_FILE_BYTES: Final = 4 * 1024 * 1024
_CROWDED_INLINE_BYTES: Final = 1024
# What the stubs of one file may take, leaving room for its header (the loader caps 10 MiB).
_FILE_ROOM: Final = MAX_FILE_BYTES - 64 * 1024
# A request body matched as JSON is written inline (a matcher cannot be a body file): past
# this size the stub matches method, path and query only.
_MATCHED_BODY_BYTES: Final = 64 * 1024
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: ~10x faster


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
    body = exchange.request_body
    if exchange.method in _BODY_METHODS and body and len(body) <= _MATCHED_BODY_BYTES:
        value = _json_or_none(body)
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


def body_file_name(directory: str, data: bytes) -> str:
    """Where a body goes, relative to its stub file: named by its hash, so written once."""
    return f"{directory}/{hashlib.sha256(data).hexdigest()[:32]}.body"


def _response_spec(
    exchange: Exchange, redaction: Redaction, inline: int, body_dir: str
) -> tuple[dict[str, Any], tuple[str, bytes] | None]:
    """The stub's response, and the body file it names (path, bytes) when the body is large."""
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
    if as_sent:
        spec["gzip"] = False
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
        return spec, stored
    if coding and coding.strip().lower() != "identity":
        spec["gzip"] = True
    elif select_encoding(exchange.request_header("accept-encoding"), _CODINGS) in _CODINGS:
        spec["gzip"] = False
    return spec, stored


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


def render_stub(stub: Mapping[str, Any]) -> str:
    """One stub as an item of the ``stubs:`` list, as the whole document would dump it."""
    text: str = yaml.dump(
        [dict(stub)], Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100
    )
    return text


def _not_utf8(exchange: Exchange) -> str | None:
    for name, value in exchange.response_headers:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"response header {name} is not UTF-8 text"
    return None


def check_stub(item: str) -> str | None:
    """Why the stub-file parser refuses a rendered stub, or None when it loads. (The service
    name is the caller's to check: a --target's or a stub file's was checked already.)"""
    text = f"service: svc\nstubs:\n{item}"
    try:
        text.encode("utf-8")
        data, marks = read_document(text, "<recorded>")
    except UnicodeEncodeError:
        return "it holds text that is not UTF-8"
    except StubFileError as exc:
        return "; ".join(p.message for p in exc.problems)
    _, _, problems = parse_service(data, "<recorded>", "svc", lambda _: b"", marks)
    return "; ".join(f"{p.key}: {p.message}" if p.key else p.message for p in problems) or None


@dataclass(slots=True)
class RecordedStub:
    """One stub in the making: its request, its answers, and its YAML as last rendered."""

    stub_id: str
    request: dict[str, Any]
    answers: list[dict[str, Any]] = field(default_factory=list)
    # 304s that answered a client's conditional request: replay makes them from the stub's
    # etag and last_modified, so they are its answers only when it has no other.
    revalidations: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""

    def as_dict(self) -> dict[str, Any]:
        responses = self.answers or self.revalidations
        stub: dict[str, Any] = {"id": self.stub_id, "request": self.request}
        if len(responses) == 1:
            stub["response"] = responses[0]
        else:
            stub["responses"] = responses
        return stub

    def renamed(self, stub_id: str) -> str:
        """The rendered stub under another id (one another writer of the file took)."""
        return render_stub({**self.as_dict(), "id": stub_id})


@dataclass(slots=True)
class StubBuilder:
    """One service's stubs, built an exchange at a time (see the module's docstring).

    ``inline`` is the largest body written into the stub file (None: 64 KiB, 1 KiB once the
    file is crowded); ``other_bytes`` is what the rest of the file takes (stubs other writers
    wrote), for the limits; ``checked`` runs each stub through the parser.
    """

    service: str
    redaction: Redaction
    body_dir: str = "bodies"
    inline: int | None = None
    checked: bool = True
    other_bytes: int = 0
    _stubs: dict[tuple[Any, ...], RecordedStub] = field(default_factory=dict)
    _ids: set[str] = field(default_factory=set)
    _bytes: int = 0

    def add(self, exchange: Exchange) -> tuple[str | None, tuple[str, bytes] | None]:
        """Keep ``exchange``: returns (None, the body file to write if any), or (why it
        was not kept, None)."""
        clean = redact_exchange(exchange, self.redaction)
        bad = _not_utf8(clean) if self.checked else None
        if bad is not None:
            return bad, None
        inline = self.inline
        if inline is None:
            crowded = self._bytes + self.other_bytes > _CROWDED_FILE_BYTES
            inline = _CROWDED_INLINE_BYTES if crowded else INLINE_BODY_BYTES
        response, stored = _response_spec(clean, self.redaction, inline, self.body_dir)
        key = _request_key(clean)
        stub = self._stubs.get(key) or self._new_stub(clean)
        answers = stub.revalidations if _revalidated(clean) else stub.answers
        if answers and answers[-1] == response:
            return None, None  # the same answer again: the stub already says it
        answers.append(response)
        text = render_stub(stub.as_dict()) if self.checked else ""
        problem = check_stub(text) if self.checked else None
        room = _FILE_ROOM - self.other_bytes
        if problem is None and self._bytes - len(stub.text) + len(text) > room:
            problem = f"the stub file would pass the loader's {MAX_FILE_BYTES:,}-byte limit"
        if problem is not None:
            answers.pop()
            return problem, None
        self._bytes += len(text) - len(stub.text)
        stub.text = text
        if key not in self._stubs:
            self._stubs[key] = stub
            self._ids.add(stub.stub_id)
        return None, stored

    def _new_stub(self, clean: Exchange) -> RecordedStub:
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", self.service).strip("._-")[:60] or "svc"
        base = f"{name}-{clean.method.lower()}-{_slug(clean.path)}"
        stub_id, n = base, 2
        while stub_id in self._ids:
            stub_id, n = f"{base}-{n}", n + 1
        return RecordedStub(stub_id, _request_spec(clean, self.redaction))

    def stubs(self) -> list[dict[str, Any]]:
        return [stub.as_dict() for stub in self._stubs.values()]

    def items(self) -> list[RecordedStub]:
        """The stubs, rendered, in recorded order."""
        return list(self._stubs.values())


def stubs_from_exchanges(
    service: str, exchanges: Sequence[Exchange], redaction: Redaction | None = None
) -> list[dict[str, Any]]:
    """Stub dicts for ``exchanges`` in recorded order; repeats with other answers → sequences
    (every body inline and unchecked: for a file, StubBuilder moves large ones out)."""
    builder = StubBuilder(service, redaction or Redaction(), inline=1 << 62, checked=False)
    for exchange in exchanges:
        builder.add(exchange)
    return builder.stubs()


def header_text(
    upstream: str | None, note: str, now: datetime | None = None, session: str | None = None
) -> str:
    """The comment a recorded file starts with; ``session`` marks which recording session
    wrote it (so the workers of one pytest-xdist run add to each other's stubs)."""
    moment = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S UTC")
    text = (
        f"{RECORDED_MARK} from {upstream or 'an upstream'} on {moment}.\n"
        f"# Secrets were redacted. Edit freely; {note}\n"
    )
    return text + (f"{SESSION_MARK}{session}\n" if session else "")


SESSION_MARK: Final = "# Recording session: "


def document_text(
    service: str, upstream: str | None, port: int | None, items: Sequence[str], header: str
) -> str:
    """A whole recorded file from its header and the rendered stubs."""
    document: dict[str, Any] = {"service": service}
    if port is not None:
        document["port"] = port
    if upstream:
        document["upstream"] = upstream
    head: str = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return header + head + ("stubs:\n" + "".join(items) if items else "stubs: []\n")


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
    items = [render_stub(stub) for stub in stubs]
    return document_text(service, upstream, port, items, header_text(upstream, note, now))


@dataclass(slots=True)
class Recording:
    """Exchanges collected per service (a HAR import: written in one go)."""

    upstreams: dict[str, str] = field(default_factory=dict)
    exchanges: dict[str, list[Exchange]] = field(default_factory=dict)

    def add(self, service: str, upstream: str, exchange: Exchange) -> None:
        self.upstreams[service] = upstream
        self.exchanges.setdefault(service, []).append(exchange)
