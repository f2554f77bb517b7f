"""The admin routes the dashboard reads beside the documented ones: the live journal, one
journaled request by its number, and the resources' live items. Each needs the token as every
admin route does; ``serve --workers`` answers them 409 (each worker keeps its own journal)."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from mockserver.server.admin_call import AdminCall, AdminRefusal, Route, compile_routes
from mockserver.server.dashboard.events import events

__all__ = ["DASHBOARD_ROUTES", "single_process_only"]


async def request_detail(call: AdminCall) -> web.StreamResponse:
    raw = call.params["seq"]
    seq = int(raw) if raw.isdigit() and len(raw) < 20 else -1
    for entry in reversed(call.state.store.journal.entries()):
        if entry.seq == seq:
            return web.json_response(entry.as_dict())
    raise AdminRefusal(
        404,
        "no such request",
        f"request {raw!r} is not in the journal (it holds the last "
        f"{call.state.store.journal.max_entries}; a reset or a clear empties it)",
    )


async def resources(call: AdminCall) -> web.StreamResponse:
    store = call.state.store
    found = [
        {
            "service": state.service,
            "path": state.spec.path,
            "id_field": state.spec.id_field,
            "items": len(state.items),
            "bytes": state.size,
        }
        for states in store.resources.values()
        for state in states
    ]
    return web.json_response({"resources": found})


DASHBOARD_ROUTES: Final[list[tuple[str, str, Route]]] = [
    ("GET", "/events", events),
    ("GET", "/requests/{seq}", request_detail),
    ("GET", "/resources", resources),
]

_COMPILED: Final = compile_routes(DASHBOARD_ROUTES)


def single_process_only(method: str, sub: str) -> bool:
    """A dashboard route that reads one process's state (refused under ``--workers``).

    A request's number is digits: ``/requests/unmatched`` is the documented route, which the
    workers' coordinator merges."""
    if method != "GET":
        return False
    for _, pattern, _ in _COMPILED:
        found = pattern.match(sub)
        if found is not None and all(value.isdigit() for value in found.groupdict().values()):
            return True
    return False
