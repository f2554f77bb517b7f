"""The scenarios' admin routes: ``GET /__admin/scenarios``, ``PUT /__admin/scenarios/{name}``
(``{"state": "..."}``), ``POST /__admin/scenarios/reset``. Each namespace has its own states."""

from __future__ import annotations

from aiohttp import web

from mockserver.core.scenarios import NAME, ScenarioStates
from mockserver.server.admin_call import AdminCall, AdminRefusal

__all__ = ["list_scenarios", "put_state", "read_states", "reset_scenarios", "set_scenario"]


async def read_states(call: AdminCall) -> ScenarioStates:
    """The scenarios' states: with ``--state redis``, read anew from Redis."""
    store = call.state.store
    if call.state.steps is not None:
        await call.state.steps.sync(call.state.namespace, store, fresh=True)
    return store.scenarios


async def put_state(call: AdminCall, name: str | None, state: str | None) -> None:
    """Move ``name`` to ``state`` (None: back to started; ``name`` None: every scenario back):
    with ``--state redis``, in Redis, for every replica.

    Raises:
        StoreUnavailable: Redis is gone (nothing moved).
    """
    steps, store = call.state.steps, call.state.store
    if steps is None:
        store.scenarios.put(name, state)
    else:
        await steps.set_state(call.state.namespace, store, name, state)


async def list_scenarios(call: AdminCall) -> web.StreamResponse:
    states = await read_states(call)
    return web.json_response(
        {"scenarios": states.listing(call.state.store.snapshot.scenario_names)}
    )


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
    await put_state(call, name, state)
    return web.json_response({"name": name, "state": state})


async def reset_scenarios(call: AdminCall) -> web.StreamResponse:
    await put_state(call, None, None)
    states = call.state.store.scenarios
    return web.json_response(
        {"scenarios": states.listing(call.state.store.snapshot.scenario_names)}
    )
