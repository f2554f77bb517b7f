"""Sequences, scenarios and resources that replicas share: each step one atomic Redis operation.

A sequence step is one HINCRBY on the namespace's positions. A scenario move is one Lua
compare-and-set that also publishes the move, so every replica hears the moves in the order
Redis made them (and a sequence the moving stub steps moves in the same script). A resource is
read with one HGET; a write is a compare-and-set on the generation it read, tried again when
another replica wrote in between. Scenario states are cached per store and kept current by the
``scenario`` events, so matching a request needs no round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from weakref import WeakSet, WeakValueDictionary

from mockserver.core.errors import HttpProblem, MockServerError
from mockserver.core.matching import ScenarioState
from mockserver.core.model import Stub
from mockserver.core.request import RequestView
from mockserver.core.resources import ResourceOutcome, ResourceState
from mockserver.core.scenarios import STARTED, ScenarioSpec
from mockserver.core.store import StubStore
from mockserver.state.keys import CHANNEL, Keys
from mockserver.state.unavailable import StoreUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

    from mockserver.state.redis import RedisState

__all__ = ["Busy", "Steps"]

# KEYS: scenarios, positions. ARGV: name, from, to, channel, event, started, sequence stub id.
# Answers {1, position} when it moved (position 0 without a sequence), {0, state} when the
# scenario was not in ``from`` (another replica moved it first).
MOVE: Final = """
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ARGV[6]
if current ~= ARGV[2] then return {0, current} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
if ARGV[7] ~= '' then return {1, redis.call('HINCRBY', KEYS[2], ARGV[7], 1)} end
return {1, 0}
"""
# KEYS: resources. ARGV: field, the generation read, the new value ("generation\\nitems").
WRITE: Final = """
local held = redis.call('HGET', KEYS[1], ARGV[1])
local generation = held and string.match(held, '^(%d+)\\n') or '0'
if generation ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""
# Of concurrent writers each round one wins, so a few rounds serve all but a storm.
ATTEMPTS: Final = 8
_WRITES: Final = frozenset(("POST", "PUT", "PATCH", "DELETE"))


class Busy(MockServerError):
    """A step lost its compare-and-set ``ATTEMPTS`` times in a row: answered 503."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} changed {ATTEMPTS} times while this request was answered")

    def problem(self) -> HttpProblem:
        return HttpProblem(503, "state contended", f"{self}; send it again")


@dataclass(frozen=True, slots=True)
class Moved:
    """A step's outcome: whether it moved (False: the scenario was elsewhere, ``state``) and
    the sequence position it took (0 for the first response)."""

    moved: bool
    position: int = 0
    state: str = STARTED


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Steps:
    """The shared steps of one process, with its scenario caches (``store.scenarios``).

    Args:
        shared: the Redis store.
        stores: the store of a namespace (None: the default), or None when it is not held here.
    """

    def __init__(
        self, shared: RedisState, stores: Callable[[str | None], StubStore | None]
    ) -> None:
        self.shared = shared
        self._stores = stores
        self._move = shared.client.register_script(MOVE)
        self._write = shared.client.register_script(WRITE)
        # Stores whose cache was read from Redis since the last recovery or reset.
        self._synced: WeakSet[StubStore] = WeakSet()
        # Scenario events heard. An answer of Redis is written into a cache only when no
        # event came in while it travelled: else the events, in Redis's order, say it.
        self._heard = 0
        self._writing: WeakValueDictionary[tuple[str | None, str], asyncio.Lock]
        self._writing = WeakValueDictionary()
        shared.on("scenario", self._on_scenario)
        shared.on("reset", self._on_reset)
        shared.on("reload", self._on_reload)
        shared.on_recover(self._on_recover)
        self._tasks: set[asyncio.Task[None]] = set()

    # -- sequences and scenarios -------------------------------------------------------------

    async def step(
        self,
        namespace: str | None,
        store: StubStore,
        stub: Stub,
        move: ScenarioSpec | None,
        state: ScenarioState,
    ) -> Moved:
        """Step ``stub``'s sequence and move its scenario (``move``) from the state it
        matched in (``state``), as one, once."""
        keys = Keys(namespace)
        if move is None:
            count = await self.shared.run(lambda c: c.hincrby(keys.positions, stub.id, 1))
            return Moved(True, int(count) - 1)
        assert move.next is not None  # the caller moves only a scenario with a next state
        sequence = stub.id if stub.responses else ""
        args = [
            move.name,
            state(move.name),
            move.next,
            CHANNEL,
            self._event(namespace, move.name, move.next),
            STARTED,
            sequence,
        ]
        heard = self._heard
        found = await self._script(self._move, [keys.scenarios, keys.positions], args)
        moved = int(found[0]) == 1
        state_now = move.next if moved else _text(found[1])  # else another replica's move
        if heard == self._heard:  # nothing newer heard meanwhile (a missed event mended)
            store.scenarios.put(move.name, state_now)
        return Moved(True, max(int(found[1]) - 1, 0)) if moved else Moved(False, state=state_now)

    async def sync(self, namespace: str | None, store: StubStore, *, fresh: bool = False) -> None:
        """Read the namespace's scenario states into ``store``'s cache, unless it holds them
        (``fresh``: read them anyway)."""
        if store in self._synced and not fresh:
            return
        keys = Keys(namespace)
        for _ in range(ATTEMPTS):
            heard = self._heard
            held: Mapping[Any, Any] = await self.shared.run(lambda c: c.hgetall(keys.scenarios))
            if heard == self._heard:  # no event crossed the read: it is current
                break
        else:
            return  # events kept crossing the read: the next request reads again
        store.scenarios.load({_text(name): _text(state) for name, state in held.items()})
        self._synced.add(store)

    async def set_state(
        self, namespace: str | None, store: StubStore, name: str | None, state: str | None
    ) -> None:
        """An admin move: ``name`` to ``state``; ``state`` None puts it back to started;
        ``name`` None puts every scenario back."""
        keys = Keys(namespace)
        event = self._event(namespace, name, state)

        async def command(client: Redis) -> None:
            async with client.pipeline(transaction=True) as pipe:
                if name is None:
                    pipe.delete(keys.scenarios)
                elif state is None:
                    pipe.hdel(keys.scenarios, name)
                else:
                    pipe.hset(keys.scenarios, name, state)
                pipe.publish(CHANNEL, event)
                await pipe.execute()

        heard = self._heard
        await self.shared.run(command)
        if heard == self._heard:
            store.scenarios.put(name, state)

    def _event(self, namespace: str | None, name: str | None, state: str | None) -> str:
        """The ``scenario`` event of a move, as the store's ``publish`` would send it."""
        event = {"name": name, "state": state}
        event |= {"ns": namespace, "kind": "scenario", "origin": self.shared.replica}
        return json.dumps(event, separators=(",", ":"))

    def _on_scenario(self, event: dict[str, Any]) -> None:
        self._heard += 1
        store = self._stores(event.get("ns"))
        name, state = event.get("name"), event.get("state")
        if store is not None and (name is None or isinstance(name, str)):
            store.scenarios.put(name, state if isinstance(state, str) else None)

    def _on_reset(self, event: dict[str, Any]) -> None:
        # The namespace's keys are gone: read its states anew before the next match, since a
        # move may have crossed the reset.
        self._heard += 1
        store = self._stores(event.get("ns"))
        if store is not None:
            store.scenarios.reset()
            self._synced.discard(store)

    def _on_reload(self, event: dict[str, Any]) -> None:
        # A reload starts sequences and resources over (as StubStore.reload does in memory):
        # the replica that reloaded forgets them for all.
        if event.get("origin") != self.shared.replica:
            return
        keys = Keys(None)

        async def forget() -> None:
            with contextlib.suppress(StoreUnavailable):  # a reload needs no Redis to serve
                await self.shared.run(lambda c: c.delete(keys.positions, keys.resources))

        task = asyncio.get_running_loop().create_task(forget())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_recover(self) -> None:
        # Events may have been missed while Redis was gone: every cache is read anew.
        self._synced = WeakSet()

    # -- resources ---------------------------------------------------------------------------

    async def resource(
        self, namespace: str | None, resource: ResourceState, view: RequestView
    ) -> ResourceOutcome:
        """``resource.handle(view)`` on the items Redis holds; a write stored only if no other
        replica wrote first (else done again on what it wrote)."""
        field = f"{resource.service or ''} {resource.spec.path}"
        if view.method not in _WRITES:
            return await self._resource(namespace, field, resource, view)
        # This replica's writers in turn: only other replicas' writes can cross a write.
        lock = self._writing.setdefault((namespace, field), asyncio.Lock())
        async with lock:
            return await self._resource(namespace, field, resource, view)

    async def _resource(
        self, namespace: str | None, field: str, resource: ResourceState, view: RequestView
    ) -> ResourceOutcome:
        keys = Keys(namespace)
        for _ in range(ATTEMPTS):
            held = await self.shared.run(lambda c: c.hget(keys.resources, field))
            if held is None:
                generation, live = 0, resource.restored(resource.dumped())
            else:
                head, _, items = _text(held).partition("\n")
                generation, live = int(head), resource.restored(items)
            outcome = live.handle(view)
            if view.method not in _WRITES or outcome.status >= 300:
                return outcome  # a read, or a write refused: nothing changed
            value = f"{generation + 1}\n{live.dumped()}"
            stored = await self._script(
                self._write, [keys.resources], [field, str(generation), value]
            )
            if int(stored) == 1:
                return outcome
        raise Busy(f"resource {resource.spec.path}")

    async def _script(self, script: AsyncScript, keys: list[str], args: list[str]) -> Any:
        return await self.shared.run(lambda c: script(keys=keys, args=args, client=c))
