"""Error answers in the shell: an HttpProblem from the core made an aiohttp response."""

from __future__ import annotations

from aiohttp import web

from mockserver.core.errors import HttpProblem

__all__ = ["problem_response"]


def problem_response(problem: HttpProblem) -> web.Response:
    return web.json_response(problem.as_dict(), status=problem.status)
