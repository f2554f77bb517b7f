"""mockserver: a test double for the HTTP services your Python program depends on."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from mockserver.core.config import RecordMode, Settings
from mockserver.core.errors import MockServerError, Problem, StubFileError
from mockserver.core.model import StubSet
from mockserver.core.request import RequestView
from mockserver.core.version import __version__

if TYPE_CHECKING:
    from mockserver.formats.loader import load_paths
    from mockserver.server.runner import MockServer
    from mockserver.testing.client import AdminError, AsyncMockServerClient, MockServerClient
    from mockserver.testing.handle import MockServerHandle, ServiceHandle

__all__ = [
    "AdminError",
    "AsyncMockServerClient",
    "MockServer",
    "MockServerClient",
    "MockServerError",
    "MockServerHandle",
    "Problem",
    "RecordMode",
    "RequestView",
    "ServiceHandle",
    "Settings",
    "StubFileError",
    "StubSet",
    "__version__",
    "load_paths",
]

# Loaded when first asked for, so `import mockserver` (and with it the pytest plugin and the
# command line) does not pay for aiohttp, http.client or the loader until they are used.
_LAZY = {
    "AdminError": "testing.client",
    "AsyncMockServerClient": "testing.client",
    "MockServerClient": "testing.client",
    "MockServerHandle": "testing.handle",
    "ServiceHandle": "testing.handle",
    "load_paths": "formats.loader",
    "MockServer": "server.runner",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)
