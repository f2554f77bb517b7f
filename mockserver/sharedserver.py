"""The plugin on a shared server (``--mockserver-url``): a namespace of this session's own.

Parallel suites (xdist workers, CI jobs) driving one server would reset and override each
other; each session therefore works in a namespace (namespaces.py) named after its xdist
worker and a random part, reaches every service through URLs that carry it, and ends it when
the session ends (else it expires when idle).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator

from .client import MockServerClient
from .errors import MockServerError
from .handle import RemoteBackend
from .namespaces import NS_PREFIX

__all__ = ["remote_backend", "session_namespace"]


def session_namespace(choice: str) -> str | None:
    """``auto``: a fresh name, e.g. ``gw3-5f0c9a2e`` (the xdist worker, else ``main``);
    ``none``: the server's default namespace, shared with every other client."""
    if choice == "none":
        return None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{worker}-{secrets.token_hex(4)}"


@contextlib.contextmanager
def remote_backend(url: str, token: str | None, namespace: str) -> Iterator[RemoteBackend]:
    """A backend on the server at ``url``, in a namespace as ``namespace`` says (auto, none)."""
    name = session_namespace(namespace)
    base = url.rstrip("/") + (NS_PREFIX + name if name else "")
    with MockServerClient(base, token=token) as client:
        try:
            yield RemoteBackend(client)
        finally:
            if name is not None:
                with contextlib.suppress(MockServerError, OSError):
                    client.end_namespace()  # or it expires when idle
