"""Namespaces: parallel test suites on one server, each with a state of its own.

A request whose path begins ``/__ns/<name>/`` is served by namespace ``<name>``, with that
prefix taken off before anything else looks at the path: service requests
(``http://host:port/__ns/ci-42/api/user/1`` is ``GET /api/user/1`` there) and admin calls
(``/__ns/ci-42/__admin/reset``) alike, so any HTTP client given the namespaced base URL works,
the admin clients included. A namespace has its own runtime stubs, journal, sequence positions,
resources and seeded draws over the server's file stubs, which every namespace shares (a reload
reaches them all). Without the prefix, the default namespace answers, as it always has.

Why a path prefix: it is the one part of a base URL that every HTTP client keeps, where a
header needs the application's code to send it and a host name needs DNS.

A namespace begins with its first admin call (which needs the token when one is set, so a
client without it cannot create any) and ends with ``DELETE .../__admin/namespace`` or after
``namespace_ttl`` seconds with no request or admin call. At most ``max_namespaces`` are held;
past that, creating one is refused with 429, naming the limit. Each holds at most a journal's
worth of requests (``journal_size`` entries, bodies cut at ``journal_body_cap``).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from mockserver.core.config import Settings
from mockserver.core.errors import ProblemError
from mockserver.core.journal import Journal
from mockserver.core.store import StubStore

__all__ = [
    "NS_PREFIX",
    "MemoryNamespaces",
    "NamespaceError",
    "Namespaces",
    "follow_files",
    "namespace_store",
    "split_namespace",
    "too_many",
]

NS_PREFIX: Final = "/__ns/"
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class NamespaceError(ProblemError):
    """A namespace that cannot be used: a bad name, too many, or unknown."""

    def __init__(self, status: int, error: str, detail: str, retry_after: int | None = None):
        super().__init__(status, error, detail)
        self.retry_after = retry_after


def split_namespace(path: str) -> tuple[str, str]:
    """``/__ns/<name>/rest`` → ``(name, "/rest")``.

    Raises:
        NamespaceError: the name is not 1 to 64 letters, digits, ``.``, ``_`` or ``-``
            (starting with a letter or digit).
    """
    name, _, rest = path[len(NS_PREFIX) :].partition("/")
    if not _NAME.fullmatch(name):
        raise NamespaceError(
            400,
            "bad namespace",
            f"namespace {name[:80]!r}: 1 to 64 letters, digits, '.', '_' or '-', starting "
            "with a letter or digit, as in /__ns/ci-42/...",
        )
    return name, "/" + rest


class Namespaces(Protocol):
    """Where the namespaces of a server live: this process (MemoryNamespaces) or, for replicas,
    a shared store (issue 19). A namespace's state is a StubStore over the shared file stubs."""

    def open(self, name: str) -> StubStore:
        """The namespace's state, created empty when it does not exist (an admin call)."""
        ...

    def find(self, name: str) -> StubStore | None:
        """The namespace's state, None when it does not exist (a service request)."""
        ...

    def drop(self, name: str) -> bool:
        """End a namespace; False when it did not exist."""
        ...

    def describe(self) -> dict[str, Any]:
        """The namespaces held, for ``GET /__admin/namespaces``."""
        ...


def too_many(limit: int, ttl: float, oldest_idle: float) -> NamespaceError:
    """The 429 for a namespace past ``limit``; the oldest held has been idle so long."""
    wait = max(1, math.ceil(ttl - oldest_idle))
    return NamespaceError(
        429,
        "too many namespaces",
        f"this server holds as many namespaces as it may (--max-namespaces {limit}); "
        f"one idle for {ttl:g} s expires (--namespace-ttl), the next in {wait} s; "
        "end yours with DELETE /__ns/<name>/__admin/namespace when done",
        retry_after=wait,
    )


def namespace_store(default: StubStore, settings: Settings) -> StubStore:
    """A new namespace's state: empty, over ``default``'s file stubs (indexed once for all)."""
    journal = Journal(settings.journal_size, settings.journal_body_cap)
    store = StubStore(default.loaded, journal, settings.seed, snapshot=default.file_snapshot)
    store.request_check = default.request_check  # serve --openapi holds in every namespace
    return store


def follow_files(store: StubStore, default: StubStore) -> StubStore:
    """``store`` over ``default``'s file stubs, reloaded when the files were since."""
    if store.loaded is not default.loaded:  # the files were reloaded since: they are shared
        store.reload(default.loaded, default.file_snapshot)
    return store


@dataclass(slots=True)
class _Space:
    store: StubStore
    used: float  # the clock's reading at its last request or admin call


class MemoryNamespaces:
    """The namespaces of one process, beside its default store (whose file stubs they share)."""

    def __init__(
        self,
        default: StubStore,
        settings: Settings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._default = default
        self._settings = settings
        self._clock = clock
        self.limit = settings.max_namespaces
        self.ttl = settings.namespace_ttl
        self._spaces: dict[str, _Space] = {}
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        for name in [n for n, s in self._spaces.items() if now - s.used > self.ttl]:
            del self._spaces[name]

    def _touch(self, name: str, create: bool) -> StubStore | None:
        now = self._clock()
        with self._lock:
            space = self._spaces.get(name)
            if space is not None and now - space.used > self.ttl:
                del self._spaces[name]  # idle past its time: what it held is gone
                space = None
            if space is None:
                if not create:
                    return None
                self._expire(now)
                if len(self._spaces) >= self.limit:
                    raise self._full(now)
                space = self._spaces[name] = _Space(self._new_store(), now)
            space.used = now
            store = space.store
        return follow_files(store, self._default)

    def _full(self, now: float) -> NamespaceError:
        oldest = min(s.used for s in self._spaces.values())
        return too_many(self.limit, self.ttl, now - oldest)

    def _new_store(self) -> StubStore:
        return namespace_store(self._default, self._settings)

    def open(self, name: str) -> StubStore:
        store = self._touch(name, create=True)
        assert store is not None  # created
        return store

    def find(self, name: str) -> StubStore | None:
        return self._touch(name, create=False)

    def drop(self, name: str) -> bool:
        with self._lock:
            return self._spaces.pop(name, None) is not None

    def describe(self) -> dict[str, Any]:
        now = self._clock()
        with self._lock:
            self._expire(now)
            spaces = sorted(self._spaces.items())
        return {
            "namespaces": [
                {
                    "name": name,
                    "idle_seconds": round(now - space.used, 3),
                    "runtime_stubs": len(space.store.runtime),
                    "requests": len(space.store.journal),
                }
                for name, space in spaces
            ],
            "max_namespaces": self.limit,
            "namespace_ttl": self.ttl,
        }
