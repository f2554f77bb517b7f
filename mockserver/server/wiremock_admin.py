"""WireMock's admin API under /__admin (``serve --admin-api wiremock``), in WireMock's shapes.

The mapping routes are in wiremock_mappings.py; the journal and the scenarios are here, read
from the same journal and states as mockserver's own routes. Routes WireMock's API does not
have (``/__admin/health``, ``/__admin/stubs``...) fall through to mockserver's own, so the token
rule and the host and origin checks are unchanged: they run before either.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from mockserver.core.budget import end_match_budget, start_match_budget
from mockserver.core.errors import Problem, StubFileError
from mockserver.core.journal import JournalEntry
from mockserver.core.matching import request_holds
from mockserver.core.scenarios import STARTED
from mockserver.formats.wiremock_patterns import translate_request
from mockserver.server import wiremock_mappings as mappings
from mockserver.server.admin import Dispatch
from mockserver.server.admin_call import AdminCall, AdminRefusal
from mockserver.server.admin_journal import clear_journal, journal_of
from mockserver.server.scenario_admin import put_state, read_states
from mockserver.server.wiremock_mappings import mapping_json, wiremock_error
from mockserver.stubfiles.stubinput import parse_pattern_input

if TYPE_CHECKING:
    from mockserver.server.state import ServerState

__all__ = ["wiremock_dispatch"]

Handler = Callable[[AdminCall], Awaitable[web.StreamResponse]]


def _state_out(state: str) -> str:
    return "Started" if state == STARTED else state


def _logged_request(call: AdminCall, entry: JournalEntry) -> dict[str, Any]:
    """A journaled request as WireMock logs it (secret-named headers redacted, as ours are)."""
    view = entry.view()
    query, headers = view.shown_fields()
    url = entry.path + (f"?{entry.query_string}" if entry.query_string else "")
    moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(entry.at))
    return {
        "id": f"{entry.seq}",
        "url": url,
        "absoluteUrl": call.state.main_url.rstrip("/") + url,
        "method": entry.method,
        "headers": headers,
        "queryParameters": {
            k: {"key": k, "values": v if isinstance(v, list) else [v]} for k, v in query.items()
        },
        "cookies": {k: v[0] for k, v in view.cookies.items() if v},
        "browserProxyRequest": False,
        "loggedDate": int(entry.at * 1000),
        "loggedDateString": moment + f".{int(entry.at * 1000) % 1000:03d}Z",
        "body": entry.body.decode("utf-8", "replace"),
        "bodyAsBase64": base64.b64encode(entry.body).decode("ascii"),
    }


def _serve_event(call: AdminCall, entry: JournalEntry) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": f"{entry.seq}",
        "request": _logged_request(call, entry),
        "responseDefinition": {"status": entry.status},
        "response": {"status": entry.status},
        "wasMatched": entry.matched,
    }
    stub = call.state.store.get(entry.stub_id) if entry.stub_id else None
    if stub is not None:
        event["stubMapping"] = mapping_json(call, stub)
    return event


async def list_requests(call: AdminCall) -> web.StreamResponse:
    journal = await journal_of(call)
    limit = call.int_query("limit", None)
    events = [_serve_event(call, e) for e in reversed(journal.entries())]  # newest first
    return web.json_response(
        {
            "requests": events[:limit] if limit is not None else events,
            "meta": {"total": len(journal)},
            "requestJournalDisabled": not journal.enabled,
        }
    )


async def clear_requests(call: AdminCall) -> web.StreamResponse:
    await clear_journal(call)
    return web.json_response({})


async def _found(call: AdminCall) -> list[JournalEntry]:
    raw = await call.json()
    problems: list[Problem] = []

    def sink(at: tuple[str | int, ...], message: str) -> None:
        problems.append(Problem("<admin>", message, key=".".join(map(str, at))))

    pattern = translate_request(raw, (), sink)
    if pattern is None:
        raise wiremock_error(problems)
    try:
        spec = parse_pattern_input(pattern)
    except StubFileError as exc:
        raise wiremock_error(exc.problems) from None
    journal = await journal_of(call)
    budget = start_match_budget(call.state.settings.match_budget_ms / 1000)
    try:
        return [e for e in journal.entries() if request_holds(spec, e.view())]
    finally:
        end_match_budget(budget)


async def count_requests(call: AdminCall) -> web.StreamResponse:
    return web.json_response({"count": len(await _found(call))})


async def find_requests(call: AdminCall) -> web.StreamResponse:
    found = [_logged_request(call, e) for e in await _found(call)]
    return web.json_response({"requests": found})


async def unmatched(call: AdminCall) -> web.StreamResponse:
    entries = (await journal_of(call)).unmatched()
    return web.json_response({"requests": [_logged_request(call, e) for e in entries]})


async def near_misses(call: AdminCall) -> web.StreamResponse:
    store = call.state.store
    found: list[dict[str, Any]] = []
    for entry in (await journal_of(call)).unmatched():
        for near in entry.near_misses:
            stub = store.get(near.stub)
            miss: dict[str, Any] = {
                "request": _logged_request(call, entry),
                # WireMock's distance is 0 (same) to 1; ours counts the fields that differ.
                "matchResult": {"distance": min(1.0, 0.1 * len(near.differences))},
                "mockserver": near.to_json(),
            }
            if stub is not None:
                miss["stubMapping"] = mapping_json(call, stub)
                miss["requestPattern"] = miss["stubMapping"]["request"]
            found.append(miss)
    return web.json_response({"nearMisses": found})


async def list_scenarios(call: AdminCall) -> web.StreamResponse:
    store = call.state.store
    scenarios = []
    for item in (await read_states(call)).listing(store.snapshot.scenario_names):
        states = {STARTED} | {
            value
            for stub in store.snapshot.stubs.stubs
            if stub.scenario is not None and stub.scenario.name == item["name"]
            for value in (stub.scenario.state, stub.scenario.next)
            if value is not None
        }
        scenarios.append(
            {
                "id": item["name"],
                "name": item["name"],
                "state": _state_out(item["state"]),
                "possibleStates": sorted(_state_out(s) for s in states),
            }
        )
    return web.json_response({"scenarios": scenarios})


async def reset_scenarios(call: AdminCall) -> web.StreamResponse:
    await put_state(call, None, None)
    return web.json_response({})


async def set_scenario(call: AdminCall) -> web.StreamResponse:
    store = call.state.store
    name = call.params["name"]
    if name not in store.snapshot.scenario_names:
        raise AdminRefusal(404, "no such scenario", f"no mapping names scenario {name!r}")
    raw = await call.json() if call.request.body_exists else {}
    state = raw.get("state") if isinstance(raw, dict) else None
    if state is None:
        await put_state(call, name, None)  # WireMock: no state given resets the scenario
    elif isinstance(state, str) and state:
        await put_state(call, name, STARTED if state == "Started" else state)
    else:
        raise AdminRefusal(422, "invalid state", 'send {"state": "<name>"}')
    return web.json_response({})


ROUTES: Final[list[tuple[str, str, Handler]]] = [
    ("GET", "/mappings", mappings.list_mappings),
    ("POST", "/mappings", mappings.create_mapping),
    ("DELETE", "/mappings", mappings.delete_mappings),
    ("POST", "/mappings/reset", mappings.reset),
    ("POST", "/mappings/import", mappings.import_mappings),
    ("GET", "/mappings/{id}", mappings.get_mapping),
    ("PUT", "/mappings/{id}", mappings.edit_mapping),
    ("DELETE", "/mappings/{id}", mappings.delete_mapping),
    ("GET", "/requests", list_requests),
    ("DELETE", "/requests", clear_requests),
    ("POST", "/requests/reset", clear_requests),
    ("POST", "/requests/count", count_requests),
    ("POST", "/requests/find", find_requests),
    ("GET", "/requests/unmatched", unmatched),
    ("GET", "/requests/unmatched/near-misses", near_misses),
    ("GET", "/scenarios", list_scenarios),
    ("POST", "/scenarios/reset", reset_scenarios),
    ("PUT", "/scenarios/{name}/state", set_scenario),
    ("POST", "/reset", mappings.reset),
]
_COMPILED: Final = [
    (method, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + r"\Z"), handler)
    for method, path, handler in ROUTES
]


def wiremock_dispatch(ours: Dispatch) -> Dispatch:
    """A dispatch that answers WireMock's routes and hands every other to ``ours``."""

    async def dispatch(
        request: web.BaseRequest, state: ServerState, sub: str, listener: int | None
    ) -> web.StreamResponse:
        method = "GET" if request.method == "HEAD" else request.method
        for route_method, pattern, handler in _COMPILED:
            found = pattern.match(sub)
            if found is not None and route_method == method:
                try:
                    return await handler(AdminCall(request, state, found.groupdict(), listener))
                except AdminRefusal as exc:
                    return exc.response()
        return await ours(request, state, sub, listener)

    return dispatch
