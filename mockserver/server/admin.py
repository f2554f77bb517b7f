"""The admin API under /__admin: thin JSON adapters over the store, the journal and reload.

Every answer is JSON; every error is ``{"error": ..., "detail": ...}`` with a 4xx status that
names the problem. Writes need ``Content-Type: application/json`` (a browser form cannot send
it cross-site, so a page on the network cannot drive the API). With a token configured, all
but ``GET /__admin/health`` need ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import posixpath
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from aiohttp import web

from mockserver.core.config import is_loopback
from mockserver.core.errors import ProblemError, StubFileError
from mockserver.core.model import Stub
from mockserver.core.pinned import refusal
from mockserver.core.store import DuplicateStubError
from mockserver.core.version import __version__
from mockserver.formats.loader import admin_body_reader
from mockserver.server.admin_openapi import openapi_document
from mockserver.server.loop import loop_name
from mockserver.server.problems import problem_response
from mockserver.server.reload import reload_files
from mockserver.stubfiles.stubinput import parse_pattern_input, parse_stub_input

if TYPE_CHECKING:
    from mockserver.server.handler import ServerState

__all__ = ["ADMIN_PREFIX", "Dispatch", "admin_subpath", "dispatch_admin", "handle_admin"]

ADMIN_PREFIX: Final = "/__admin"

Handler = Callable[["AdminCall"], Awaitable[web.StreamResponse]]
Dispatch = Callable[
    [web.BaseRequest, "ServerState", str, int | None], Awaitable[web.StreamResponse]
]


class AdminRefusal(ProblemError):
    """An admin call refused, answered with its problem (the client raises it as AdminRefusal)."""

    def response(self) -> web.Response:
        return problem_response(self.problem)


class AdminCall:
    """One admin request: the aiohttp request, the shared state, and the path parameters."""

    __slots__ = ("listener", "params", "request", "state")

    def __init__(
        self,
        request: web.BaseRequest,
        state: ServerState,
        params: dict[str, str],
        listener: int | None,
    ) -> None:
        self.request, self.state, self.params, self.listener = request, state, params, listener

    async def json(self) -> Any:
        content_type = self.request.content_type
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise AdminRefusal(
                415,
                "unsupported media type",
                f"send the body as JSON with Content-Type: application/json (got {content_type})",
            )
        try:
            raw = await self.request.read()
        except web.HTTPRequestEntityTooLarge:
            raise AdminRefusal(
                413, "request body too large", "the admin body is over the limit"
            ) from None
        try:
            value = json.loads(raw)
            # A lone surrogate escape ("\ud800") parses but cannot be encoded as UTF-8 again,
            # which stub ids, bodies and headers all need: refuse it here (RFC 7493 §2.1).
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except RecursionError:
            raise AdminRefusal(400, "malformed JSON", "the JSON is nested too deeply") from None
        except UnicodeEncodeError:
            raise AdminRefusal(
                400, "malformed JSON", "a string holds a lone surrogate escape such as \\ud800"
            ) from None
        except ValueError as exc:
            raise AdminRefusal(400, "malformed JSON", str(exc)) from None
        return value

    def int_query(self, name: str, default: int | None) -> int | None:
        raw = self.request.query.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise AdminRefusal(
                400, f"bad {name}", f"{name} must be a whole number, got {raw!r}"
            ) from None
        if value < 0:
            raise AdminRefusal(400, f"bad {name}", f"{name} cannot be negative")
        return value


def _invalid(exc: StubFileError) -> AdminRefusal:
    return AdminRefusal(422, "invalid stub", str(exc), problems=[p.as_dict() for p in exc.problems])


def stub_json(stub: Stub, state: ServerState) -> dict[str, Any]:
    store = state.store
    result: dict[str, Any] = {
        "id": stub.id,
        "service": stub.service,
        "origin": store.origin(stub),
        "source": stub.source,
        "priority": stub.priority,
        "hits": store.journal.hits.get(stub.id, 0),
    }
    for key in ("description", "request", "response", "responses"):
        if key in stub.definition:
            result[key] = stub.definition[key]
    return result


# -- routes -----------------------------------------------------------------------------------


async def health(call: AdminCall) -> web.StreamResponse:
    store = call.state.store
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
        }
    )


def _public_health(state: ServerState) -> dict[str, str]:
    """Health for a caller without the token (a readiness probe): serving or not, in one line.

    A failed reload's problems quote the stub files (values, upstreams with passwords, paths)
    and the workers' pids are the machine's: both only with the token (issue 13).
    """
    if state.store.last_reload.ok:
        return {"status": "ok", "message": "serving"}
    return {
        "status": "ok",
        "message": "serving the stubs loaded before; the last reload failed "
        "(its problems: this route with the admin token, or the log)",
    }


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


async def list_stubs(call: AdminCall) -> web.StreamResponse:
    stubs = call.state.store.snapshot.stubs.stubs
    return web.json_response({"stubs": [stub_json(s, call.state) for s in stubs]})


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
        raise _invalid(exc) from None
    _fits(call, stubs)
    try:
        added = call.state.store.add(stubs, explicit_ids=explicit)
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
    return web.json_response(stub_json(stub, call.state))


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
        raise _invalid(exc) from None
    _fits(call, stubs, replacing=stub_id)
    stored = call.state.store.put(stubs[0])
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
        raise _invalid(exc) from None
    stored = call.state.store.put_many(stubs)
    return web.json_response({"stubs": [stub_json(s, call.state) for s in stored]})


async def delete_stub(call: AdminCall) -> web.StreamResponse:
    if not call.state.store.remove(call.params["id"]):
        raise _no_stub(call)
    return web.json_response({"deleted": call.params["id"]})


def _no_stub(call: AdminCall) -> AdminRefusal:
    return AdminRefusal(
        404, "no such stub", f"no stub has id {call.params['id']!r}; GET /__admin/stubs lists them"
    )


async def reset(call: AdminCall) -> web.StreamResponse:
    store = call.state.store
    store.reset()
    return web.json_response({"status": "reset", "stubs": len(store.snapshot.stubs.stubs)})


async def reload(call: AdminCall) -> web.StreamResponse:
    state = call.state
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
    stubs = state.store.snapshot.stubs
    return web.json_response(
        {"status": "reloaded", "services": len(stubs.services), "stubs": len(stubs.stubs)}
    )


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
        raise _invalid(exc) from None
    try:
        found = journal.count(spec, call.state.settings.match_budget_ms / 1000)
    except RecursionError:  # a deep pattern against a deep journaled body
        raise AdminRefusal(
            422, "pattern too deep", "the pattern nests too deeply to compare with the journal"
        ) from None
    return web.json_response({"count": found})


async def openapi(call: AdminCall) -> web.StreamResponse:
    return web.json_response(openapi_document())


def _scenarios(name: str) -> Handler:
    """A handler of scenarioadmin.py, which imports this module (for AdminCall)."""

    async def handler(call: AdminCall) -> web.StreamResponse:
        from mockserver.server import scenario_admin as scenarioadmin

        found: Handler = getattr(scenarioadmin, name)
        return await found(call)

    return handler


ROUTES: Final[list[tuple[str, str, Handler]]] = [
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
    ("GET", "/scenarios", _scenarios("list_scenarios")),
    ("POST", "/scenarios/reset", _scenarios("reset_scenarios")),
    ("PUT", "/scenarios/{name}", _scenarios("set_scenario")),
    ("POST", "/requests/count", count),
    ("GET", "/openapi.json", openapi),
]
_COMPILED: Final = [
    (method, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + r"\Z"), handler)
    for method, path, handler in ROUTES
]


def admin_subpath(path: str) -> str | None:
    """The route under /__admin that ``path`` reaches, or None when it is not an admin path.

    The decoded path is normalised first (``//``, ``.`` and ``..`` collapsed), so no spelling
    of an admin path reaches admin without the token check, nor slips past it.
    """
    normal = posixpath.normpath(path) if path else "/"
    normal = "/" + normal.lstrip("/")
    if normal == ADMIN_PREFIX:
        return "/"
    if normal.startswith(ADMIN_PREFIX + "/"):
        return normal[len(ADMIN_PREFIX) :]
    return None


def authorised(request: web.BaseRequest, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    # aiohttp decodes header bytes that are not UTF-8 as surrogates; encode them back the
    # same way, or a stray byte in the header would be a 500 instead of a 401.
    given_bytes = given.strip().encode("utf-8", "surrogateescape")
    return hmac.compare_digest(given_bytes, token.encode("utf-8", "surrogateescape"))


def _local_host(request: web.BaseRequest) -> bool:
    """The Host header names this machine (or is absent, as only non-browser clients do)."""
    host = request.headers.get("Host")
    if host is None:
        return True
    name = host[1 : host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
    name = name.strip().lower().rstrip(".")
    return is_loopback(name) or name.endswith(".localhost")


def _same_origin(request: web.BaseRequest) -> bool:
    """No Origin (not a browser, or a same-origin read), or the one the request is sent to."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.headers.get("Host", "").lower()


async def handle_admin(
    request: web.BaseRequest,
    state: ServerState,
    sub: str,
    listener: int | None,
    dispatch: Dispatch | None = None,
) -> web.StreamResponse:
    """Dispatch one /__admin request (``sub`` is the normalised path below /__admin) once it
    is allowed, to ``dispatch`` (default: ``dispatch_admin``)."""
    method = "GET" if request.method == "HEAD" else request.method
    token = state.settings.admin_token  # None or empty: no token asked for
    if token and method == "GET" and sub == "/health" and not authorised(request, token):
        return web.json_response(_public_health(state))
    if token and not (method == "GET" and sub == "/health") and not authorised(request, token):
        response = AdminRefusal(
            401,
            "unauthorized",
            "this admin API needs Authorization: Bearer <token> (--admin-token / "
            "MOCKSERVER_ADMIN_TOKEN)",
        ).response()
        response.headers["WWW-Authenticate"] = 'Bearer realm="mockserver admin"'
        return response
    if not token and is_loopback(state.settings.host) and not _local_host(request):
        # An open admin API on loopback is reachable from a browser through DNS rebinding
        # (evil.example resolving to 127.0.0.1): a local name in Host is required then.
        return AdminRefusal(
            403,
            "forbidden host",
            "without a token, admin calls must address this machine by a local name "
            "(localhost, 127.0.0.1, [::1]); set --admin-token to use other names",
        ).response()
    if not token and not _same_origin(request):
        # A page on another site may send a form-like POST (no preflight) to an open admin
        # API; the browser names that site in Origin.
        return AdminRefusal(
            403,
            "forbidden origin",
            f"admin calls from a page on {request.headers['Origin']} are refused; "
            "set --admin-token to call the admin API from other sites",
        ).response()
    if state.admin_forward is not None:
        return await state.admin_forward(request, sub, listener)
    return await (dispatch or dispatch_admin)(request, state, sub, listener)


async def dispatch_admin(
    request: web.BaseRequest, state: ServerState, sub: str, listener: int | None
) -> web.StreamResponse:
    """Answer one admin call from this process's state, with no token check (done before)."""
    method = "GET" if request.method == "HEAD" else request.method
    allowed = []
    for route_method, pattern, handler in _COMPILED:
        found = pattern.match(sub)
        if found is None:
            continue
        if route_method != method:
            allowed.append(route_method)
            continue
        try:
            return await handler(AdminCall(request, state, found.groupdict(), listener))
        except AdminRefusal as exc:
            return exc.response()
        except asyncio.CancelledError:
            raise
    if allowed:
        response = AdminRefusal(
            405, "method not allowed", f"{ADMIN_PREFIX}{sub} takes {', '.join(allowed)}"
        ).response()
        response.headers["Allow"] = ", ".join(allowed)
        return response
    known = ", ".join(f"{m} {ADMIN_PREFIX}{p}" for m, p, _ in ROUTES)
    return AdminRefusal(
        404, "no such admin route", f"{request.method} {request.path}; routes: {known}"
    ).response()
