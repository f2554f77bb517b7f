"""WireMock's admin API under /__admin (``serve --admin-api wiremock``), in WireMock's shapes.

Mappings are translated by formats/wiremock.py into stubs of ours and stored as admin stubs, so
they are matched, journaled and reset like any other; the mapping as posted is kept beside its
stub and given back as it was (with its ``id`` and ``uuid``). Routes this module does not know
(``/__admin/health``, ``/__admin/stubs``...) fall through to mockserver's own API, so the token
rule and the host and origin checks are unchanged: they run before either.
"""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from weakref import WeakKeyDictionary

from aiohttp import web

from mockserver.core.errors import Problem, StubFileError
from mockserver.core.journal import JournalEntry
from mockserver.core.matching import request_holds
from mockserver.core.model import Stub
from mockserver.core.patterns import end_match_budget, start_match_budget
from mockserver.core.scenarios import STARTED
from mockserver.core.store import DuplicateStubError, StubStore
from mockserver.formats.loader import admin_body_reader, body_file_reader
from mockserver.formats.wiremock import FILES_DIR, translate_mappings
from mockserver.formats.wiremock_patterns import translate_request
from mockserver.server.admin import AdminCall, AdminError, Dispatch
from mockserver.stubfiles.stubinput import parse_pattern_input, parse_stub_input

if TYPE_CHECKING:
    from mockserver.server.handler import ServerState

__all__ = ["wiremock_dispatch"]

Handler = Callable[[AdminCall], Awaitable[web.StreamResponse]]
# The mappings as posted, by stub id, for each store (the default namespace's).
_POSTED: WeakKeyDictionary[StubStore, dict[str, dict[str, Any]]] = WeakKeyDictionary()


def _posted(call: AdminCall) -> dict[str, dict[str, Any]]:
    return _POSTED.setdefault(call.state.store, {})


def _wiremock_error(problems: list[Problem] | tuple[Problem, ...]) -> AdminError:
    # WireMock's shape: {"errors": [{"code", "source": {"pointer"}, "title"}]}.
    pointer = re.compile(r"[.\[\]]+")
    errors = [
        {"code": 10, "source": {"pointer": "/" + pointer.sub("/", p.key or "").strip("/")}}
        | {"title": p.message}
        for p in problems
    ]
    message = "; ".join(str(p) for p in problems)
    return AdminError(422, "invalid mapping", message, errors=errors)


def _state_out(state: str) -> str:
    return "Started" if state == STARTED else state


def _reader(call: AdminCall) -> Callable[[str], bytes]:
    """bodyFileName: from the ``__files/`` of the first WireMock root served, else as the admin
    API reads ``body_file``."""
    for given in call.state.settings.paths:
        root = Path(given)
        if (root / FILES_DIR).is_dir():
            return body_file_reader(root / FILES_DIR / "-", root)
    return admin_body_reader(call.state.settings.paths)


def _stubs_of(call: AdminCall, mappings: list[Any]) -> list[tuple[Stub, dict[str, Any]]]:
    """Mappings → stubs (an id given to each that has none), all or none."""
    here = call.state.store.snapshot.services_on(call.listener)
    service = here[0] if len(here) == 1 else "default"
    natives: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    for given in mappings:
        if not isinstance(given, dict):
            raise AdminError(422, "invalid mapping", "a mapping is a JSON object")
        ident = given.get("id") or given.get("uuid") or str(uuid.uuid4())
        mapping = {**given, "id": ident, "uuid": ident}
        document, _, problems = translate_mappings(mapping, "<admin>", service)
        if problems:
            raise _wiremock_error(problems)
        natives.extend(document["stubs"])
        kept.append(mapping)
    try:
        stubs, _ = parse_stub_input(
            natives, here[:1], _reader(call), call.state.store.snapshot.stubs.services
        )
    except StubFileError as exc:
        raise _wiremock_error(exc.problems) from None
    return list(zip(stubs, kept, strict=True))


def _mapping_json(call: AdminCall, stub: Stub) -> dict[str, Any]:
    """A stub as WireMock lists a mapping: as posted, else read back from our definition."""
    posted = _posted(call).get(stub.id)
    if posted is not None:
        return posted
    definition = stub.definition
    request: dict[str, Any] = {}
    raw_request = definition.get("request") or {}
    methods = raw_request.get("method")
    request["method"] = methods if isinstance(methods, str) else "ANY"
    if "path" in raw_request:
        key = "urlPathTemplate" if "{" in raw_request["path"] else "urlPath"
        request[key] = raw_request["path"]
    elif "path_regex" in raw_request:
        request["urlPathPattern"] = raw_request["path_regex"]
    raw_response = definition.get("response") or {}
    response: dict[str, Any] = {"status": raw_response.get("status", 200)}
    for ours, theirs in (("headers", "headers"), ("body", "body"), ("json", "jsonBody")):
        if ours in raw_response:
            response[theirs] = raw_response[ours]
    return {
        "id": stub.id,
        "uuid": stub.id,
        "request": request,
        "response": response,
        "priority": 5 - stub.priority,
        "metadata": {"mockserver": {"source": stub.source, "service": stub.service}},
    }


async def list_mappings(call: AdminCall) -> web.StreamResponse:
    stubs = call.state.store.snapshot.stubs.stubs
    mappings = [_mapping_json(call, stub) for stub in stubs]
    return web.json_response({"mappings": mappings, "meta": {"total": len(mappings)}})


async def create_mapping(call: AdminCall) -> web.StreamResponse:
    ((stub, mapping),) = _stubs_of(call, [await call.json()])
    try:
        call.state.store.add([stub], explicit_ids={stub.id})
    except DuplicateStubError as exc:
        raise AdminError(409, "duplicate mapping id", str(exc)) from None
    _posted(call)[stub.id] = mapping
    return web.json_response(mapping, status=201)


def _no_mapping(call: AdminCall) -> AdminError:
    return AdminError(404, "no such mapping", f"no mapping has id {call.params['id']!r}")


async def get_mapping(call: AdminCall) -> web.StreamResponse:
    stub = call.state.store.get(call.params["id"])
    if stub is None:
        raise _no_mapping(call)
    return web.json_response(_mapping_json(call, stub))


async def edit_mapping(call: AdminCall) -> web.StreamResponse:
    if call.state.store.get(call.params["id"]) is None:
        raise _no_mapping(call)
    raw = await call.json()
    if not isinstance(raw, dict):
        raise AdminError(422, "invalid mapping", "a mapping is a JSON object")
    ((stub, mapping),) = _stubs_of(call, [{**raw, "id": call.params["id"]}])
    call.state.store.put(stub)
    _posted(call)[stub.id] = mapping
    return web.json_response(mapping)


async def delete_mapping(call: AdminCall) -> web.StreamResponse:
    if not call.state.store.remove(call.params["id"]):
        raise _no_mapping(call)
    _posted(call).pop(call.params["id"], None)
    return web.json_response({})


async def delete_mappings(call: AdminCall) -> web.StreamResponse:
    store = call.state.store
    for stub in store.snapshot.stubs.stubs:
        store.remove(stub.id)
    _posted(call).clear()
    return web.json_response({})


async def reset(call: AdminCall) -> web.StreamResponse:
    # Mappings back to those of the files, the journal empty, every scenario Started.
    call.state.store.reset()
    _posted(call).clear()
    return web.json_response({})


async def import_mappings(call: AdminCall) -> web.StreamResponse:
    raw = await call.json()
    if not isinstance(raw, dict) or not isinstance(raw.get("mappings"), list):
        raise AdminError(422, "invalid import", 'send {"mappings": [...], "importOptions": {...}}')
    options = raw.get("importOptions") or {}
    policy = options.get("duplicatePolicy", "OVERWRITE")
    if policy not in ("OVERWRITE", "IGNORE"):
        raise AdminError(422, "invalid import", "duplicatePolicy is OVERWRITE or IGNORE")
    store = call.state.store
    pairs = _stubs_of(call, raw["mappings"])
    if options.get("deleteAllNotInImport") is True:
        wanted = {stub.id for stub, _ in pairs}
        for stub in store.snapshot.stubs.stubs:
            if stub.id not in wanted:
                store.remove(stub.id)
    if policy == "IGNORE":
        pairs = [(stub, mapping) for stub, mapping in pairs if store.get(stub.id) is None]
    store.put_many([stub for stub, _ in pairs])
    _posted(call).update({stub.id: mapping for stub, mapping in pairs})
    return web.json_response({})


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
        event["stubMapping"] = _mapping_json(call, stub)
    return event


async def list_requests(call: AdminCall) -> web.StreamResponse:
    journal = call.state.store.journal
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
    call.state.store.journal.clear(hits=False)
    return web.json_response({})


async def _found(call: AdminCall) -> list[JournalEntry]:
    raw = await call.json()
    problems: list[Problem] = []

    def sink(at: tuple[str | int, ...], message: str) -> None:
        problems.append(Problem("<admin>", message, key=".".join(map(str, at))))

    pattern = translate_request(raw, (), sink)
    if pattern is None:
        raise _wiremock_error(problems)
    try:
        spec = parse_pattern_input(pattern)
    except StubFileError as exc:
        raise _wiremock_error(exc.problems) from None
    budget = start_match_budget(call.state.settings.match_budget_ms / 1000)
    try:
        return [e for e in call.state.store.journal.entries() if request_holds(spec, e.view())]
    finally:
        end_match_budget(budget)


async def count_requests(call: AdminCall) -> web.StreamResponse:
    return web.json_response({"count": len(await _found(call))})


async def find_requests(call: AdminCall) -> web.StreamResponse:
    found = [_logged_request(call, e) for e in await _found(call)]
    return web.json_response({"requests": found})


async def unmatched(call: AdminCall) -> web.StreamResponse:
    entries = call.state.store.journal.unmatched()
    return web.json_response({"requests": [_logged_request(call, e) for e in entries]})


async def near_misses(call: AdminCall) -> web.StreamResponse:
    store = call.state.store
    found: list[dict[str, Any]] = []
    for entry in store.journal.unmatched():
        for near in entry.near_misses:
            stub = store.get(str(near.get("stub")))
            miss: dict[str, Any] = {
                "request": _logged_request(call, entry),
                # WireMock's distance is 0 (same) to 1; ours counts the fields that differ.
                "matchResult": {"distance": min(1.0, 0.1 * len(near.get("differences", ())))},
                "mockserver": near,
            }
            if stub is not None:
                miss["stubMapping"] = _mapping_json(call, stub)
                miss["requestPattern"] = miss["stubMapping"]["request"]
            found.append(miss)
    return web.json_response({"nearMisses": found})


async def list_scenarios(call: AdminCall) -> web.StreamResponse:
    store = call.state.store
    scenarios = []
    for item in store.scenarios.listing(store.snapshot.scenario_names):
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
    call.state.store.scenarios.reset()
    return web.json_response({})


async def set_scenario(call: AdminCall) -> web.StreamResponse:
    store = call.state.store
    name = call.params["name"]
    if name not in store.snapshot.scenario_names:
        raise AdminError(404, "no such scenario", f"no mapping names scenario {name!r}")
    raw = await call.json() if call.request.body_exists else {}
    state = raw.get("state") if isinstance(raw, dict) else None
    if state is None:
        store.scenarios.reset(name)  # WireMock: no state given resets the scenario
    elif isinstance(state, str) and state:
        store.scenarios.move(name, STARTED if state == "Started" else state)
    else:
        raise AdminError(422, "invalid state", 'send {"state": "<name>"}')
    return web.json_response({})


ROUTES: Final[list[tuple[str, str, Handler]]] = [
    ("GET", "/mappings", list_mappings),
    ("POST", "/mappings", create_mapping),
    ("DELETE", "/mappings", delete_mappings),
    ("POST", "/mappings/reset", reset),
    ("POST", "/mappings/import", import_mappings),
    ("GET", "/mappings/{id}", get_mapping),
    ("PUT", "/mappings/{id}", edit_mapping),
    ("DELETE", "/mappings/{id}", delete_mapping),
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
    ("POST", "/reset", reset),
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
                except AdminError as exc:
                    return exc.response()
        return await ours(request, state, sub, listener)

    return dispatch
