"""The dashboard's page and its static files, shipped in the wheel beside this module.

The page holds no data (every figure on it comes from admin calls made with the token), so it
loads without the token, as ``GET /__admin/health`` does. A strict Content-Security-Policy
forbids inline script and every other origin: a request's path, headers or body that carries
HTML is shown as text by the script, and could not run even if it were not.
"""

from __future__ import annotations

import html
import posixpath
from functools import cache
from importlib.resources import files
from typing import Final

from aiohttp import hdrs, web

from mockserver.core.errors import HttpProblem
from mockserver.server.admin_routes import ROUTES
from mockserver.server.problems import problem_response

__all__ = ["ASSETS", "CONTENT_SECURITY_POLICY", "is_page", "page_response"]

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
# The files under /__admin/ui/, each with its type; nothing else there is served.
ASSETS: Final = {
    "app.css": "text/css",
    "app.js": "text/javascript",
    "api.js": "text/javascript",
    "journal.js": "text/javascript",
    "panels.js": "text/javascript",
    "render.js": "text/javascript",
}
_PAGE: Final = "/ui"
# The AMQP doubles' panel shows where their admin route is (issue 20).
_MESSAGES: Final = "on" if ("GET", "/messages") in {(m, p) for m, p, _ in ROUTES} else "off"


def is_page(sub: str) -> bool:
    """``sub`` (the path below /__admin) is the page or one of its files."""
    return sub == _PAGE or (sub.startswith(_PAGE + "/") and sub[len(_PAGE) + 1 :] in ASSETS)


@cache
def _read(name: str) -> str:
    return files("mockserver.server.dashboard").joinpath("static", name).read_text("utf-8")


def _admin_base(request: web.BaseRequest, sub: str) -> str:
    """Where the admin API is for this page: /__admin, or a namespace's /__ns/<name>/__admin."""
    normal = "/" + posixpath.normpath(request.path).lstrip("/")
    base = normal.removesuffix(sub)
    return base if base.endswith("/__admin") else "/__admin"


def page_response(request: web.BaseRequest, sub: str) -> web.Response:
    """The page (its admin base written in) or one of its files, with the page's headers; 405
    to any method but GET and HEAD."""
    if request.method not in (hdrs.METH_GET, hdrs.METH_HEAD):
        response = problem_response(
            HttpProblem(405, "method not allowed", f"{request.path} takes GET")
        )
        response.headers[hdrs.ALLOW] = "GET, HEAD"
        return response
    if sub == _PAGE:
        base = html.escape(_admin_base(request, sub), quote=True)
        page = _read("index.html").replace("{{messages}}", _MESSAGES)
        body, content_type = page.replace("{{base}}", base), "text/html"
    else:
        name = sub[len(_PAGE) + 1 :]
        body, content_type = _read(name), ASSETS[name]
    return web.Response(
        text=body,
        content_type=content_type,
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            hdrs.CACHE_CONTROL: "no-cache",
        },
    )
