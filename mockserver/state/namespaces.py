"""Namespaces across replicas: the registry in Redis, a local StubStore per namespace as a copy.

The registry (keys.NAMESPACES) is a sorted set of the namespaces held, scored by their last
use in Redis's clock. Opening a namespace on any replica registers it there, counted against
``max_namespaces`` across all replicas (one Lua script: the check and the add together), and
tells the others ("namespace"); ending one deletes its keys and its entry at once and tells
them ("namespace-end"). Every replica holds a copy (core.namespaces.Namespaces, answered from
memory without a round trip: a request under /__ns/<name>/ never waits for Redis) of every
registered namespace, and every POLL seconds: writes the last uses seen here, sweeps the
namespaces idle past ``namespace_ttl`` (their keys deleted with their entry, one script each)
and reads the registry, so a lost event is made good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from mockserver.core.config import Settings
from mockserver.core.namespaces import follow_files, namespace_store, too_many
from mockserver.core.store import StubStore
from mockserver.state import background
from mockserver.state.journal_stream import SharedJournal
from mockserver.state.keys import EPOCH, NAMESPACES, Keys
from mockserver.state.runtime_stubs import POLL, SharedStubs
from mockserver.state.unavailable import StoreUnavailable

if TYPE_CHECKING:
    from mockserver.state.redis import RedisState

__all__ = ["RedisNamespaces"]

log = logging.getLogger("mockserver")

# KEYS: the registry. ARGV: name, limit. Registers (or touches) the namespace unless the
# registry is full; returns {1} held already, {2} added, {0, idle seconds of the oldest}.
_OPEN = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], t, ARGV[1])
  return {1}
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tostring(t - tonumber(oldest[2]))}
end
redis.call('ZADD', KEYS[1], t, ARGV[1])
return {2}
"""
# KEYS: the registry, then the namespace's keys. ARGV: name, ttl (-1: end it whatever its
# age). Deletes its keys with its entry when it has been idle past ttl; 1 when it did.
_END = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score then return 0 end
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
if tonumber(ARGV[2]) >= 0 and t - tonumber(score) <= tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', unpack(KEYS, 2))
return 1
"""
# KEYS: the registry, the data set's token. ARGV: names used here lately. Their last use is
# now (if still held); returns the registry with scores, the time, and the token ('' if none).
_TOUCH = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
for _, name in ipairs(ARGV) do
  redis.call('ZADD', KEYS[1], 'XX', 'GT', t, name)
end
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
table.insert(all, tostring(t))
table.insert(all, redis.call('GET', KEYS[2]) or '')
return all
"""


class RedisNamespaces:
    """``core.namespaces.Namespaces`` for replicas sharing Redis (``ServerState.namespaces``);
    the async calls before the sync ones reach Redis (server/namespace_admin.py)."""

    def __init__(
        self, default: StubStore, settings: Settings, shared: RedisState, stubs: SharedStubs
    ) -> None:
        self._default, self._settings = default, settings
        self.shared, self.stubs = shared, stubs
        self.limit, self.ttl = settings.max_namespaces, settings.namespace_ttl
        self._spaces: dict[str, StubStore] = {}
        self._used: set[str] = set()
        self._idle: dict[str, float] = {}  # as the registry said at the last poll
        self._poller: asyncio.Task[None] | None = None
        shared.on("namespace", self._opened_elsewhere)
        shared.on("namespace-end", self._ended_elsewhere)

    # -- the Namespaces protocol: this replica's copies ----------------------------------------

    def open(self, name: str) -> StubStore:
        store = self._spaces.get(name) or self._hold(name)
        self._used.add(name)
        return follow_files(store, self._default)

    def find(self, name: str) -> StubStore | None:
        store = self._spaces.get(name)
        if store is None:
            return None
        self._used.add(name)
        return follow_files(store, self._default)

    def drop(self, name: str) -> bool:
        self.stubs.detach(name)
        self._idle.pop(name, None)
        return self._spaces.pop(name, None) is not None

    def describe(self) -> dict[str, Any]:
        return {
            "namespaces": [
                {
                    "name": name,
                    "idle_seconds": round(self._idle.get(name, 0.0), 3),
                    "runtime_stubs": len(store.runtime),
                    "requests": len(store.journal),
                }
                for name, store in sorted(self._spaces.items())
            ],
            "max_namespaces": self.limit,
            "namespace_ttl": self.ttl,
        }

    def _hold(self, name: str) -> StubStore:
        store = self._spaces[name] = namespace_store(self._default, self._settings)
        journal = self._default.journal
        if isinstance(journal, SharedJournal):  # the namespace's journal every replica shares
            store.journal = journal.stream.journal(name)
        self.stubs.attach(name, store)
        return store

    # -- across replicas -------------------------------------------------------------------

    async def opening(self, name: str) -> None:
        """Register ``name`` (or note its use) before an admin call in it.

        Raises:
            NamespaceError: 429, as many namespaces are held across replicas as may be.
            StoreUnavailable: Redis cannot be reached.
        """
        answer = await self.shared.run(
            lambda client: client.eval(_OPEN, 1, NAMESPACES, name, self.limit)
        )
        if int(answer[0]) == 0:
            raise too_many(self.limit, self.ttl, float(answer[1]))
        self._idle[name] = 0.0
        if name not in self._spaces:
            self._hold(name)
        if int(answer[0]) == 2:
            await self.shared.publish(name, "namespace")

    async def end(self, name: str) -> None:
        """End ``name`` on every replica: its keys and its entry deleted together.

        Raises:
            StoreUnavailable: Redis cannot be reached (nothing ended).
        """
        await self._end(name, -1)
        self.drop(name)
        await self.shared.publish(name, "namespace-end")

    async def _end(self, name: str, ttl: float) -> bool:
        keys = (NAMESPACES, *Keys(name).all())
        ended = await self.shared.run(lambda client: client.eval(_END, len(keys), *keys, name, ttl))
        return bool(ended)

    async def start(self) -> None:
        with contextlib.suppress(StoreUnavailable):  # --state-wait: read on recovery
            await self.poll()
        self.shared.on_recover(self.poll)
        self._poller = background.start(self._poll(), "mockserver-redis-namespaces")

    async def close(self) -> None:
        task, self._poller = self._poller, None
        await background.stop(task)

    async def poll(self) -> None:
        """Write the uses seen here, end what idled past its time, hold what the registry holds.

        Raises:
            StoreUnavailable: Redis cannot be reached.
        """
        used, self._used = sorted(self._used), set()
        # Only what was held before the read can be missing from it: one opened here while
        # the registry was being read is in Redis already, and stays.
        before = set(self._spaces)
        try:
            answer = await self._touch(used)
            if not await self.stubs.same_data(answer[-1] or None):
                answer = await self._touch(used)  # the registry as it was put back
        except StoreUnavailable:
            self._used.update(used)  # written on the next poll that reaches Redis
            raise
        now = float(answer[-2])
        held: dict[str, float] = {}
        for raw, score in zip(answer[:-2:2], answer[1:-2:2], strict=True):
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            held[name] = now - float(score)
        for name, idle in list(held.items()):
            if idle > self.ttl and await self._end(name, self.ttl):
                del held[name]
                await self.shared.publish(name, "namespace-end")
        for name in before - held.keys():
            self.drop(name)
        for name in held.keys() - self._spaces.keys():
            self._hold(name)
        self._idle = held

    async def _touch(self, used: list[str]) -> list[Any]:
        return await self.shared.run(
            lambda client: client.eval(_TOUCH, 2, NAMESPACES, EPOCH, *used)
        )

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL)
            if not self.shared.available:
                continue  # on_recover polls when Redis is back
            try:
                await self.poll()
            except StoreUnavailable:
                continue
            except Exception:  # a poll must not end the polling
                log.exception("reading the namespaces from the state store failed")

    async def described(self) -> dict[str, Any]:
        """``describe`` after a fresh look at the registry (GET /__admin/namespaces), or as
        last seen while Redis cannot be reached."""
        with contextlib.suppress(StoreUnavailable):
            await self.poll()
        return self.describe()

    # -- other replicas --------------------------------------------------------------------

    def _opened_elsewhere(self, event: dict[str, Any]) -> None:
        name = event.get("ns")
        if isinstance(name, str) and name not in self._spaces:
            self._hold(name)

    def _ended_elsewhere(self, event: dict[str, Any]) -> None:
        name = event.get("ns")
        if isinstance(name, str) and event.get("origin") != self.shared.replica:
            self.drop(name)
