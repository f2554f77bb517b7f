"""The stub routes of the admin API: list, add, replace, get and delete stubs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from mockserver.core.errors import StubFileError
from mockserver.core.model import Stub
from mockserver.core.pinned import refusal
from mockserver.core.store import DuplicateStubError
from mockserver.formats.loader import admin_body_reader
from mockserver.server import stub_writes
from mockserver.server.admin_call import AdminCall, AdminRefusal, invalid
from mockserver.server.admin_journal import journal_of
from mockserver.server.state import ServerState
from mockserver.stubfiles.stubinput import parse_stub_input

__all__ = ["add_stubs", "delete_stub", "get_stub", "list_stubs", "put_stub", "put_stubs"]


def stub_json(
    stub: Stub, state: ServerState, hits: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """A stub as the admin API shows it; ``hits``: every replica's counts (journal_of)."""
    store = state.store
    result: dict[str, Any] = {
        "id": stub.id,
        "service": stub.service,
        "origin": store.origin(stub),
        "source": stub.source,
        "line": stub.line,
        "priority": stub.priority,
        "hits": (store.journal.hits if hits is None else hits).get(stub.id, 0),
    }
    for key in ("description", "request", "response", "responses"):
        if key in stub.definition:
            result[key] = stub.definition[key]
    return result


async def list_stubs(call: AdminCall) -> web.StreamResponse:
    stubs = call.state.store.snapshot.stubs.stubs
    hits = (await journal_of(call, entries=False)).hits
    return web.json_response({"stubs": [stub_json(s, call.state, hits) for s in stubs]})


def _services_here(call: AdminCall) -> list[str]:
    return call.state.store.snapshot.services_on(call.listener)


async def add_stubs(call: AdminCall) -> web.StreamResponse:
    raw = await call.json()
    reader = admin_body_reader(call.state.settings.paths)
    try:
        stubs, explicit = parse_stub_input(
            raw, _services_here(call), reader, call.state.store.snapshot.stubs.services
        )
    except StubFileError as exc:
        raise invalid(exc) from None
    _fits(call, stubs)
    try:
        added = await stub_writes.add(call.state, stubs, explicit)
    except DuplicateStubError as exc:
        raise AdminRefusal(409, "duplicate stub id", str(exc)) from None
    return web.json_response({"stubs": [stub_json(s, call.state) for s in added]}, status=201)


def _fits(call: AdminCall, stubs: list[Stub], replacing: str | None = None) -> None:
    """Refuse (413, nothing added) a write past the bound on what admin stubs may hold."""
    kept = [s for s in call.state.store.runtime if s.id != replacing]
    problem = refusal(kept, stubs, call.state.settings.admin_stub_bytes)
    if problem is not None:
        raise AdminRefusal(413, "too much held by admin stubs", problem)


async def get_stub(call: AdminCall) -> web.StreamResponse:
    stub = call.state.store.get(call.params["id"])
    if stub is None:
        raise _no_stub(call)
    hits = (await journal_of(call, entries=False)).hits
    return web.json_response(stub_json(stub, call.state, hits))


async def put_stub(call: AdminCall) -> web.StreamResponse:
    raw = await call.json()
    stub_id = call.params["id"]
    if not isinstance(raw, dict):
        raise AdminRefusal(422, "invalid stub", "PUT takes one stub (a JSON object)")
    if raw.get("id", stub_id) != stub_id:
        raise AdminRefusal(422, "invalid stub", f"the body's id {raw['id']!r} is not {stub_id!r}")
    existing = call.state.store.get(stub_id)
    here = (
        [existing.service]
        if existing is not None and "service" not in raw
        else _services_here(call)
    )
    reader = admin_body_reader(call.state.settings.paths)
    try:
        stubs, _ = parse_stub_input(
            {**raw, "id": stub_id}, here, reader, call.state.store.snapshot.stubs.services
        )
    except StubFileError as exc:
        raise invalid(exc) from None
    _fits(call, stubs, replacing=stub_id)
    stored = await stub_writes.put(call.state, stubs[0])
    return web.json_response(stub_json(stored, call.state), status=200 if existing else 201)


async def put_stubs(call: AdminCall) -> web.StreamResponse:
    """Add or replace many stubs by id, all or none, with one rebuild (the plugin's markers)."""
    raw = await call.json()
    if not (isinstance(raw, list) and all(isinstance(s, dict) and "id" in s for s in raw)):
        raise AdminRefusal(
            422, "invalid stubs", "PUT /__admin/stubs takes a list of stubs with ids"
        )
    reader = admin_body_reader(call.state.settings.paths)
    services = call.state.store.snapshot.stubs.services
    try:
        stubs, _ = parse_stub_input(raw, _services_here(call), reader, services)
    except StubFileError as exc:
        raise invalid(exc) from None
    stored = await stub_writes.put_many(call.state, stubs)
    return web.json_response({"stubs": [stub_json(s, call.state) for s in stored]})


async def delete_stub(call: AdminCall) -> web.StreamResponse:
    if not await stub_writes.remove(call.state, call.params["id"]):
        raise _no_stub(call)
    return web.json_response({"deleted": call.params["id"]})


def _no_stub(call: AdminCall) -> AdminRefusal:
    return AdminRefusal(
        404, "no such stub", f"no stub has id {call.params['id']!r}; GET /__admin/stubs lists them"
    )
