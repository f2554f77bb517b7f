"""WireMock's mapping routes (``serve --admin-api wiremock``): mappings posted, listed, edited,
deleted, imported and reset, in WireMock's shapes.

A mapping is translated by formats/wiremock.py into a stub of ours and stored as an admin stub,
so it is matched, journaled and reset like any other; the mapping as posted is kept beside its
stub and given back as it was (with its ``id`` and ``uuid``). A stub that came from a file is
listed as a mapping read back from our own definition.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from aiohttp import web

from mockserver.core.errors import Problem, StubFileError
from mockserver.core.model import Stub
from mockserver.core.store import DuplicateStubError, StubStore
from mockserver.formats.loader import admin_body_reader, body_file_reader
from mockserver.formats.wiremock import FILES_DIR, translate_mappings
from mockserver.formats.wiremock_files import is_static
from mockserver.server import stub_writes
from mockserver.server.admin_call import AdminCall, AdminRefusal
from mockserver.server.admin_journal import clear_journal
from mockserver.stubfiles.stubinput import parse_stub_input

__all__ = [
    "create_mapping",
    "delete_mapping",
    "delete_mappings",
    "edit_mapping",
    "get_mapping",
    "import_mappings",
    "list_mappings",
    "mapping_json",
    "reset",
    "wiremock_error",
]

# The mappings as posted, by stub id, for each store (the default namespace's).
_POSTED: WeakKeyDictionary[StubStore, dict[str, dict[str, Any]]] = WeakKeyDictionary()


def _posted(call: AdminCall) -> dict[str, dict[str, Any]]:
    return _POSTED.setdefault(call.state.store, {})


def wiremock_error(problems: list[Problem] | tuple[Problem, ...]) -> AdminRefusal:
    # WireMock's shape: {"errors": [{"code", "source": {"pointer"}, "title"}]}.
    pointer = re.compile(r"[.\[\]]+")
    errors = [
        {"code": 10, "source": {"pointer": "/" + pointer.sub("/", p.key or "").strip("/")}}
        | {"title": p.message}
        for p in problems
    ]
    message = "; ".join(str(p) for p in problems)
    return AdminRefusal(422, "invalid mapping", message, errors=errors)


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
            raise AdminRefusal(422, "invalid mapping", "a mapping is a JSON object")
        ident = given.get("id") or given.get("uuid") or str(uuid.uuid4())
        mapping = {**given, "id": ident, "uuid": ident}
        document, _, problems = translate_mappings(mapping, "<admin>", service)
        if problems:
            raise wiremock_error(problems)
        natives.extend(document["stubs"])
        kept.append(mapping)
    try:
        stubs, _ = parse_stub_input(
            natives, here[:1], _reader(call), call.state.store.snapshot.stubs.services
        )
    except StubFileError as exc:
        raise wiremock_error(exc.problems) from None
    return list(zip(stubs, kept, strict=True))


def mapping_json(call: AdminCall, stub: Stub) -> dict[str, Any]:
    """A stub as WireMock lists a mapping: as posted, else read back from our definition."""
    posted = _posted(call).get(stub.id)
    if posted is not None:
        return posted
    definition = stub.definition
    request: dict[str, Any] = {}
    raw_request = definition.get("request") or {}
    methods = raw_request.get("method")
    request["method"] = methods if isinstance(methods, str) else "ANY"
    url = raw_request.get("url")
    if isinstance(url, dict) and isinstance(url.get("equals"), str):
        request["url"] = url["equals"]
    elif isinstance(url, dict) and isinstance(url.get("regex"), str):
        regex = url["regex"]  # anchored by the translation: shown as WireMock's was written
        anchored = regex.startswith("\\A(?:") and regex.endswith(")\\Z")
        request["urlPattern"] = regex[5:-3] if anchored else regex
    elif "path" in raw_request:
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


def _mappings(call: AdminCall) -> list[Stub]:
    """The stubs WireMock would list as mappings: not those serving a root's ``__files/``
    (WireMock serves those files without a mapping, and removing mappings keeps them)."""
    return [stub for stub in call.state.store.snapshot.stubs.stubs if not is_static(stub)]


async def list_mappings(call: AdminCall) -> web.StreamResponse:
    mappings = [mapping_json(call, stub) for stub in _mappings(call)]
    return web.json_response({"mappings": mappings, "meta": {"total": len(mappings)}})


async def create_mapping(call: AdminCall) -> web.StreamResponse:
    ((stub, mapping),) = _stubs_of(call, [await call.json()])
    try:
        await stub_writes.add(call.state, [stub], {stub.id})
    except DuplicateStubError as exc:
        raise AdminRefusal(409, "duplicate mapping id", str(exc)) from None
    _posted(call)[stub.id] = mapping
    return web.json_response(mapping, status=201)


def _no_mapping(call: AdminCall) -> AdminRefusal:
    return AdminRefusal(404, "no such mapping", f"no mapping has id {call.params['id']!r}")


async def get_mapping(call: AdminCall) -> web.StreamResponse:
    stub = call.state.store.get(call.params["id"])
    if stub is None:
        raise _no_mapping(call)
    return web.json_response(mapping_json(call, stub))


async def edit_mapping(call: AdminCall) -> web.StreamResponse:
    if call.state.store.get(call.params["id"]) is None:
        raise _no_mapping(call)
    raw = await call.json()
    if not isinstance(raw, dict):
        raise AdminRefusal(422, "invalid mapping", "a mapping is a JSON object")
    ((stub, mapping),) = _stubs_of(call, [{**raw, "id": call.params["id"]}])
    await stub_writes.put(call.state, stub)
    _posted(call)[stub.id] = mapping
    return web.json_response(mapping)


async def delete_mapping(call: AdminCall) -> web.StreamResponse:
    if not await stub_writes.remove(call.state, call.params["id"]):
        raise _no_mapping(call)
    _posted(call).pop(call.params["id"], None)
    return web.json_response({})


async def delete_mappings(call: AdminCall) -> web.StreamResponse:
    await stub_writes.remove_many(call.state, [stub.id for stub in _mappings(call)])
    _posted(call).clear()
    return web.json_response({})


async def reset(call: AdminCall) -> web.StreamResponse:
    # Mappings back to those of the files, the journal empty, every scenario Started.
    await stub_writes.reset(call.state)
    if call.state.shared is not None:  # and what the replicas' queues held from before
        await clear_journal(call, hits=True)
    _posted(call).clear()
    return web.json_response({})


async def import_mappings(call: AdminCall) -> web.StreamResponse:
    raw = await call.json()
    if not isinstance(raw, dict) or not isinstance(raw.get("mappings"), list):
        raise AdminRefusal(
            422, "invalid import", 'send {"mappings": [...], "importOptions": {...}}'
        )
    options = raw.get("importOptions") or {}
    policy = options.get("duplicatePolicy", "OVERWRITE")
    if policy not in ("OVERWRITE", "IGNORE"):
        raise AdminRefusal(422, "invalid import", "duplicatePolicy is OVERWRITE or IGNORE")
    store = call.state.store
    pairs = _stubs_of(call, raw["mappings"])
    if options.get("deleteAllNotInImport") is True:
        wanted = {stub.id for stub, _ in pairs}
        unwanted = [stub.id for stub in _mappings(call) if stub.id not in wanted]
        await stub_writes.remove_many(call.state, unwanted)
    if policy == "IGNORE":
        pairs = [(stub, mapping) for stub, mapping in pairs if store.get(stub.id) is None]
    await stub_writes.put_many(call.state, [stub for stub, _ in pairs])
    _posted(call).update({stub.id: mapping for stub, mapping in pairs})
    return web.json_response({})
