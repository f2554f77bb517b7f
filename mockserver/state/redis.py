"""The Redis connection replicas share: one pooled client, one pub/sub listener, availability.

Every command goes through ``RedisState.run``: a lost connection marks the store unavailable
and raises StoreUnavailable (answered 503 naming the store, its password redacted); the next
command that succeeds, or the listener reconnecting, marks it available again and calls the
``on_recover`` callbacks so caches resynchronise. Events between replicas travel as JSON on
one channel (keys.CHANNEL); the listener reconnects by itself, with a short backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from mockserver.state import background
from mockserver.state.keys import CHANNEL
from mockserver.state.location import redacted
from mockserver.state.unavailable import StoreUnavailable

__all__ = ["RedisState", "StoreUnavailable"]

log = logging.getLogger("mockserver")
T = TypeVar("T")

# A stalled Redis must not hold a request (or an admin call) for long: a few seconds at most.
SOCKET_TIMEOUT = 2.0
CONNECT_TIMEOUT = 2.0
# The listener's waits between reconnection attempts: quick at first, then once a second.
BACKOFF_FIRST, BACKOFF_MOST = 0.05, 1.0
START_FIX = (
    "start Redis there, or pass --state-wait (MOCKSERVER_STATE_WAIT=1) to start anyway and "
    "connect when it comes"
)
# Errors that mean "Redis cannot be reached", as opposed to a command Redis refused.
LOST: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionError,
    TimeoutError,
    OSError,
)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200].rstrip(".")


class RedisState:
    """The Redis store of one mockserver process (``serve --state redis://...``).

    Args:
        url: the Redis URL (may hold a password: only ``location`` is ever shown).
        wait: ``start`` does not fail when Redis cannot be reached; the listener keeps
            trying and the store becomes available when Redis comes.
    """

    def __init__(self, url: str, *, wait: bool = False) -> None:
        self.location = redacted(url)
        self.wait = wait
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=CONNECT_TIMEOUT,
            # One quick retry: after Redis restarts, a pooled connection is dead on first use.
            retry=Retry(ExponentialBackoff(cap=0.1, base=0.02), 1),
            health_check_interval=5,
        )
        self.replica = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.available = False
        self.error: str | None = "not started"
        self._handlers: dict[str, list[Callable[[dict[str, Any]], None]]] = {}
        self._recover: list[Callable[[], Awaitable[None] | None]] = []
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._started = False
        self._recovering = False  # the on_recover callbacks are running

    # -- life -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, PING and subscribe to the events channel.

        Raises:
            StoreUnavailable: Redis cannot be reached (unless ``wait``: then the listener
                keeps trying in the background).
        """
        if self._started:
            return
        try:
            await self.client.ping()
        except LOST as exc:
            self._mark_lost(exc)
            if not self.wait:
                await self.client.aclose()
                raise StoreUnavailable(self.location, self.error or "", START_FIX) from None
            log.warning("%s; starting anyway and connecting when it comes", self._message())
        else:
            self.available, self.error = True, None
        self._started = True
        self._listener = background.start(self._listen(), "mockserver-redis-events")
        if self.available:
            # Events published by others after start() returns must reach us: wait for
            # the subscription (bounded: a Redis that just answered PING subscribes at once).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CONNECT_TIMEOUT):  # not wait_for (background.py)
                    await self._subscribed.wait()

    async def close(self) -> None:
        """Stop listening and close the connections. Safe to call twice."""
        task, self._listener = self._listener, None
        await background.stop(task)
        self._started = False
        with contextlib.suppress(RedisError, OSError):
            await background.finish(self.client.aclose(), "mockserver-redis-close")

    # -- commands ---------------------------------------------------------------------------

    async def run(self, command: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        """``command(self.client)``'s result.

        Raises:
            StoreUnavailable: Redis cannot be reached (the store is marked unavailable).
        """
        try:
            result = await command(self.client)
        except LOST as exc:
            background.cancelled_anyway()
            self._mark_lost(exc)
            raise StoreUnavailable(self.location, self.error or "") from None
        background.cancelled_anyway()
        await self._mark_back()
        return result

    async def publish(self, namespace: str | None, kind: str, **data: Any) -> None:
        """Tell every replica (this one included) about ``kind`` in ``namespace``."""
        event = {**data, "ns": namespace, "kind": kind, "origin": self.replica}
        text = json.dumps(event, separators=(",", ":"))
        await self.run(lambda client: client.publish(CHANNEL, text))

    # -- events -----------------------------------------------------------------------------

    def on(self, kind: str, callback: Callable[[dict[str, Any]], None]) -> None:
        """Call ``callback(event)`` in the event loop for every event of ``kind``."""
        self._handlers.setdefault(kind, []).append(callback)

    def on_recover(self, callback: Callable[[], Awaitable[None] | None]) -> None:
        """Call ``callback`` whenever Redis is back after being unavailable (also the first
        connection of a store started with ``wait``): events may have been missed."""
        self._recover.append(callback)

    def health(self) -> dict[str, Any]:
        return {
            "store": "redis",
            "location": self.location,
            "available": self.available,
            "error": self.error,
        }

    # -- inside -----------------------------------------------------------------------------

    def _message(self) -> str:
        return f"the state store {self.location} cannot be reached: {self.error}"

    def _mark_lost(self, exc: BaseException) -> None:
        was = self.available
        self.available, self.error = False, _reason(exc)
        if was:
            log.warning("%s; static stubs keep serving", self._message())

    async def _mark_back(self) -> None:
        if self.available or self._recovering:
            return
        if not self._started:  # start() itself: nothing cached to resynchronise yet
            self.available, self.error = True, None
            return
        # Available only once the callbacks resynchronised: until then the polls, which
        # skip an unavailable store, cannot act on what Redis holds before they did.
        self._recovering = True
        try:
            for callback in list(self._recover):
                try:
                    done = callback()
                    if inspect.isawaitable(done):
                        await done
                except StoreUnavailable:
                    return  # lost again at once: the next recovery calls them again
                except Exception:
                    log.exception("resynchronising with the state store failed")
        finally:
            self._recovering = False
        self.available, self.error = True, None
        log.info("the state store %s is reachable again", self.location)

    async def _listen(self) -> None:
        pause = BACKOFF_FIRST
        while True:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                background.cancelled_anyway()
                self._subscribed.set()
                pause = BACKOFF_FIRST
                await self._mark_back()
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    background.cancelled_anyway()
                    if message is not None:
                        self._dispatch(message.get("data"))
                    elif not self.available:  # a resynchronisation that failed: again
                        await self._mark_back()
            except LOST as exc:
                self._subscribed.clear()
                self._mark_lost(exc)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(pause)
            pause = min(pause * 2, BACKOFF_MOST)

    def _dispatch(self, data: object) -> None:
        try:
            event = json.loads(data) if isinstance(data, (str, bytes)) else None
        except ValueError:
            event = None
        if not isinstance(event, dict) or not isinstance(event.get("kind"), str):
            log.warning("ignored a malformed event on %s", CHANNEL)
            return
        for callback in self._handlers.get(event["kind"], ()):
            try:
                callback(event)
            except Exception:
                log.exception("handling the state store's %r event failed", event["kind"])
