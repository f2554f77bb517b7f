"""The admin writes to runtime stubs, for every admin API (ours and WireMock's): on this
process's store, or with ``--state redis`` through Redis to every replica
(state/runtime_stubs.py), which the store then serves as a copy.

With the memory store these are the StubStore's own calls, nothing awaited in between.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from mockserver.core.model import Stub
from mockserver.server.state import ServerState

__all__ = ["add", "put", "put_many", "remove", "reset"]


async def add(state: ServerState, stubs: list[Stub], explicit_ids: Collection[str]) -> list[Stub]:
    """Raises: DuplicateStubError; StoreUnavailable."""
    if state.shared_stubs is None:
        return state.store.add(stubs, explicit_ids=set(explicit_ids))
    return await state.shared_stubs.add(state.namespace, state.store, stubs, explicit_ids)


async def put_many(state: ServerState, stubs: Sequence[Stub]) -> list[Stub]:
    """Raises: StoreUnavailable."""
    if state.shared_stubs is None:
        return state.store.put_many(stubs)
    return await state.shared_stubs.put_many(state.namespace, state.store, stubs)


async def put(state: ServerState, stub: Stub) -> Stub:
    """Raises: StoreUnavailable."""
    if state.shared_stubs is None:
        return state.store.put(stub)
    (stored,) = await state.shared_stubs.put_many(state.namespace, state.store, [stub])
    return stored


async def remove(state: ServerState, stub_id: str) -> bool:
    """Raises: StoreUnavailable."""
    if state.shared_stubs is None:
        return state.store.remove(stub_id)
    return await state.shared_stubs.remove(state.namespace, state.store, stub_id)


async def reset(state: ServerState) -> None:
    """Raises: StoreUnavailable."""
    if state.shared_stubs is None:
        state.store.reset()
    else:
        await state.shared_stubs.reset(state.namespace, state.store)
