"""The admin API under /__admin: the gate (token, Host and Origin checks) and the dispatch to
the routes (admin_routes.py), thin JSON adapters over the store, the journal and reload.

Every answer is JSON; every error is ``{"error": ..., "detail": ...}`` with a 4xx status that
names the problem. Writes need ``Content-Type: application/json`` (a browser form cannot send
it cross-site, so a page on the network cannot drive the API). With a token configured, all
but ``GET /__admin/health`` need ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import asyncio
import hmac
import posixpath
from collections.abc import Awaitable, Callable
from typing import Final
from urllib.parse import urlsplit

from aiohttp import hdrs, web

from mockserver.core.config import is_loopback
from mockserver.server.admin_call import AdminCall, AdminRefusal
from mockserver.server.admin_routes import COMPILED, ROUTES
from mockserver.server.problems import problem_response
from mockserver.server.state import ServerState
from mockserver.state.unavailable import StoreUnavailable

__all__ = ["ADMIN_PREFIX", "Dispatch", "admin_subpath", "dispatch_admin", "handle_admin"]

ADMIN_PREFIX: Final = "/__admin"

Dispatch = Callable[[web.BaseRequest, ServerState, str, int | None], Awaitable[web.StreamResponse]]


def _public_health(state: ServerState) -> dict[str, str]:
    """Health for a caller without the token (a readiness probe): serving or not, in one line.

    A failed reload's problems quote the stub files (values, upstreams with passwords, paths)
    and the workers' pids are the machine's: both only with the token (issue 13).
    """
    if state.shared is not None and not state.shared.available:
        # Ready all the same: what the files say is served; the store's address is for
        # the token holder.
        return {
            "status": "ok",
            "message": "serving; the state store cannot be reached, so admin writes and "
            "stateful stubs answer 503 until it is back",
        }
    if state.store.last_reload.ok:
        return {"status": "ok", "message": "serving"}
    return {
        "status": "ok",
        "message": "serving the stubs loaded before; the last reload failed "
        "(its problems: this route with the admin token, or the log)",
    }


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
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    # aiohttp decodes header bytes that are not UTF-8 as surrogates; encode them back the
    # same way, or a stray byte in the header would be a 500 instead of a 401.
    given_bytes = given.strip().encode("utf-8", "surrogateescape")
    return hmac.compare_digest(given_bytes, token.encode("utf-8", "surrogateescape"))


def _local_host(request: web.BaseRequest) -> bool:
    """The Host header names this machine (or is absent, as only non-browser clients do)."""
    host = request.headers.get(hdrs.HOST)
    if host is None:
        return True
    name = host[1 : host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
    name = name.strip().lower().rstrip(".")
    return is_loopback(name) or name.endswith(".localhost")


def _same_origin(request: web.BaseRequest) -> bool:
    """No Origin (not a browser, or a same-origin read), or the one the request is sent to."""
    origin = request.headers.get(hdrs.ORIGIN)
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == request.headers.get(hdrs.HOST, "").lower()


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
        response.headers[hdrs.WWW_AUTHENTICATE] = 'Bearer realm="mockserver admin"'
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
            f"admin calls from a page on {request.headers[hdrs.ORIGIN]} are refused; "
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
    for route_method, pattern, handler in COMPILED:
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
        except StoreUnavailable as exc:  # --state redis, Redis gone: nothing was written
            return problem_response(exc.problem())
        except asyncio.CancelledError:
            raise
    if allowed:
        response = AdminRefusal(
            405, "method not allowed", f"{ADMIN_PREFIX}{sub} takes {', '.join(allowed)}"
        ).response()
        response.headers[hdrs.ALLOW] = ", ".join(allowed)
        return response
    known = ", ".join(f"{m} {ADMIN_PREFIX}{p}" for m, p, _ in ROUTES)
    return AdminRefusal(
        404, "no such admin route", f"{request.method} {request.path}; routes: {known}"
    ).response()
