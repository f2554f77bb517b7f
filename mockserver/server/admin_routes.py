"""The admin API's route table, and the routes about the server as a whole: health, services,
reset, reload and the API's own OpenAPI document."""

from __future__ import annotations

import asyncio
from typing import Final
from urllib.parse import urlsplit

from aiohttp import web

from mockserver.core.version import __version__
from mockserver.server import stub_writes
from mockserver.server.admin_call import AdminCall, AdminRefusal, Route, compile_routes
from mockserver.server.admin_journal import (
    clear_journal,
    clear_requests,
    count,
    list_requests,
    unmatched,
    webhooks,
)
from mockserver.server.admin_messages import count_messages, list_messages, publish_message
from mockserver.server.admin_openapi import openapi_document
from mockserver.server.admin_stubs import (
    add_stubs,
    delete_stub,
    get_stub,
    list_stubs,
    put_stub,
    put_stubs,
)
from mockserver.server.dashboard.routes import DASHBOARD_ROUTES
from mockserver.server.loop import loop_name
from mockserver.server.reload import reload_files
from mockserver.server.scenario_admin import list_scenarios, reset_scenarios, set_scenario

__all__ = ["COMPILED", "ROUTES"]


async def health(call: AdminCall) -> web.StreamResponse:
    store, shared = call.state.store, call.state.shared
    snapshot = store.snapshot
    return web.json_response(
        {
            "status": "ok",
            "version": __version__,
            "loop": loop_name(),
            "services": len(snapshot.stubs.services),
            "stubs": len(snapshot.stubs.stubs),
            "journal": {"size": len(store.journal), "max": store.journal.max_entries},
            "last_reload": store.last_reload.as_dict(),
            **({"amqp": messaging.health()} if (messaging := call.state.messaging) else {}),
            # Still "ok" while Redis is gone: static stubs and cached runtime stubs serve, so
            # a readiness probe keeps the replica in its Service (docs/staging.md).
            "state": shared.health() if shared is not None else {"store": "memory"},
        }
    )


async def services(call: AdminCall) -> web.StreamResponse:
    state = call.state
    snapshot = state.store.snapshot
    counts: dict[str, int] = {}
    for stub in snapshot.stubs.stubs:
        counts[stub.service] = counts.get(stub.service, 0) + 1
    result = []
    for name, spec in snapshot.stubs.services.items():
        url = state.base_urls.get(name, state.main_url)
        result.append(
            {
                "name": name,
                "port": urlsplit(url).port if url else None,
                "declared_port": spec.port,
                "url": url,
                "stubs": counts.get(name, 0),
                "upstream": spec.upstream,
                "sources": list(spec.sources),
            }
        )
    return web.json_response({"services": result})


async def reset(call: AdminCall) -> web.StreamResponse:
    store = call.state.store
    await stub_writes.reset(call.state)
    if call.state.shared is not None:  # and what the replicas' queues held from before
        await clear_journal(call, hits=True)
    return web.json_response({"status": "reset", "stubs": len(store.snapshot.stubs.stubs)})


async def reload(call: AdminCall) -> web.StreamResponse:
    state = call.state
    if state.shared is not None:  # every replica reloads, or none: Redis first
        await state.shared.run(lambda client: client.ping())
    # Shielded: a client that hangs up (its handler is cancelled) must not stop a reload
    # between the swap and the opening of the new set's ports.
    problems = await asyncio.shield(
        reload_files(
            state.store,
            state.settings.paths,
            state.reload_lock,
            state.after_reload,
            freeze_gc=state.settings.freeze_gc,
        )
    )
    if problems:
        raise AdminRefusal(
            422,
            "reload failed; the previous stubs are still served",
            "\n".join(str(p) for p in problems),
            problems=[p.as_dict() for p in problems],
        )
    if state.shared_stubs is not None:  # every replica reloads its files
        await state.shared_stubs.reloaded()
    stubs = state.store.snapshot.stubs
    return web.json_response(
        {"status": "reloaded", "services": len(stubs.services), "stubs": len(stubs.stubs)}
    )


async def openapi(call: AdminCall) -> web.StreamResponse:
    return web.json_response(openapi_document())


ROUTES: Final[list[tuple[str, str, Route]]] = [
    ("GET", "/health", health),
    ("GET", "/services", services),
    ("GET", "/stubs", list_stubs),
    ("POST", "/stubs", add_stubs),
    ("PUT", "/stubs", put_stubs),
    ("GET", "/stubs/{id}", get_stub),
    ("PUT", "/stubs/{id}", put_stub),
    ("DELETE", "/stubs/{id}", delete_stub),
    ("POST", "/reset", reset),
    ("POST", "/reload", reload),
    ("GET", "/requests", list_requests),
    ("DELETE", "/requests", clear_requests),
    ("GET", "/requests/unmatched", unmatched),
    ("GET", "/webhooks", webhooks),
    ("GET", "/scenarios", list_scenarios),
    ("POST", "/scenarios/reset", reset_scenarios),
    ("PUT", "/scenarios/{name}", set_scenario),
    ("POST", "/requests/count", count),
    ("GET", "/messages", list_messages),
    ("POST", "/messages/count", count_messages),
    ("POST", "/messages/publish", publish_message),
    ("GET", "/openapi.json", openapi),
]


# The dashboard's routes are answered too, but kept out of ROUTES (the documented API):
# the live journal is a stream, not a JSON answer (dashboard/routes.py).
COMPILED: Final = compile_routes(ROUTES + DASHBOARD_ROUTES)
