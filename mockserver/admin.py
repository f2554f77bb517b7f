"""The admin API under /__admin: thin JSON adapters over the server state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from . import __version__

if TYPE_CHECKING:
    from .server import ServerState

__all__ = ["ADMIN_PREFIX", "handle_admin"]

ADMIN_PREFIX: Final = "/__admin"

Route = Callable[[web.BaseRequest, "ServerState"], Awaitable[web.StreamResponse]]


def _error(status: int, error: str, detail: str) -> web.Response:
    return web.json_response({"error": error, "detail": detail}, status=status)


async def _health(request: web.BaseRequest, state: ServerState) -> web.StreamResponse:
    snapshot = state.store.snapshot
    return web.json_response(
        {
            "status": "ok",
            "version": __version__,
            "services": len(snapshot.stubs.services),
            "stubs": len(snapshot.stubs.stubs),
        }
    )


async def _services(request: web.BaseRequest, state: ServerState) -> web.StreamResponse:
    snapshot = state.store.snapshot
    counts: dict[str, int] = {}
    for stub in snapshot.stubs.stubs:
        counts[stub.service] = counts.get(stub.service, 0) + 1
    services: list[dict[str, Any]] = []
    for name, spec in snapshot.stubs.services.items():
        url = state.base_urls.get(name, state.main_url)
        services.append(
            {
                "name": name,
                "port": int(url.rsplit(":", 1)[1]) if url else None,
                "declared_port": spec.port,
                "url": url,
                "stubs": counts.get(name, 0),
                "upstream": spec.upstream,
                "sources": list(spec.sources),
            }
        )
    return web.json_response({"services": services})


ROUTES: Final[dict[tuple[str, str], Route]] = {
    ("GET", "/health"): _health,
    ("GET", "/services"): _services,
}


async def handle_admin(request: web.BaseRequest, state: ServerState) -> web.StreamResponse:
    """Dispatch one /__admin request; unknown routes get a JSON 404 or 405 naming the choices."""
    sub = request.path[len(ADMIN_PREFIX) :] or "/"
    method = "GET" if request.method == "HEAD" else request.method
    route = ROUTES.get((method, sub))
    if route is not None:
        return await route(request, state)
    allowed = sorted(m for m, p in ROUTES if p == sub)
    if allowed:
        response = _error(405, "method not allowed", f"{sub} takes {', '.join(allowed)}")
        response.headers["Allow"] = ", ".join(allowed)
        return response
    known = ", ".join(f"{m} {ADMIN_PREFIX}{p}" for m, p in ROUTES)
    return _error(404, "no such admin route", f"{request.method} {request.path}; routes: {known}")
