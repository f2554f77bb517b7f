"""Record and spy modes: forward to real services, answer with what they said, keep a copy.

``record`` forwards every request on a target's port; ``serve --spy`` forwards only what no
stub matched, to the service's ``upstream:``. With a recorder, each exchange is kept (secrets
redacted) and written as stub files when the server stops, or on ``flush()``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlencode

from aiohttp import hdrs, web

from mockserver.core.config import RecordMode, Settings
from mockserver.core.headernames import lowered
from mockserver.core.journal import Journal
from mockserver.core.model import ServiceSpec, StubSet
from mockserver.core.request import RequestView
from mockserver.output.logs import log_request
from mockserver.recording.exchange import Exchange, Redaction, decode_body
from mockserver.recording.proxy import (
    MAX_UPSTREAM_BODY,
    Upstream,
    UpstreamError,
    UpstreamSettings,
)
from mockserver.recording.representations import head_with_body, with_identity_tag
from mockserver.recording.writer import Recorder

__all__ = ["Forwarding", "Recorder"]

log = logging.getLogger("mockserver")


@dataclass(slots=True)
class Forwarding:
    """Which listener forwards to which upstream, and whether everything goes there."""

    upstreams: dict[int | None, tuple[str, Upstream]]  # listener → (service, upstream)
    record_all: bool
    redaction: Redaction = field(default_factory=Redaction)
    recorder: Recorder | None = None
    # ``--openapi``: how an answer breaks the document (method, path, status, Content-Type,
    # decoded body → messages), and the document's name; built above, by the server.
    answer_check: Callable[[str, str, int, str | None, bytes], list[str]] | None = None
    document: str = ""
    broken: dict[str, int] = field(default_factory=dict)  # service → answers that broke it

    def target(self, listener: int | None) -> tuple[str, Upstream] | None:
        return self.upstreams.get(listener)

    async def close(self) -> None:
        for _, upstream in self.upstreams.values():
            await upstream.close()

    def journal_view(self, view: RequestView) -> RequestView:
        """The request as the journal may keep it: secrets replaced (body JSON paths too)."""
        query = urlencode(self.redaction.query_pairs(_pairs(view)), doseq=True)
        body = self.redaction.json_body(view.body)
        headers = self.redaction.header_pairs(view.header_items)
        return RequestView(view.method, view.path, query, headers, body)

    async def forward(
        self,
        request: web.BaseRequest,
        listener: int | None,
        view: RequestView,
        journal: Journal,
    ) -> web.Response | None:
        """Answer from the upstream of ``listener``; None when it has none."""
        found = self.target(listener)
        if found is None:
            return None
        service, upstream = found
        safe_view = self.journal_view(view)
        # The target as received, except an absolute-form one (``GET http://other/x``), which
        # keeps only its path: the upstream is the service's, never one a client names.
        target = request.raw_path
        if not target.startswith("/"):
            target = request.rel_url.raw_path_qs
        try:
            exchange = await upstream.forward(
                view.method, target, view.path, view.query_string, view.header_items, view.body
            )
        except UpstreamError as exc:
            journal.record(
                safe_view,
                service=service,
                stub_id=None,
                status=exc.status,
                listener=listener,
                # So a strict failure says why, not "no stub came near" (issue 14).
                error=f"{exc.body()['error']} at {exc.target}: {exc.detail}",
            )
            log.warning("%s %s: %s (%s)", view.method, view.path, exc.body()["error"], exc.detail)
            return web.json_response(exc.body(), status=exc.status)
        if self.answer_check is not None:
            self._check_answer(service, view, exchange)
        if self.recorder is not None:
            recorded = await _whole(upstream, exchange, target, view)
            if recorded is not None:
                self.recorder.add(service, upstream.base_url, recorded)
        journal.record(
            safe_view,
            service=service,
            stub_id=f"upstream:{service}",
            status=exchange.status,
            listener=listener,
        )
        if log.isEnabledFor(logging.INFO):  # logged like any answered request, redacted
            log_request(log, safe_view, exchange.status, f"upstream:{service}", None)
        return web.Response(
            status=exchange.status,
            reason=exchange.reason or None,
            body=exchange.response_body,
            headers=exchange.response_headers,
        )

    def _check_answer(self, service: str, view: RequestView, exchange: Exchange) -> None:
        """Log each way the answer breaks the document: it is still passed on and recorded,
        a recorder must not hide what the service does."""
        assert self.answer_check is not None
        coding = exchange.response_header("content-encoding")
        try:
            body = decode_body(exchange.response_body, coding, MAX_UPSTREAM_BODY)
        except ValueError as exc:
            log.warning(
                "%s %s: not checked against %s: %s", view.method, view.path, self.document, exc
            )
            return
        found = self.answer_check(
            view.method, view.path, exchange.status, exchange.response_header("content-type"), body
        )
        if found:
            self.broken[service] = self.broken.get(service, 0) + 1
        for message in found:
            log.warning(
                "%s %s -> %d breaks %s: %s",
                view.method,
                view.path,
                exchange.status,
                self.document,
                message,
            )


# What made the service answer with part of a representation, or with none (206, 304, 412, 416).
_PARTIAL_ASKS: Final = lowered(
    hdrs.RANGE,
    hdrs.IF_RANGE,
    hdrs.IF_MATCH,
    hdrs.IF_NONE_MATCH,
    hdrs.IF_MODIFIED_SINCE,
    hdrs.IF_UNMODIFIED_SINCE,
)


async def _whole(
    upstream: Upstream,
    exchange: Exchange,
    target: str,
    view: RequestView,
) -> Exchange | None:
    """What to record for ``exchange``: itself, or for a 206/304/412/416 to a GET, the whole
    representation, asked for once without the Range and conditions. Replay serves ranges and
    conditions from it (ranges.py, render.choose); recorded as it came, a slice or an empty
    304 would be the answer to every plain GET (issue 16). A HEAD gets the GET's body and a
    coded answer the service's strong tag (representations.py)."""
    if view.method == "HEAD":  # with the GET's body, for its length (representations.py)
        return await head_with_body(
            upstream, exchange, target, view.query_string, view.header_items
        )
    if view.method != "GET":
        return exchange
    headers = view.header_items
    plain = tuple((k, v) for k, v in headers if k.lower() not in _PARTIAL_ASKS)
    # A partial answer the service chose by itself (no Range or condition asked) is as it came.
    if exchange.status in (206, 304, 412, 416) and len(plain) < len(headers):
        try:
            whole = await upstream.forward("GET", target, view.path, view.query_string, plain, b"")
        except UpstreamError as exc:
            log.warning(
                "GET %s: not recorded: the whole representation could not be fetched (%s)",
                view.path,
                exc.detail,
            )
            return None
        exchange = whole if 200 <= whole.status < 300 else exchange
    return await with_identity_tag(upstream, exchange, target, view.query_string, plain)


def _pairs(view: RequestView) -> list[tuple[str, str]]:
    return [(k, v) for k, values in view.query.items() for v in values]


def spy_forwarding(stubs: StubSet, settings: Settings) -> Forwarding:
    """Spy mode: each listener forwards misses to the upstream of its one service that has
    one (a port shared by several services with upstreams cannot tell which to ask).

    In RecordMode.ALL every request to those services is forwarded (re-recording them).
    """
    by_listener: dict[int | None, list[ServiceSpec]] = {}
    for service in stubs.services.values():
        if service.upstream:
            by_listener.setdefault(service.port, []).append(service)
    redaction = Redaction().extended(settings.redact)
    upstreams: dict[int | None, tuple[str, Upstream]] = {}
    for listener, found in by_listener.items():
        if len(found) > 1:
            names = ", ".join(s.name for s in found)
            log.warning("--spy: services %s share a port; none of them is forwarded", names)
            continue
        service = found[0]
        assert service.upstream is not None
        timeouts = UpstreamSettings(settings.upstream_connect_timeout, settings.upstream_timeout)
        upstream = Upstream(service.name, service.upstream, timeouts)
        upstreams[listener] = (service.name, upstream)
    recorder = None
    record_all = settings.record is RecordMode.ALL
    if settings.record.writes:
        fallback = next((Path(p) for p in settings.paths if Path(p).is_dir()), Path("."))
        out_dirs = {name: _home(stubs.services[name], fallback) for name, _ in upstreams.values()}
        recorder = Recorder(
            out_dirs,
            redaction,
            suffix=".recorded",
            mode="all" if record_all else "new",
            session=settings.record_session or uuid.uuid4().hex,
        )
    return Forwarding(upstreams, record_all=record_all, redaction=redaction, recorder=recorder)


def _home(service: ServiceSpec, fallback: Path) -> Path:
    """The directory of a service's first stub file, where its recordings go."""
    for source in service.sources:
        path = Path(source)
        if path.is_file():
            return path.parent
    return fallback
