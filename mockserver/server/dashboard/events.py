"""``GET /__admin/events``: the journal as server-sent events, the recent entries first, then
each entry as it is recorded.

Nothing is done per request while nobody listens: the journal checks an empty listener tuple
(core/journal.py). A stream's listener only queues the entry; the stream's own task turns what
has queued into one write, so a busy server costs a listener a put per request and a page a
write per batch.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, Final

from aiohttp import hdrs, web

from mockserver.core.journal import Journal, JournalEntry
from mockserver.server.admin_call import AdminCall, AdminRefusal
from mockserver.server.limits import GuardedRequestHandler

__all__ = ["BACKLOG", "MAX_STREAMS", "QUEUE_SIZE", "events", "summary"]

BACKLOG: Final = 500  # entries sent on connecting, newest last
QUEUE_SIZE: Final = 5000  # entries a slow page may fall behind before its stream is ended
MAX_STREAMS: Final = 32  # pages watching one journal at once
KEEPALIVE_S: Final = 10.0  # a comment line this often when idle, so a proxy keeps the stream
WATCH_S: Final = 0.5  # how often an idle stream looks whether its page has left


def summary(entry: JournalEntry) -> dict[str, Any]:
    """An entry's row: what the list shows and filters on (the detail is GET /requests/{seq})."""
    query, _ = entry.view().shown_fields() if entry.query_string else ({}, None)
    return {
        "seq": entry.seq,
        "at": round(entry.at * 1000),
        "method": entry.method,
        "path": entry.path,
        "query": query,
        "status": entry.status,
        "stub": entry.stub_id,
        "service": entry.service,
        "matched": entry.matched,
        "fault": entry.fault,
        "error": entry.error,
    }


def _event(kind: str, data: Any) -> bytes:
    # json.dumps leaves no newline in its output, so one data line carries the event.
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class _Subscription:
    """One stream's queue of entries, fed by the journal on whatever thread records."""

    __slots__ = ("lagged", "loop", "queue", "thread")

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.thread = threading.get_ident()
        self.queue: asyncio.Queue[JournalEntry | None] = asyncio.Queue(QUEUE_SIZE)
        self.lagged = False

    def __call__(self, entry: JournalEntry | None) -> None:
        if threading.get_ident() == self.thread:
            self._put(entry)
        else:  # an offline double or a test recording from its own thread
            self.loop.call_soon_threadsafe(self._put, entry)

    def _put(self, entry: JournalEntry | None) -> None:
        try:
            self.queue.put_nowait(entry)
        except asyncio.QueueFull:
            self.lagged = True  # the stream ends; the page reconnects and reads the backlog

    def drain(self, first: JournalEntry | None) -> bytes:
        items = [first]
        while not self.queue.empty():
            items.append(self.queue.get_nowait())
        chunks = []
        for item in items:
            chunks.append(_event("cleared", {}) if item is None else _event("entry", summary(item)))
        return b"".join(chunks)


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
            429,
            "too many live streams",
            f"{MAX_STREAMS} pages already watch this journal; close one",
        )
    request = call.request
    response = web.StreamResponse(
        headers={
            hdrs.CONTENT_TYPE: "text/event-stream",
            hdrs.CACHE_CONTROL: "no-store",
            "X-Accel-Buffering": "no",  # a proxy in front must not hold the stream back
        }
    )
    subscription = _Subscription()
    # Listening before the backlog is read, in one step of the loop: no entry falls between.
    stop = journal.listen(subscription)
    backlog = journal.entries()[-BACKLOG:]
    closing = asyncio.ensure_future(call.state.closing.wait())
    getter: asyncio.Future[JournalEntry | None] | None = None
    try:
        await response.prepare(request)
        hello = {"journal_size": journal.max_entries, "backlog": len(backlog)}
        await response.write(
            _event("hello", hello) + b"".join(_event("entry", summary(e)) for e in backlog)
        )
        quiet = 0.0
        while not subscription.lagged:
            getter = getter or asyncio.ensure_future(subscription.queue.get())
            done, _ = await asyncio.wait(
                (getter, closing), timeout=WATCH_S, return_when=asyncio.FIRST_COMPLETED
            )
            if getter in done:
                await response.write(subscription.drain(getter.result()))
                getter, quiet = None, 0.0
            elif closing in done or _left(request):
                break
            elif (quiet := quiet + WATCH_S) >= KEEPALIVE_S:
                await response.write(b": keep-alive\n\n")
                quiet = 0.0
        if subscription.lagged:
            await response.write(_event("lagged", {"queued": QUEUE_SIZE}))
    except ConnectionResetError:
        pass  # the page left
    finally:
        stop()
        closing.cancel()
        if getter is not None:
            getter.cancel()
    return response
