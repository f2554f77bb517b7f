"""The journal's admin routes: the requests received, the unmatched ones, counts by pattern,
and the webhooks sent.

With ``--state redis`` they read the journal every replica shares (journal_of), so a request
answered by another replica is listed and counted here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from mockserver.core.errors import StubFileError
from mockserver.core.journal import Journal
from mockserver.server.admin_call import AdminCall, AdminRefusal, invalid
from mockserver.stubfiles.stubinput import parse_pattern_input

if TYPE_CHECKING:
    from mockserver.state.journal_stream import SharedJournal
    from mockserver.state.redis import StoreUnavailable

__all__ = [
    "clear_journal",
    "clear_requests",
    "count",
    "journal_of",
    "list_requests",
    "unmatched",
    "webhooks",
]


def _shared(call: AdminCall) -> SharedJournal | None:
    """The call's journal when replicas share it (``--state redis``), else None."""
    if call.state.shared is None:  # memory: no redis-py import, no await on the way
        return None
    from mockserver.state.journal_stream import SharedJournal

    journal = call.state.store.journal
    return journal if isinstance(journal, SharedJournal) else None


async def journal_of(call: AdminCall, *, entries: bool = True) -> Journal:
    """The journal an admin call reads: this process's, or (``--state redis``) what every
    replica journaled, read from the store (``entries=False``: its counts alone).

    Raises:
        AdminRefusal: 503 naming the store, while Redis cannot be reached.
    """
    shared = _shared(call)
    if shared is None:
        return call.state.store.journal
    from mockserver.state.redis import StoreUnavailable

    try:
        return await shared.shared(entries=entries)
    except StoreUnavailable as exc:
        raise _unavailable(exc) from None


async def clear_journal(call: AdminCall, *, hits: bool = False) -> None:
    """Empty the journal (and the hit counts, with ``hits``): on every replica with
    ``--state redis``, where what their queues still hold from before is dropped too."""
    shared = _shared(call)
    if shared is None:
        call.state.store.journal.clear(hits=hits)
        return
    from mockserver.state.redis import StoreUnavailable

    try:
        await shared.clear_shared(hits=hits)
    except StoreUnavailable as exc:
        raise _unavailable(exc) from None


def _unavailable(exc: StoreUnavailable) -> AdminRefusal:
    problem = exc.problem()
    return AdminRefusal(problem.status, problem.error, problem.detail)


async def list_requests(call: AdminCall) -> web.StreamResponse:
    journal = await journal_of(call)
    offset = call.int_query("offset", 0) or 0
    limit = call.int_query("limit", None)
    entries = journal.entries(limit, offset)
    return web.json_response(
        {
            "requests": [e.as_dict() for e in entries],
            "total": len(journal),
            "offset": offset,
            "journal_size": journal.max_entries,
        }
    )


async def webhooks(call: AdminCall) -> web.StreamResponse:
    deliveries = call.state.store.deliveries.entries()
    return web.json_response({"webhooks": [d.as_dict() for d in deliveries]})


async def clear_requests(call: AdminCall) -> web.StreamResponse:
    await clear_journal(call)
    return web.json_response({"status": "cleared"})


async def unmatched(call: AdminCall) -> web.StreamResponse:
    journal = await journal_of(call)
    entries = journal.unmatched()
    # total: every unmatched request since the reset, also those the journal ring dropped.
    return web.json_response(
        {"requests": [e.as_dict() for e in entries], "total": journal.unmatched_total}
    )


async def count(call: AdminCall) -> web.StreamResponse:
    raw = await call.json()
    journal = call.state.store.journal
    if not journal.enabled:
        raise AdminRefusal(
            409,
            "journal is off",
            "counting needs the journal (--journal-size > 0); "
            "per-stub hits are in GET /__admin/stubs",
        )
    try:
        spec = parse_pattern_input(raw)
    except StubFileError as exc:
        raise invalid(exc) from None
    journal = await journal_of(call)
    try:
        found = journal.count(spec, call.state.settings.match_budget_ms / 1000)
    except RecursionError:  # a deep pattern against a deep journaled body
        raise AdminRefusal(
            422, "pattern too deep", "the pattern nests too deeply to compare with the journal"
        ) from None
    return web.json_response({"count": found})
