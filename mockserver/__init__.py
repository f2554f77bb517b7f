"""mockserver: a test double for the HTTP services your Python program depends on."""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

from .client import AdminError, AsyncMockServerClient, MockServerClient
from .config import Settings
from .errors import MockServerError, Problem, StubFileError
from .loader import load_paths
from .model import RequestView, StubSet

if TYPE_CHECKING:
    from .runner import MockServer

__all__ = [
    "AdminError",
    "AsyncMockServerClient",
    "MockServer",
    "MockServerClient",
    "MockServerError",
    "Problem",
    "RequestView",
    "Settings",
    "StubFileError",
    "StubSet",
    "__version__",
    "load_paths",
]


def __getattr__(name: str) -> object:
    # The server (and aiohttp with it) loads only when asked for: `mockserver validate` and
    # the pure core stay quick to import.
    if name == "MockServer":
        from .runner import MockServer

        return MockServer
    raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
