"""``GET /__admin/events``: the journal as server-sent events, the recent entries first, then
the entries recorded since, a batch at a time.

Nothing is done per request while nobody listens: the journal checks an empty listener tuple
(core/journal.py). With a page open, a request costs one deque append; the stream wakes every
``FLUSH_S`` and sends what has gathered as one event of compact rows (lists in ``FIELDS``
order, one ``json.dumps`` for the batch), so a busy server writes ten times a second, not once
per request.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any, Final

from aiohttp import hdrs, web

from mockserver.core.journal import Journal, JournalEntry
from mockserver.core.secretnames import redacted_query_string
from mockserver.server.admin_call import AdminCall, AdminRefusal
from mockserver.server.limits import GuardedRequestHandler

__all__ = [
    "BACKLOG",
    "FIELDS",
    "MAX_MATCHED_ROWS",
    "MAX_STREAMS",
    "QUEUE_SIZE",
    "Subscription",
    "batches",
    "events",
    "row",
    "thinned",
]

BACKLOG: Final = 500  # entries sent on connecting, oldest first
QUEUE_SIZE: Final = 20_000  # entries a page may fall behind before its stream is ended
MAX_STREAMS: Final = 32  # pages watching one journal at once
FLUSH_S: Final = 0.1  # what gathered is sent this often: well within a second of the request
KEEPALIVE_S: Final = 10.0  # a comment line this often when idle, so a proxy keeps the stream
# Matched rows sent in one flush at most (2,000 a second): the page lists 2,000 rows, and a
# person reads far fewer; past it, the newest are sent with a count of the others, so a page
# costs the server little however fast requests come. Unmatched and failed rows always go.
MAX_MATCHED_ROWS: Final = 200
# A row's values, in order: the list and its filters (the detail is GET /requests/{seq}).
FIELDS: Final = (
    "seq",
    "at",
    "method",
    "path",
    "query",
    "status",
    "stub",
    "service",
    "fault",
    "error",
)


def row(entry: JournalEntry) -> list[Any]:
    """An entry as the page's list shows it: the query string as sent with secret-named values
    redacted (as the request log shows it: a tenth of the cost of parsing it, per request
    while a page watches), the time in epoch milliseconds."""
    query = redacted_query_string(entry.query_string) if entry.query_string else None
    return [
        entry.seq,
        round(entry.at * 1000),
        entry.method,
        entry.path,
        query,
        entry.status,
        entry.stub_id,
        entry.service,
        entry.fault,
        entry.error,
    ]


def _event(kind: str, data: Any) -> bytes:
    # json.dumps leaves no newline in its output, so one data line carries the event.
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def thinned(items: list[JournalEntry | None]) -> tuple[list[JournalEntry | None], int]:
    """``items`` with all but the newest ``MAX_MATCHED_ROWS`` matched entries left out, and
    how many were: clears, unmatched and failed entries are all kept, in order."""
    matched = [i for i, item in enumerate(items) if item is not None and _plain(item)]
    if len(matched) <= MAX_MATCHED_ROWS:
        return items, 0
    dropped = set(matched[:-MAX_MATCHED_ROWS])
    return [item for i, item in enumerate(items) if i not in dropped], len(dropped)


def _plain(entry: JournalEntry) -> bool:
    return entry.stub_id is not None and entry.error is None and entry.fault is None


def batches(items: list[JournalEntry | None], skipped: int = 0) -> bytes:
    """Entries as ``entries`` events, a clear (None) as a ``cleared`` event, in order; then
    ``skipped`` matched entries left out as a ``skipped`` event."""
    out: list[bytes] = []
    rows: list[list[Any]] = []
    for item in items:
        if item is not None:
            rows.append(row(item))
            continue
        if rows:
            out.append(_event("entries", rows))
            rows = []
        out.append(_event("cleared", {}))
    if rows:
        out.append(_event("entries", rows))
    if skipped:
        out.append(_event("skipped", {"count": skipped}))
    return b"".join(out)


class Subscription:
    """One stream's pending entries, appended by the journal on whatever thread records (a
    deque's append and popleft are atomic), taken by the stream's task."""

    __slots__ = ("lagged", "pending")

    def __init__(self) -> None:
        self.pending: deque[JournalEntry | None] = deque()
        self.lagged = False

    def __call__(self, entry: JournalEntry | None) -> None:
        if len(self.pending) < QUEUE_SIZE:
            self.pending.append(entry)
        else:
            self.lagged = True  # the stream ends; the page reconnects and reads the backlog

    def take(self) -> list[JournalEntry | None]:
        pending = self.pending
        return [pending.popleft() for _ in range(len(pending))]


def _left(request: web.BaseRequest) -> bool:
    """The page hung up: the connection is gone, or its sending side closed (the guard keeps
    such a connection open to answer what was asked; a stream would wait forever)."""
    guard = request.protocol
    return request.transport is None or (
        isinstance(guard, GuardedRequestHandler) and guard.half_closed
    )


async def events(call: AdminCall) -> web.StreamResponse:
    """The live journal of this namespace's store, until the page or the server leaves."""
    journal: Journal = call.state.store.journal
    if journal.listening >= MAX_STREAMS:
        raise AdminRefusal(
            429, "too many live streams", f"{MAX_STREAMS} pages already watch this journal"
        )
    request = call.request
    response = web.StreamResponse(
        headers={
            hdrs.CONTENT_TYPE: "text/event-stream",
            hdrs.CACHE_CONTROL: "no-store",
            "X-Accel-Buffering": "no",  # a proxy in front must not hold the stream back
        }
    )
    subscription = Subscription()
    # Listening before the backlog is read, in one step of the loop: no entry falls between.
    stop = journal.listen(subscription)
    backlog: list[JournalEntry | None] = [*journal.entries()[-BACKLOG:]]
    closing = asyncio.ensure_future(call.state.closing.wait())
    try:
        await response.prepare(request)
        hello = {"journal_size": journal.max_entries, "fields": FIELDS}
        await response.write(_event("hello", hello) + batches(backlog))
        quiet = 0.0
        while not subscription.lagged:
            await asyncio.wait((closing,), timeout=FLUSH_S)
            if closing.done() or _left(request):
                break
            if subscription.pending:
                await response.write(batches(*thinned(subscription.take())))
                quiet = 0.0
            elif (quiet := quiet + FLUSH_S) >= KEEPALIVE_S:
                await response.write(b": keep-alive\n\n")
                quiet = 0.0
        if subscription.lagged:
            await response.write(_event("lagged", {"queued": QUEUE_SIZE}))
    except ConnectionResetError:
        pass  # the page left
    finally:
        stop()
        closing.cancel()
    return response
