"""Runtime stubs (admin writes) shared by replicas through Redis.

Redis holds, per namespace (keys.Keys): ``stubs``, a hash of stub id → ``SEQ\\nDEFINITION``
(the stub as the admin input gave it, with its final id and service, as JSON; SEQ orders the
runtime stubs as the memory store's counter does, newest first); ``removed``, the file stub
ids admin calls removed or replaced; ``version``, moved by every write. A write is one
WATCH/MULTI transaction on ``version`` (the id checks read what is there, so a duplicate
explicit id is refused whichever replica holds it), then a "stubs" event.

Every replica keeps its StubStore as a copy: it reads the namespace again when an event says
the version moved, and, as a safety net for a lost event, when its poll (every POLL seconds)
finds another version; what it reads replaces the store's runtime stubs whole. A definition
is parsed once per (id, entry) and kept, so a change re-parses only what changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from mockserver.core.errors import StubFileError
from mockserver.core.model import Stub
from mockserver.core.store import StubStore, unique_id
from mockserver.formats.loader import admin_body_reader
from mockserver.state import background
from mockserver.state.keys import EPOCH, Keys
from mockserver.state.reseed import Held, restore
from mockserver.state.unavailable import StoreUnavailable
from mockserver.stubfiles.stubinput import parse_stub_input

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import Pipeline

    from mockserver.state.redis import RedisState

__all__ = ["POLL", "SharedStubs"]

log = logging.getLogger("mockserver")

# The version check behind the events: a lost event is made good within this many seconds.
POLL = 0.5


@dataclass(slots=True)
class _Copy:
    """One namespace's runtime stubs as this replica serves them."""

    store: StubStore
    version: int = -1  # the version last applied; -1: never read
    parsed: dict[str, tuple[str, Stub]] = field(default_factory=dict)  # id -> (entry, stub)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pending: bool = False  # a read is scheduled


def _entry(stub: Stub, seq: int) -> str:
    definition = {**stub.definition, "id": stub.id, "service": stub.service}
    return f"{seq}\n{json.dumps(definition, separators=(',', ':'), ensure_ascii=False)}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class SharedStubs:
    """The runtime stubs of every namespace this replica holds, kept as copies of Redis."""

    def __init__(self, shared: RedisState, paths: Sequence[str]) -> None:
        self.shared = shared
        self._reader = admin_body_reader(paths)
        self._copies: dict[str | None, _Copy] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None
        shared.on("stubs", self._changed)
        shared.on("reset", self._reset)
        shared.on_recover(self.refresh_all)  # each read checks the data set first
        self.epoch: str | None = None  # the token of Redis's data set (reseed.py)

    # -- the copies -------------------------------------------------------------------------

    def attach(self, namespace: str | None, store: StubStore) -> None:
        """Keep ``store`` a copy of ``namespace``'s runtime stubs (read at start, or now in
        the background when started already)."""
        self._copies[namespace] = _Copy(store)
        if self._poller is not None:
            self._schedule(namespace)

    def detach(self, namespace: str | None) -> None:
        self._copies.pop(namespace, None)

    async def start(self) -> None:
        """Learn the data set's token, read what is there now (when Redis answers) and start
        the version check."""
        with contextlib.suppress(StoreUnavailable):  # --state-wait: on recovery
            self.epoch = await restore(self.shared, None, ())
            await self.refresh_all()
        self._poller = background.start(self._poll(), "mockserver-redis-stubs-poll")

    async def close(self) -> None:
        poller, self._poller = self._poller, None
        await background.stop(poller, *self._tasks)

    def held(self) -> list[Held]:
        """Every copy, as reseed.py puts it back into a Redis that lost its data."""
        return [
            Held(
                namespace,
                copy.version,
                {stub_id: entry for stub_id, (entry, _) in copy.parsed.items()},
                frozenset(copy.store.removed),
            )
            for namespace, copy in self._copies.items()
        ]

    async def refresh_all(self) -> None:
        for namespace in list(self._copies):
            await self.refresh(namespace)

    async def refresh(self, namespace: str | None) -> None:
        """Read ``namespace``'s runtime stubs from Redis and serve them.

        Raises:
            StoreUnavailable: Redis cannot be reached (the copy keeps serving as it was).
        """
        copy = self._copies.get(namespace)
        if copy is None:
            return
        keys = Keys(namespace)

        async def read(client: Redis) -> list[Any]:
            async with client.pipeline(transaction=True) as pipe:
                pipe.get(EPOCH)
                pipe.get(keys.version)
                pipe.hgetall(keys.stubs)
                pipe.smembers(keys.removed)
                return await pipe.execute()

        async with copy.lock:  # one read at a time: a later read is applied last
            epoch, version, entries, removed = await self.shared.run(read)
            if not await self.same_data(epoch):  # read what was put back
                epoch, version, entries, removed = await self.shared.run(read)
            self._apply(namespace, copy, int(version or 0), entries, removed)

    async def same_data(self, epoch: bytes | str | None) -> bool:
        """False when Redis no longer holds the data set this replica knows (``epoch`` is
        its token now): a restart lost it, and it has been put back (reseed.py) since.

        Raises:
            StoreUnavailable: Redis cannot be reached.
        """
        if epoch is not None and _text(epoch) == self.epoch:
            return True
        self.epoch = await restore(self.shared, self.epoch, self.held())
        return False

    def _apply(
        self,
        namespace: str | None,
        copy: _Copy,
        version: int,
        entries: dict[bytes, bytes],
        removed: Collection[bytes],
    ) -> None:
        parsed: dict[str, tuple[str, Stub]] = {}
        for raw_id, raw_entry in entries.items():
            stub_id, entry = _text(raw_id), _text(raw_entry)
            known = copy.parsed.get(stub_id)
            stub = known[1] if known is not None and known[0] == entry else None
            if stub is None:
                stub = self._parse(namespace, copy.store, stub_id, entry)
            if stub is not None:
                parsed[stub_id] = (entry, stub)
        runtime = sorted((stub for _, stub in parsed.values()), key=lambda s: -s.order)
        copy.parsed, copy.version = parsed, version
        copy.store.replace_runtime(runtime, {_text(r) for r in removed})

    def _parse(
        self, namespace: str | None, store: StubStore, stub_id: str, entry: str
    ) -> Stub | None:
        seq, _, text = entry.partition("\n")
        try:
            definition = json.loads(text)
            (stub,), _ = parse_stub_input(
                definition, [definition["service"]], self._reader, store.snapshot.stubs.services
            )
            return replace(stub, order=-int(seq))
        except (StubFileError, ValueError, KeyError, TypeError) as exc:
            # Another replica took it: its files differ from ours (a body_file missing here).
            where = f" in namespace {namespace}" if namespace else ""
            log.warning("runtime stub %r%s cannot be served here: %s", stub_id, where, exc)
            return None

    # -- writes -----------------------------------------------------------------------------

    async def add(
        self,
        namespace: str | None,
        store: StubStore,
        stubs: Sequence[Stub],
        explicit_ids: Collection[str] = (),
    ) -> list[Stub]:
        """``StubStore.add`` across replicas: all or none, explicit ids new everywhere.

        Raises:
            DuplicateStubError: an explicit id is taken (nothing is added).
            StoreUnavailable: Redis cannot be reached (nothing is added).
        """
        keys = Keys(namespace)
        files = store.file_snapshot.by_id

        async def write(pipe: Pipeline) -> list[tuple[Stub, str]]:
            held = {_text(i) for i in await pipe.hkeys(keys.stubs)}
            gone = {_text(i) for i in await pipe.smembers(keys.removed)}
            seq = int(await pipe.get(keys.version) or 0)
            taken = held | (files.keys() - gone)
            written: list[tuple[Stub, str]] = []
            for stub in stubs:
                seq += 1
                stored = replace(stub, id=unique_id(stub.id, taken, explicit_ids), order=-seq)
                written.append((stored, _entry(stored, seq)))
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.hset(keys.stubs, mapping={s.id: entry for s, entry in written})
            pipe.incrby(keys.version, len(written))
            return written

        return await self._write(namespace, keys, write)

    async def put_many(
        self, namespace: str | None, store: StubStore, stubs: Sequence[Stub]
    ) -> list[Stub]:
        """``StubStore.put_many`` across replicas (a later stub of an id replaces an earlier).

        Raises:
            StoreUnavailable: Redis cannot be reached (nothing is written).
        """
        keys = Keys(namespace)
        unique = list({stub.id: stub for stub in stubs}.values())
        replaced = [s.id for s in unique if s.id in store.file_snapshot.by_id]

        async def write(pipe: Pipeline) -> list[tuple[Stub, str]]:
            seq = int(await pipe.get(keys.version) or 0)
            written = []
            for number, stub in enumerate(unique, seq + 1):
                stored = replace(stub, order=-number)
                written.append((stored, _entry(stored, number)))
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.hset(keys.stubs, mapping={s.id: entry for s, entry in written})
            if replaced:
                pipe.sadd(keys.removed, *replaced)
            pipe.incrby(keys.version, len(written))
            return written

        return await self._write(namespace, keys, write)

    async def remove(self, namespace: str | None, store: StubStore, stub_id: str) -> bool:
        """``StubStore.remove`` across replicas.

        Raises:
            StoreUnavailable: Redis cannot be reached (nothing is removed).
        """
        keys = Keys(namespace)
        is_file = stub_id in store.file_snapshot.by_id

        async def write(pipe: Pipeline) -> bool:
            held = bool(await pipe.hexists(keys.stubs, stub_id))
            hide = is_file and not await pipe.sismember(keys.removed, stub_id)
            if not (held or hide):
                return False
            pipe.multi()  # type: ignore[no-untyped-call]
            if held:
                pipe.hdel(keys.stubs, stub_id)
            if hide:
                pipe.sadd(keys.removed, stub_id)
            pipe.incr(keys.version)
            return True

        found: bool = await self.shared.run(
            lambda client: client.transaction(write, keys.version, value_from_callable=True)
        )
        if found:
            await self._changed_here(namespace)
        return found

    async def _write(self, namespace: str | None, keys: Keys, write: Any) -> list[Stub]:
        written: list[tuple[Stub, str]] = await self.shared.run(
            lambda client: client.transaction(write, keys.version, value_from_callable=True)
        )
        copy = self._copies.get(namespace)
        if copy is not None:  # parsed here already: the read below keeps them
            copy.parsed.update({stub.id: (entry, stub) for stub, entry in written})
        await self._changed_here(namespace)
        return [stub for stub, _ in written]

    async def _changed_here(self, namespace: str | None) -> None:
        """Serve the write here before answering it, then tell the other replicas."""
        await self.refresh(namespace)
        copy = self._copies.get(namespace)
        await self.shared.publish(namespace, "stubs", version=copy.version if copy else None)

    # -- reset and reload ----------------------------------------------------------------------

    async def reset(self, namespace: str | None, store: StubStore) -> None:
        """``StubStore.reset`` on every replica: the namespace's keys deleted at once (one DEL
        of them all), then this store reset and the others told ("reset").

        Raises:
            StoreUnavailable: Redis cannot be reached (nothing is reset).
        """
        await self.shared.run(lambda client: client.delete(*Keys(namespace).all()))
        copy = self._copies.get(namespace)
        if copy is not None:
            async with copy.lock:
                store.reset()
                copy.parsed, copy.version = {}, 0
        else:
            store.reset()
        await self.shared.publish(namespace, "reset")

    async def reloaded(self) -> None:
        """After this replica reloaded its files: removals are undone (as a reload does in
        memory) and every other replica reloads its files ("reload").

        Raises:
            StoreUnavailable: Redis cannot be reached (the other replicas keep their files).
        """
        keys = Keys(None)

        async def undo(client: Redis) -> None:
            async with client.pipeline(transaction=True) as pipe:
                pipe.delete(keys.removed)
                pipe.incr(keys.version)
                await pipe.execute()

        await self.shared.run(undo)
        await self.refresh(None)
        await self.shared.publish(None, "reload")

    def _reset(self, event: dict[str, Any]) -> None:
        namespace = event.get("ns")
        copy = self._copies.get(namespace)
        if copy is None or event.get("origin") == self.shared.replica:
            return
        copy.store.reset()
        copy.parsed, copy.version = {}, 0
        self._schedule(namespace)  # what was written after the reset, if anything

    # -- other replicas' writes ----------------------------------------------------------------

    def _changed(self, event: dict[str, Any]) -> None:
        namespace = event.get("ns")
        copy = self._copies.get(namespace)
        if copy is not None and event.get("version") != copy.version:
            self._schedule(namespace)

    def _schedule(self, namespace: str | None) -> None:
        copy = self._copies.get(namespace)
        if copy is None or copy.pending:
            return
        copy.pending = True

        async def read() -> None:
            copy.pending = False
            with contextlib.suppress(StoreUnavailable):  # read again on recovery
                await self.refresh(namespace)

        background.start(read(), f"mockserver-redis-stubs-read-{namespace}", self._tasks)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL)
            names = list(self._copies)
            if not names or not self.shared.available:
                continue  # the listener notices Redis coming back, and refresh_all follows
            try:
                epoch, *versions = await self._versions(names)
                if not await self.same_data(epoch):  # a restart lost it: read all again
                    await self.refresh_all()
                    continue
            except StoreUnavailable:
                continue
            for name, version in zip(names, versions, strict=True):
                copy = self._copies.get(name)
                if copy is not None and int(version or 0) != copy.version:
                    self._schedule(name)

    async def _versions(self, names: list[str | None]) -> list[Any]:
        wanted = [EPOCH, *(Keys(name).version for name in names)]
        return await self.shared.run(lambda client: client.mget(wanted))
