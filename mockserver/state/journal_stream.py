"""The journal and hit counts replicas share: a capped Redis stream and a hash, fed in batches.

Every request is journaled in this process as with ``--state memory`` (SharedJournal records
it locally) and queued; a background flusher sends the queue every FLUSH_INTERVAL (at once
when FLUSH_AT entries wait) as one script call per namespace: XADD to the namespace's stream,
capped with ``MAXLEN ~ journal_size + LATE`` (reads keep the newest ``journal_size`` by the time
they were answered), and HINCRBY on its hits hash. So no request waits for
Redis, and another replica sees a request within about FLUSH_INTERVAL of its answer.

While Redis is away the queue waits, bounded (QUEUE_MAX entries, QUEUE_BODY_BYTES of bodies):
past that the oldest are dropped and counted in a warning. Admin reads flush this process's
queue first, then read Redis (``read``): a 503 naming the store while it is away.

A clear (``DELETE /__admin/requests``) or a reset writes the time it happened in the
namespace's ``cleared`` hash; the flush script drops queued requests answered before it, so a
replica that flushes late cannot bring back what was cleared (replicas on one machine share a
clock; across machines the bound is their clock skew).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from mockserver.core.journal import Journal, JournalEntry
from mockserver.core.request import RequestView
from mockserver.state import background
from mockserver.state.journal_codec import decode_entry, encode_entry
from mockserver.state.keys import NAMESPACES, Keys
from mockserver.state.unavailable import StoreUnavailable

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from mockserver.state.redis import RedisState

__all__ = ["UNMATCHED_FIELD", "JournalStream", "SharedJournal"]

log = logging.getLogger("mockserver")

# In the hits hash beside the stub ids, which never begin with "!": unmatched requests.
UNMATCHED_FIELD: Final = "!unmatched"
FLUSH_INTERVAL: Final = 0.1
FLUSH_AT: Final = 256
BATCH: Final = 1000
QUEUE_MAX: Final = 10_000
QUEUE_BODY_BYTES: Final = 32 * 1024 * 1024
RETRY_MOST: Final = 1.0
# The stream holds more than the journal's size: entries arrive in the order replicas flush
# them, not the order they were answered, so the newest journal_size by answer time are among
# the newest journal_size + LATE flushed (a replica flushes ~FLUSH_INTERVAL late at most).
LATE: Final = 1000
# How long a clear's time is kept: far longer than any entry waits in a queue.
CLEARED_TTL: Final = 24 * 3600

# KEYS: stream, hits, cleared, the namespaces' registry; ARGV: maxlen, the namespace ("": the
# default one), then (time, stub id or "", entry or "") triples. An ended namespace gets
# nothing: its keys were deleted with its entry in the registry, and would not be again.
_RECORD: Final = """
if ARGV[2] ~= '' and not redis.call('ZSCORE', KEYS[4], ARGV[2]) then return 0 end
local cleared = redis.call('HMGET', KEYS[3], 'journal', 'hits')
local journal_after = tonumber(cleared[1] or '0')
local hits_after = tonumber(cleared[2] or '0')
local hits = {}
for i = 3, #ARGV, 3 do
  local at = tonumber(ARGV[i])
  if at >= hits_after then
    local stub = ARGV[i + 1]
    if stub == '' then stub = '!unmatched' end
    hits[stub] = (hits[stub] or 0) + 1
  end
  if at >= journal_after and ARGV[i + 2] ~= '' then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[i + 2])
  end
end
for stub, n in pairs(hits) do
  redis.call('HINCRBY', KEYS[2], stub, n)
end
return 0
"""

# (namespace, answered at, stub id or None, the entry or None with the journal off)
_Item = tuple[str | None, float, str | None, JournalEntry | None]


class JournalStream:
    """This process's queue of journal entries for Redis, and the shared journal's reads."""

    def __init__(self, shared: RedisState, journal_size: int, body_cap: int) -> None:
        self.shared = shared
        self.size = journal_size
        self.body_cap = body_cap
        self.cap = journal_size + max(journal_size, LATE)  # entries the stream keeps
        self.dropped = 0
        self._queue: deque[_Item] = deque()
        self._bytes = 0
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._script = shared.client.register_script(_RECORD)
        shared.on("namespace-end", self._ended)

    def _ended(self, event: dict[str, Any]) -> None:
        """A namespace ended (on any replica): what waits for it here would only bring back
        its keys, which nothing would delete again."""
        name = event.get("ns")
        if name is not None and any(item[0] == name for item in self._queue):
            kept = [item for item in self._queue if item[0] != name]
            self._queue.clear()  # in place: a flush under way holds the same queue
            self._queue.extend(kept)
            self._bytes = sum(len(i[3].body) for i in kept if i[3] is not None)

    def journal(self, namespace: str | None = None) -> SharedJournal:
        """A journal for ``namespace`` (None: the default one) whose entries reach Redis."""
        return SharedJournal(self, namespace, self.size, self.body_cap)

    # -- the hot path -----------------------------------------------------------------------

    def enqueue(
        self, namespace: str | None, at: float, stub_id: str | None, entry: JournalEntry | None
    ) -> None:
        queue = self._queue
        queue.append((namespace, at, stub_id, entry))
        if entry is not None:
            self._bytes += len(entry.body)
        if len(queue) >= FLUSH_AT:
            self._wake.set()
            if len(queue) > QUEUE_MAX or self._bytes > QUEUE_BODY_BYTES:
                self._bound()

    def _bound(self) -> None:
        """Drop the oldest entries past the queue's bounds (Redis has been away long)."""
        queue = self._queue
        if not self.dropped:
            log.warning(
                "the state store %s has been away too long: the oldest of the %d journal "
                "entries waiting for it are dropped (each counted)",
                self.shared.location,
                len(queue),
            )
        while queue and (len(queue) > QUEUE_MAX or self._bytes > QUEUE_BODY_BYTES):
            entry = queue.popleft()[3]
            if entry is not None:
                self._bytes -= len(entry.body)
            self.dropped += 1

    @property
    def waiting(self) -> int:
        """Entries not yet in Redis."""
        return len(self._queue)

    # -- the flusher ------------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="mockserver-journal-flusher"
            )

    async def close(self) -> None:
        """Stop the flusher and send what waits (once; what Redis cannot take is counted)."""
        task, self._task = self._task, None
        self._closing = True
        await background.stop(task)
        try:
            await self.flush()
        except StoreUnavailable:
            log.warning(
                "%d journal entries never reached the state store %s",
                len(self._queue),
                self.shared.location,
            )

    async def _run(self) -> None:
        pause = FLUSH_INTERVAL
        while not self._closing:
            # asyncio.timeout, not wait_for: on 3.11 wait_for may swallow a cancellation that
            # meets the event being set, and close() would wait for this loop for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(pause):
                    await self._wake.wait()
            self._wake.clear()
            try:
                if not self.shared.available:
                    # Back only once the recovery put back what a Redis restarted empty lost
                    # (the namespaces this queue writes to): a PING runs it, or waits for it.
                    await self.shared.run(lambda client: client.ping())
                    if not self.shared.available:
                        continue
                await self.flush()
            except StoreUnavailable:
                pause = min(pause * 2, RETRY_MOST)  # the entries wait in the queue
            except Exception:  # a bug: logged, and the flusher goes on
                log.exception("sending the journal to the state store failed")
                pause = RETRY_MOST
            else:
                pause = FLUSH_INTERVAL

    async def flush(self) -> None:
        """Send every queued entry to Redis.

        Raises:
            StoreUnavailable: Redis cannot be reached; the entries stay queued.
        """
        async with self._lock:
            queue = self._queue
            while queue:
                batch = [queue.popleft() for _ in range(min(BATCH, len(queue)))]
                try:
                    await self.shared.run(partial(self._send, batch=batch))
                except BaseException:
                    queue.extendleft(reversed(batch))
                    raise
                self._bytes -= sum(len(i[3].body) for i in batch if i[3] is not None)
            if self.dropped:
                log.warning(
                    "the state store %s is back; %d journal entries were dropped meanwhile",
                    self.shared.location,
                    self.dropped,
                )
                self.dropped = 0

    async def _send(self, client: aioredis.Redis, *, batch: list[_Item]) -> None:
        args: dict[str | None, list[Any]] = {}
        for namespace, at, stub_id, entry in batch:
            row = args.get(namespace)
            if row is None:
                row = args[namespace] = [self.cap, namespace or ""]
            row += (repr(at), stub_id or "", "" if entry is None else encode_entry(entry))
        # One EVALSHA a namespace, each its own round trip: a pipeline of scripts asks Redis
        # whether it has them first (SCRIPT EXISTS), a round trip more in the usual case of
        # one namespace; the script object loads a script Redis lost (a restart) by itself.
        for namespace, row in args.items():
            keys = Keys(namespace)
            await self._script(
                keys=[keys.journal, keys.hits, keys.cleared, NAMESPACES], args=row, client=client
            )

    # -- reads and clears -------------------------------------------------------------------

    async def read(self, namespace: str | None, *, entries: bool = True) -> Journal:
        """The journal every replica shares for ``namespace``, as a Journal of its own: the
        newest ``journal_size`` entries by when they were answered, the hits and the
        unmatched count (``entries=False``: the counts alone).

        Raises:
            StoreUnavailable: Redis cannot be reached.
        """
        await self.flush()
        keys = Keys(namespace)
        wanted = entries and self.size > 0

        async def command(client: aioredis.Redis) -> list[Any]:
            pipe = client.pipeline(transaction=False)
            pipe.hgetall(keys.hits)
            if wanted:
                pipe.xrevrange(keys.journal, count=self.cap)
            return list(await pipe.execute())

        replies = await self.shared.run(command)
        counts = Counter({_text(k): int(v) for k, v in replies[0].items()})
        unmatched = counts.pop(UNMATCHED_FIELD, 0)
        found: list[JournalEntry] = []
        for _, fields in reversed(replies[1]) if wanted else ():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                found.append(decode_entry(fields[b"e"]))
        found.sort(key=lambda e: e.at)  # stable: one replica's entries keep their order
        return Journal.holding(found, counts, unmatched, self.size, self.body_cap)

    async def clear(self, namespace: str | None, *, hits: bool) -> None:
        """Empty the shared journal of ``namespace`` (and its counts, with ``hits``), on
        every replica: what their queues still hold from before is dropped when it comes.

        Raises:
            StoreUnavailable: Redis cannot be reached.
        """
        keys, now = Keys(namespace), repr(time.time())
        marks = ("journal", "hits") if hits else ("journal",)

        async def command(client: aioredis.Redis) -> None:
            pipe = client.pipeline(transaction=True)
            for mark in marks:
                pipe.hset(keys.cleared, mark, now)
            pipe.expire(keys.cleared, CLEARED_TTL)
            pipe.delete(keys.journal, *([keys.hits] if hits else []))
            await pipe.execute()

        await self.shared.run(command)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class SharedJournal(Journal):
    """A namespace's journal in this process, whose every entry is also queued for Redis."""

    def __init__(
        self, stream: JournalStream, namespace: str | None, max_entries: int, body_cap: int
    ) -> None:
        super().__init__(max_entries, body_cap)
        self.stream = stream
        self.namespace = namespace

    def record(self, view: RequestView, **fields: Any) -> JournalEntry | None:
        # Journal.record's keywords, passed on as they are: one signature to keep.
        entry = super().record(view, **fields)
        at = time.time() if entry is None else entry.at
        self.stream.enqueue(self.namespace, at, fields["stub_id"], entry)
        return entry

    async def shared(self, *, entries: bool = True) -> Journal:
        """What every replica journaled in this namespace (see JournalStream.read)."""
        return await self.stream.read(self.namespace, entries=entries)

    async def clear_shared(self, *, hits: bool) -> None:
        """Clear this namespace's journal here and on every replica."""
        self.clear(hits=hits)
        await self.stream.clear(self.namespace, hits=hits)
