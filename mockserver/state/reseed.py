"""Redis back without its data (a restart with no persistence): the replicas' copies put back.

keys.EPOCH holds a token for as long as Redis keeps its data. A replica learns it at start;
when Redis returns and the token is gone, the first replica to get there writes back, in one
transaction with a new token, the runtime stubs and the namespaces it holds copies of. Every
other replica then finds the new token set and reads what was put back, as after any outage.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from mockserver.state.keys import EPOCH, NAMESPACES, Keys

if TYPE_CHECKING:
    from redis.asyncio.client import Pipeline

    from mockserver.state.redis import RedisState

__all__ = ["Held", "restore"]

log = logging.getLogger("mockserver")


@dataclass(frozen=True, slots=True)
class Held:
    """One namespace's runtime stubs as a replica holds them: what it can put back."""

    namespace: str | None
    version: int
    entries: dict[str, str]  # stub id -> its entry (runtime_stubs.py)
    removed: frozenset[str]


async def restore(shared: RedisState, known: str | None, held: Sequence[Held]) -> str:
    """The token in force; when Redis lost the data of token ``known``, ``held`` (and the
    namespaces it names, registered again) is written back first (by the first replica to
    notice)."""
    token = secrets.token_hex(8)
    names = [one.namespace for one in held if one.namespace is not None]

    async def write(pipe: Pipeline) -> str:
        current = await pipe.get(EPOCH)
        if current is not None:
            return current.decode() if isinstance(current, bytes) else str(current)
        seconds, micros = await pipe.time()
        pipe.multi()  # type: ignore[no-untyped-call]
        pipe.set(EPOCH, token)
        if known is not None:  # not the first start on this Redis: its data went
            for one in held:
                keys = Keys(one.namespace)
                if one.entries:
                    pipe.hset(keys.stubs, mapping=cast("dict[Any, Any]", one.entries))
                if one.removed:
                    pipe.sadd(keys.removed, *one.removed)
                pipe.set(keys.version, max(one.version, 1))
            if names:
                pipe.zadd(NAMESPACES, dict.fromkeys(names, seconds + micros / 1e6))
        return token

    epoch: str = await shared.run(
        lambda client: client.transaction(write, EPOCH, value_from_callable=True)
    )
    if known is not None and epoch == token:
        stubs = sum(len(one.entries) for one in held)
        log.warning(
            "the state store %s came back without its data; put back %d runtime stubs and "
            "%d namespaces from this replica's copies",
            shared.location,
            stubs,
            len(names),
        )
    return epoch
