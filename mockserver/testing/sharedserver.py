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
from collections.abc import Callable

from mockserver.core.errors import MockServerError
from mockserver.core.namespaces import NS_PREFIX
from mockserver.testing.client import AdminError, MockServerClient
from mockserver.testing.handle import RemoteBackend

__all__ = ["NamespaceRefused", "open_remote", "session_namespace"]


class NamespaceRefused(MockServerError):
    """The shared server would not begin this session's namespace (at its limit)."""


def session_namespace(choice: str) -> str | None:
    """``auto``: a fresh name, e.g. ``gw3-5f0c9a2e`` (the xdist worker, else ``main``);
    ``none``: the server's default namespace, shared with every other client."""
    if choice == "none":
        return None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{worker}-{secrets.token_hex(4)}"


def open_remote(
    server: MockServerClient, namespace: str
) -> tuple[RemoteBackend, Callable[[], None]]:
    """A backend on the server ``server`` reaches, in a namespace as ``namespace`` says (auto,
    none), begun now; and what ends it (``server`` itself is the caller's to close).

    Raises:
        NamespaceRefused: the server holds as many namespaces as it may.
    """
    name = session_namespace(namespace)
    if name is None:
        return RemoteBackend(server), lambda: None
    client = MockServerClient(server.base_url + NS_PREFIX + name, token=server.token)
    try:
        client.reset()  # begins it: a refusal is the session's, not each test's
    except AdminError as exc:
        client.close()
        if exc.status != 429:
            raise
        raise NamespaceRefused(
            f"the server at {server.base_url} refuses this session a namespace: {exc.detail}; "
            "or run with --mockserver-namespace none to share its default namespace"
        ) from None

    def close() -> None:
        try:
            with contextlib.suppress(MockServerError, OSError):
                client.end_namespace()  # or it expires when idle
        finally:
            client.close()

    return RemoteBackend(client), close
