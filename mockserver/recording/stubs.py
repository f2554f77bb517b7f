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

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import yaml

from mockserver.core.errors import StubFileError
from mockserver.recording.exchange import RECORDED_MARK, Exchange, Redaction, redact_exchange
from mockserver.recording.specs import (
    INLINE_BODY_BYTES,
    kept_coding,
    request_key,
    request_spec,
    response_spec,
    revalidated,
    slug,
)
from mockserver.stubfiles.documents import MAX_FILE_BYTES, read_document
from mockserver.stubfiles.stubfile import parse_service

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

# Once the stub file is this full, every body over 1 KiB goes to a body file too, so that many
# mid-sized answers cannot take the file to the loader's limit.
_CROWDED_FILE_BYTES: Final = 4 * 1024 * 1024
_CROWDED_INLINE_BYTES: Final = 1024
# What the stubs of one file may take, leaving room for its header (the loader caps 10 MiB).
_FILE_ROOM: Final = MAX_FILE_BYTES - 64 * 1024
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml: ~10x faster


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
        if self.request["method"] == "HEAD":
            # A HEAD request would match the GET stub too (and take a turn of its sequence):
            # the service's own HEAD answer comes first.
            stub["priority"] = 1
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
        response, stored = response_spec(clean, self.redaction, inline, self.body_dir)
        coding = kept_coding(response)
        key = request_key(clean, self.redaction, coding)
        stub = self._stubs.get(key) or self._new_stub(clean, coding)
        answers = stub.revalidations if revalidated(clean) else stub.answers
        replaced = None
        if answers and _without_coding(answers[-1]) == _without_coding(response):
            # The same answer again, perhaps in another coding (the client accepted others):
            # one answer, offered coded when the service coded it once.
            merged = {**response, "gzip": True} if _coded(answers[-1], response) else response
            if merged == answers[-1]:
                return None, None  # the stub already says it
            response = merged
            replaced = answers.pop()
        answers.append(response)
        text = render_stub(stub.as_dict()) if self.checked else ""
        problem = check_stub(text) if self.checked else None
        room = _FILE_ROOM - self.other_bytes
        if problem is None and self._bytes - len(stub.text) + len(text) > room:
            problem = f"the stub file would pass the loader's {MAX_FILE_BYTES:,}-byte limit"
        if problem is not None:
            answers.pop()
            if replaced is not None:
                answers.append(replaced)
            return problem, None
        self._bytes += len(text) - len(stub.text)
        stub.text = text
        if key not in self._stubs:
            self._stubs[key] = stub
            self._ids.add(stub.stub_id)
        return None, stored

    def _new_stub(self, clean: Exchange, coding: str | None) -> RecordedStub:
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", self.service).strip("._-")[:60] or "svc"
        base = f"{name}-{clean.method.lower()}-{slug(clean.path)}"
        stub_id, n = base, 2
        while stub_id in self._ids:
            stub_id, n = f"{base}-{n}", n + 1
        return RecordedStub(stub_id, request_spec(clean, self.redaction, coding))

    def body_files(self) -> set[str]:
        """The body files the stubs name (relative to the stub file)."""
        return {
            response["body_file"]
            for stub in self._stubs.values()
            for response in (*stub.answers, *stub.revalidations)
            if "body_file" in response
        }

    def stubs(self) -> list[dict[str, Any]]:
        return [stub.as_dict() for stub in self._stubs.values()]

    def items(self) -> list[RecordedStub]:
        """The stubs, rendered, in recorded order."""
        return list(self._stubs.values())


def _without_coding(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "gzip"}


def _coded(*responses: dict[str, Any]) -> bool:
    return any(r.get("gzip") is True for r in responses)


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
