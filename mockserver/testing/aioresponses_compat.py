"""Which aioresponses mock_aiohttp can use, and a response class for the release users have.

aioresponses 0.7.9 (the latest release) builds its responses with aiohttp's ClientResponse,
whose ``__init__`` gained a required ``stream_writer`` in aiohttp 3.14; it accepts a
``response_class``, so ours supplies one. The fork aioresponses-ng (same import name) passes
it itself. Whatever is installed is tried once with one request, so a copy that cannot work
fails the fixture's setup with one line naming the fix, not a TypeError inside the library.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Final

from mockserver.core.errors import MockServerError
from mockserver.core.headernames import CONTENT_TYPE

__all__ = ["AIORESPONSES_FIX", "OfflineUnavailable", "response_class", "usable_aioresponses"]

# What the offline extra installs; named in every "cannot use aioresponses" line.
AIORESPONSES_FIX: Final = "pip install 'mockserver[offline]' (aioresponses>=0.7.9)"
_PROBE_URL: Final = "http://mockserver.invalid/"


class OfflineUnavailable(MockServerError):
    """A socket-free fixture cannot work with what is installed; the message names the fix."""


def usable_aioresponses() -> Any:
    """The installed aioresponses module, once it has answered a request; else
    OfflineUnavailable."""
    try:
        import aioresponses as module
    except ImportError as exc:
        raise OfflineUnavailable(
            f"mock_aiohttp needs aioresponses ({exc}): {AIORESPONSES_FIX}"
        ) from None
    except Exception as exc:  # e.g. an old release's DeprecationWarning under -W error
        spec = find_spec("aioresponses")
        origin = spec.origin if spec is not None else None
        raise OfflineUnavailable(_cannot_use(origin, f"{type(exc).__name__}: {exc}")) from None
    problem = _probe(module.__file__ or "", module)
    if problem is not None:
        raise OfflineUnavailable(problem)
    return module


_PROBED: dict[str, str | None] = {}


def _probe(where: str, module: Any) -> str | None:
    """One request through the installed aioresponses (once per copy of it): whatever it
    cannot do is found at fixture setup, not deep inside the library in the test."""
    if where not in _PROBED:
        # A thread of its own: the fixture may be set up inside a running event loop.
        with ThreadPoolExecutor(1) as pool:
            _PROBED[where] = pool.submit(_probe_once, module).result()
    return _PROBED[where]


def _probe_once(module: Any) -> str | None:
    import aiohttp

    def callback(url: Any, **_: Any) -> Any:
        # The keywords offline.py's callbacks answer with.
        return module.CallbackResult(
            method="GET",
            status=204,
            body=b"",
            headers={CONTENT_TYPE: "text/plain"},
            content_type="text/plain",
            reason="No Content",
            response_class=response_class(),
        )

    async def request() -> int:
        with module.aioresponses() as mock:
            mock.add(_PROBE_URL, callback=callback)
            async with aiohttp.ClientSession() as session, session.get(_PROBE_URL) as response:
                await response.read()
                return response.status

    try:
        status = asyncio.run(request())
    except Exception as exc:
        failure = f"{type(exc).__name__}: {exc}"
    else:
        if status == 204:
            return None
        failure = f"a 204 came back as {status}"
    return _cannot_use(module.__file__, failure)


def _cannot_use(origin: str | None, failure: str) -> str:
    """The one line for an aioresponses that is there but cannot work."""
    import aiohttp

    owners = _owners(origin)
    installed = ", ".join(f"{dist.name} {dist.version}" for dist in owners) or "unknown"
    # Both distributions install the same files: one's files over the other's.
    shared = " (their files are mixed: uninstall both, then install one)" * (len(owners) > 1)
    return (
        f"mock_aiohttp cannot use the installed aioresponses ({installed}) on "
        f"aiohttp {aiohttp.__version__}: {' '.join(failure.split())}; {AIORESPONSES_FIX}{shared}"
    )


def _owners(origin: str | None) -> list[metadata.Distribution]:
    """The distributions (aioresponses, aioresponses-ng) whose files include this copy."""
    if origin is None:
        return []
    where = Path(origin).resolve()
    return [
        dist
        for dist in metadata.distributions()
        if any(
            str(f).startswith("aioresponses/") and Path(str(dist.locate_file(f))).resolve() == where
            for f in dist.files or ()
        )
    ]


@cache
def response_class() -> type[Any]:
    """A ClientResponse that aioresponses 0.7.9 can build on aiohttp 3.14 (and the fork too)."""
    from aiohttp import ClientResponse

    class OfflineResponse(ClientResponse):
        """aiohttp 3.14 made ``stream_writer`` a required argument, which aioresponses 0.7.9
        does not pass; for a response built after its request was sent (``writer=None``)
        aiohttp reads only its ``output_size``, the bytes sent: none, with no socket."""

        def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
            kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
            super().__init__(method, url, **kwargs)

    return OfflineResponse
