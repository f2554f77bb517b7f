"""Requests under ``/__ns/<name>/``: routed to their namespace, and the namespaces' admin routes.

``GET /__admin/namespaces`` lists the namespaces held (from any namespace);
``DELETE /__ns/<name>/__admin/namespace`` ends one. Every other admin route works inside a
namespace on its state (``/__ns/<name>/__admin/stubs``, ``.../reset``, ``.../requests``...)
and lists the services with namespaced URLs, but ``POST .../reload``: the files are every
namespace's, so a reload is asked for without a namespace.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from aiohttp import hdrs, web

from mockserver.core.namespaces import NS_PREFIX, NamespaceError, Namespaces, split_namespace
from mockserver.core.store import StubStore
from mockserver.server.admin import Dispatch, admin_subpath, dispatch_admin, handle_admin
from mockserver.server.admin_call import AdminRefusal
from mockserver.server.problems import problem_response
from mockserver.server.state import ServerState
from mockserver.state.unavailable import StoreUnavailable

__all__ = ["NAMESPACE_ROUTES", "namespace_dispatch", "namespaced"]

# Beside admin.ROUTES, answered here.
NAMESPACE_ROUTES: Final = (("GET", "/namespaces"), ("DELETE", "/namespace"))


def _refused(exc: NamespaceError) -> web.Response:
    response = problem_response(exc.problem)
    if exc.retry_after is not None:
        response.headers[hdrs.RETRY_AFTER] = str(exc.retry_after)
    return response


def _registry(state: ServerState) -> Namespaces:
    assert state.namespaces is not None  # ServerState makes one
    return state.namespaces


def namespace_dispatch(name: str | None) -> Dispatch:
    """The admin dispatch of namespace ``name`` (None: the default namespace)."""

    async def dispatch(
        request: web.BaseRequest, state: ServerState, sub: str, listener: int | None
    ) -> web.StreamResponse:
        try:
            return await _dispatch(name, request, state, sub, listener)
        except StoreUnavailable as exc:  # --state redis, Redis gone
            return problem_response(exc.problem())

    return dispatch


async def _dispatch(
    name: str | None, request: web.BaseRequest, state: ServerState, sub: str, listener: int | None
) -> web.StreamResponse:
    route = ("GET" if request.method == "HEAD" else request.method, sub)
    shared = state.shared_namespaces  # across replicas: Redis first
    if route == NAMESPACE_ROUTES[0]:
        described = await shared.described() if shared else _registry(state).describe()
        return web.json_response(described)
    if route == NAMESPACE_ROUTES[1]:
        if name is None:
            return AdminRefusal(
                409,
                "the default namespace cannot end",
                "DELETE /__ns/<name>/__admin/namespace ends a namespace; POST "
                "/__admin/reset empties the default one",
            ).response()
        if shared is not None:
            await shared.end(name)
        _registry(state).drop(name)  # gone either way: ending it twice is no error
        return web.json_response({"deleted": name})
    if name is None:
        return await dispatch_admin(request, state, sub, listener)
    if sub == "/reload":
        return AdminRefusal(
            409,
            "reload is server-wide",
            "the stub files are every namespace's: POST /__admin/reload without /__ns/",
        ).response()
    try:
        if shared is not None:
            await shared.opening(name)
        store = _registry(state).open(name)
    except NamespaceError as exc:
        return _refused(exc)
    prefix = NS_PREFIX + name
    scoped = replace(
        state,
        store=store,
        namespace=name,
        main_url=state.main_url + prefix,
        base_urls={service: url + prefix for service, url in state.base_urls.items()},
    )
    return await dispatch_admin(request, scoped, sub, listener)


async def namespaced(
    request: web.BaseRequest, state: ServerState, path: str, listener: int | None
) -> web.StreamResponse | tuple[StubStore, str]:
    """A request under ``/__ns/<name>/``: an admin call is answered; a service request gets
    its namespace's store and its path without the prefix."""
    try:
        name, rest = split_namespace(path)
        if state.admin_forward is not None:
            raise NamespaceError(
                400,
                "namespaces unavailable",
                "serve --workers keeps no namespaces (each worker would hold its own): run "
                "the shared server without --workers",
            )
        sub = admin_subpath(rest)
        if sub is not None:  # created by the dispatch, once the call is allowed
            return await handle_admin(request, state, sub, listener, namespace_dispatch(name))
        store = _registry(state).find(name)
        if store is None:
            raise NamespaceError(
                404,
                "no such namespace",
                f"namespace {name!r} is not held: one begins with an admin call (POST "
                f"/__ns/{name}/__admin/reset) and expires when idle (GET /__admin/namespaces)",
            )
    except NamespaceError as exc:
        return _refused(exc)
    return store, rest
