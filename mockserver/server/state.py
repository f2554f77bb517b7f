"""What every listener of one mockserver shares: a leaf the handler and the admin routes both
read, so neither imports the other for it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from mockserver.core.config import Settings
from mockserver.core.namespaces import MemoryNamespaces, Namespaces
from mockserver.core.store import StubStore
from mockserver.recording.forwarding import Forwarding
from mockserver.server.webhooks import Webhooks

if TYPE_CHECKING:
    from mockserver.state.namespaces import RedisNamespaces
    from mockserver.state.redis import RedisState
    from mockserver.state.runtime_stubs import SharedStubs
    from mockserver.state.steps import Steps

__all__ = ["ServerState"]


async def _nothing() -> None:
    return None


@dataclass(slots=True)
class ServerState:
    """What every listener of one mockserver shares."""

    settings: Settings
    store: StubStore
    base_urls: dict[str, str] = field(default_factory=dict)  # service → its base URL
    main_url: str = ""
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Called after a reload swapped in a new set: the runner opens ports new services declare.
    after_reload: Callable[[], Awaitable[None]] = _nothing
    # Record and spy modes: where unmatched (or all) requests are forwarded.
    forwarding: Forwarding | None = None
    # serve --workers: admin calls (token checked) go to the coordinator, which applies them
    # to every worker process (cluster.py); None answers them here.
    admin_forward: (
        Callable[[web.BaseRequest, str, int | None], Awaitable[web.StreamResponse]] | None
    ) = None
    # Parallel suites' states beside the default one (namespaces.py); and, in the view of the
    # state an admin call in a namespace gets, that namespace's name.
    namespaces: Namespaces | None = None
    namespace: str | None = None
    # The stubs' webhooks: sent after their answers, journaled for GET /__admin/webhooks.
    webhooks: Webhooks = field(default_factory=Webhooks)
    # serve --state redis://...: the store replicas share (state/redis.py); None with memory,
    # so the memory path never awaits anything for it.
    shared: RedisState | None = None
    # With ``shared``: the runtime stubs every replica serves (stub_writes.py writes them).
    shared_stubs: SharedStubs | None = None
    # With ``shared``: ``namespaces`` too, registered across replicas (namespace_admin.py).
    shared_namespaces: RedisNamespaces | None = None
    # ... and its sequences, scenarios and resources (state/steps.py).
    steps: Steps | None = None

    def __post_init__(self) -> None:
        if self.namespaces is None:
            self.namespaces = MemoryNamespaces(self.store, self.settings)

    def store_of(self, namespace: str | None) -> StubStore | None:
        """The store of ``namespace`` (None: the default one), if this process holds it."""
        if namespace is None:
            return self.store
        assert self.namespaces is not None  # made by __post_init__
        return self.namespaces.find(namespace)
