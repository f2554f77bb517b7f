"""The scenarios' admin routes: ``GET /__admin/scenarios``, ``PUT /__admin/scenarios/{name}``
(``{"state": "..."}``), ``POST /__admin/scenarios/reset``. Each namespace has its own states."""

from __future__ import annotations

from aiohttp import web

from mockserver.core.scenarios import NAME
from mockserver.server.admin import AdminCall, AdminRefusal

__all__ = ["list_scenarios", "reset_scenarios", "set_scenario"]


async def list_scenarios(call: AdminCall) -> web.StreamResponse:
    store = call.state.store
    listing = store.scenarios.listing(store.snapshot.scenario_names)
    return web.json_response({"scenarios": listing})


async def set_scenario(call: AdminCall) -> web.StreamResponse:
    name = call.params["name"]
    store = call.state.store
    if name not in store.snapshot.scenario_names:
        known = ", ".join(sorted(store.snapshot.scenario_names)) or "none"
        raise AdminRefusal(
            404, "no such scenario", f"no stub names scenario {name!r}; the scenarios: {known}"
        )
    raw = await call.json()
    state = raw.get("state") if isinstance(raw, dict) else None
    if not isinstance(state, str) or not NAME.match(state):
        raise AdminRefusal(
            422,
            "invalid state",
            'send {"state": "<name>"}: 1-128 letters, digits, spaces or . _ : ~ -',
        )
    store.scenarios.move(name, state)
    return web.json_response({"name": name, "state": state})


async def reset_scenarios(call: AdminCall) -> web.StreamResponse:
    store = call.state.store
    store.scenarios.reset()
    return web.json_response({"scenarios": store.scenarios.listing(store.snapshot.scenario_names)})
