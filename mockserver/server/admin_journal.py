"""The journal's admin routes: the requests received, the unmatched ones, counts by pattern,
and the webhooks sent."""

from __future__ import annotations

from aiohttp import web

from mockserver.core.errors import StubFileError
from mockserver.server.admin_call import AdminCall, AdminRefusal, invalid
from mockserver.stubfiles.stubinput import parse_pattern_input

__all__ = ["clear_requests", "count", "list_requests", "unmatched", "webhooks"]


async def list_requests(call: AdminCall) -> web.StreamResponse:
    journal = call.state.store.journal
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
    call.state.store.journal.clear(hits=False)
    return web.json_response({"status": "cleared"})


async def unmatched(call: AdminCall) -> web.StreamResponse:
    journal = call.state.store.journal
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
    try:
        found = journal.count(spec, call.state.settings.match_budget_ms / 1000)
    except RecursionError:  # a deep pattern against a deep journaled body
        raise AdminRefusal(
            422, "pattern too deep", "the pattern nests too deeply to compare with the journal"
        ) from None
    return web.json_response({"count": found})
