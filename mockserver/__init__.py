"""mockserver: a test double for the HTTP services your Python program depends on."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"

from .config import Settings
from .errors import MockServerError, Problem, StubFileError
from .model import RequestView, StubSet

if TYPE_CHECKING:
    from .client import AdminError, AsyncMockServerClient, MockServerClient
    from .handle import MockServerHandle, ServiceHandle
    from .loader import load_paths
    from .runner import MockServer

__all__ = [
    "AdminError",
    "AsyncMockServerClient",
    "MockServer",
    "MockServerClient",
    "MockServerError",
    "MockServerHandle",
    "Problem",
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
    "AdminError": "client",
    "AsyncMockServerClient": "client",
    "MockServerClient": "client",
    "MockServerHandle": "handle",
    "ServiceHandle": "handle",
    "load_paths": "loader",
    "MockServer": "runner",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)
