"""One admin call and the error that answers it: what every admin route module takes and
raises, below them all."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from mockserver.core.errors import ProblemError, StubFileError
from mockserver.server.problems import problem_response
from mockserver.server.state import ServerState

__all__ = ["AdminCall", "AdminRefusal", "Route", "compile_routes", "invalid"]

# What answers one admin route.
Route = Callable[["AdminCall"], Awaitable[web.StreamResponse]]


def compile_routes(
    routes: list[tuple[str, str, Route]],
) -> list[tuple[str, re.Pattern[str], Route]]:
    """Each route's path as a regex: a ``{name}`` matches one path segment."""
    return [
        (method, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + r"\Z"), handler)
        for method, path, handler in routes
    ]


class AdminRefusal(ProblemError):
    """An admin call refused, answered with its problem (the client raises it as AdminError)."""

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


def invalid(exc: StubFileError) -> AdminRefusal:
    return AdminRefusal(422, "invalid stub", str(exc), problems=[p.as_dict() for p in exc.problems])
