"""Other mocking libraries letting mockserver's own URLs through.

requests-mock, responses, respx and aioresponses each patch a client library; active in a test
that also uses mockserver, they intercept the calls meant for its real server. Each has a way
to let URLs through, applied here to the mocks a test can be seen to hold (its fixtures'
values, responses' default mock). A mock started inside the test cannot be seen: when one
intercepts a call to the server, ``intercepted`` names the library and the fix.

No library is imported here: a mock is recognised by the names of its class and module.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from typing import Any, Final

__all__ = ["default_mocks", "intercepted", "let_through", "library_of"]

Undo = Callable[[], None]

# (top-level module, class name in the mock's MRO) → the library's name in messages.
_KINDS: Final = {
    ("requests_mock", "Mocker"): "requests-mock",
    ("responses", "RequestsMock"): "responses",
    ("respx", "Router"): "respx",
    ("aioresponses", "aioresponses"): "aioresponses",
}

# How to let ``mockserver.url`` through by hand, in each library's own words.
_NATIVE: Final = {
    "requests-mock": "m.register_uri(requests_mock.ANY, re.compile(re.escape(mockserver.url)), "
    "real_http=True)",
    "responses": "responses.add_passthru(mockserver.url)",
    "respx": "respx_mock.route(url__startswith=mockserver.url).pass_through()",
    "aioresponses": "aioresponses(passthrough=[mockserver.url])",
}


def library_of(mock: Any) -> str | None:
    """Which mocking library ``mock`` belongs to, if one mockserver knows."""
    for cls in type(mock).__mro__:
        kind = _KINDS.get((str(cls.__module__).partition(".")[0], cls.__name__))
        if kind is not None:
            return kind
    return None


def _prefixes(urls: Iterable[str]) -> list[str]:
    # With the slash: port 5000's prefix must not let port 50001 through.
    return sorted({url.rstrip("/") + "/" for url in urls})


def let_through(mock: Any, urls: Iterable[str]) -> Undo | None:
    """Let requests to ``urls`` through ``mock`` to the network; returns how to take that
    back when it would count against the mock (respx asserts every route was called)."""
    prefixes = _prefixes(urls)
    library = library_of(mock)
    if not prefixes or library is None:
        return None
    pattern = re.compile("^(?:" + "|".join(re.escape(p) for p in prefixes) + ")")
    if library == "requests-mock":
        import requests_mock  # loaded: the mock is one of its objects

        mock.register_uri(requests_mock.ANY, pattern, real_http=True)
    elif library == "responses":
        if not any(getattr(p, "pattern", p) == pattern.pattern for p in mock.passthru_prefixes):
            mock.add_passthru(pattern)
    elif library == "respx":
        return _respx_route(mock, pattern)
    else:
        # aioresponses takes passthrough= only when built; its instance keeps the list here.
        passthrough = mock._passthrough
        passthrough.extend(p for p in prefixes if p not in passthrough)
    return None


def _respx_route(router: Any, pattern: re.Pattern[str]) -> Undo:
    route = router.route(url__regex=pattern.pattern).pass_through()

    def undo() -> None:
        kept = type(router.routes)()
        for other in router.routes:
            if other is not route:
                kept.add(other, name=other.name)
        router.routes[:] = kept

    return undo


def default_mocks() -> list[Any]:
    """Module-level mocks a test may activate with a decorator (``@responses.activate``)."""
    responses = sys.modules.get("responses")
    mock = getattr(responses, "mock", None)
    return [mock] if mock is not None else []


def intercepted(exc: BaseException, urls: Iterable[str]) -> str | None:
    """One line, when ``exc`` (or what caused it) is a mocking library refusing a request to
    one of ``urls``: which library, and how to let the server's URLs through it."""
    prefixes = [p.rstrip("/") for p in _prefixes(urls)]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current)
        library = _refusing_library(current, text)
        if library is not None:
            url = next((p for p in prefixes if re.search(re.escape(p) + "(?![0-9])", text)), None)
            if url is not None:
                return (
                    f"mockserver: {library} intercepted a request to mockserver's own server "
                    f"({url}): let the server's URLs through it with "
                    f"mockserver.let_through(<the mock>), or {_NATIVE[library]}; a mock the "
                    "test gets from a fixture lets them through by itself"
                )
        current = current.__cause__ or current.__context__
    return None


def _refusing_library(exc: BaseException, text: str) -> str | None:
    module = type(exc).__module__.partition(".")[0]
    if module == "requests_mock" and type(exc).__name__ == "NoMockAddress":
        return "requests-mock"
    if module == "respx":
        return "respx"
    if text.startswith("Connection refused by Responses"):
        return "responses"
    if module == "aiohttp" and text.startswith("Connection refused: "):
        return "aioresponses" if "aioresponses" in sys.modules else None
    return None
