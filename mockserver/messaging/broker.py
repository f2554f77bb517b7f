"""One broker: aio-pika's robust connection, the exchanges and consumers declared on it, and
the publishing channel (publisher confirms on).

A broker that cannot be reached when mockserver starts does not stop it: HTTP is served, the
connection is tried again (backing off to every few seconds) and ``GET /__admin/health`` says
the broker is down until it is up. Once connected, aio-pika's robust connection reconnects
after a loss and declares the exchanges, queues, bindings and consumers again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final
from urllib.parse import urlsplit

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from aio_pika.exceptions import AMQPError, ChannelClosed

from mockserver.core.amqpspec import shown_amqp_url
from mockserver.core.model import AmqpSpec, ConsumerSpec, ExchangeSpec, MessageSpec
from mockserver.state import background

__all__ = ["Broker", "Delivery"]

log = logging.getLogger("mockserver")

RETRY_FIRST_S: Final = 0.2
RETRY_MAX_S: Final = 5.0
CONNECT_TIMEOUT_S: Final = 10.0
RECONNECT_S: Final = 1.0  # between attempts after a loss (aio-pika's default is 5 s)
PREFETCH: Final = 200  # unacked messages in flight per consumer channel

# What a broker hands a consumed message to: the consumers of its queue, the message.
Delivery = Callable[[Sequence[ConsumerSpec], AbstractIncomingMessage], Awaitable[None]]


class Broker:
    """The connection to one broker URL and what is declared on it."""

    def __init__(self, url: str, specs: Sequence[AmqpSpec], deliver: Delivery) -> None:
        self.url = url
        self.shown = shown_amqp_url(url)
        self.exchanges: list[ExchangeSpec] = []
        by_queue: dict[str, list[ConsumerSpec]] = {}
        for spec in specs:
            self.exchanges.extend(spec.exchanges)
            for consumer in spec.consumers:
                by_queue.setdefault(consumer.queue, []).append(consumer)
        self.queues: dict[str, list[ConsumerSpec]] = by_queue
        self._deliver = deliver
        self.connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._publisher: AbstractRobustChannel | None = None
        self.error: str | None = None
        self.ready = asyncio.Event()  # declared and consuming
        # Ready, or the first attempt failed: what the start waits for, so that a session's
        # first test does not publish before the consumers are bound (and the message lost).
        self.settled = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # The robust connection reads as open while it reconnects: its callbacks say.
        self._up = False

    @property
    def connected(self) -> bool:
        return self._up and self.connection is not None and not self.connection.is_closed

    def shape(self) -> tuple[object, ...]:
        """What is declared on the broker: the same after a reload, the consumers are
        changed in place; otherwise the doubles start again."""
        return (
            self.url,
            tuple(self.exchanges),
            tuple((q, tuple(b for c in cs for b in c.bindings)) for q, cs in self.queues.items()),
        )

    def status(self) -> dict[str, Any]:
        return {
            "url": self.shown,
            "connected": self.connected and self.ready.is_set(),
            "consumers": sum(len(c) for c in self.queues.values()),
            "error": None if self.connected else self.error,
        }

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"mockserver-amqp {self.shown}"
        )

    async def _run(self) -> None:
        wait = RETRY_FIRST_S
        while True:
            why = await self._attempt()
            background.cancelled_anyway()  # aiormq's wait_for may have lost a stop's cancel
            if why is None:
                break
            if why != self.error:  # once per new reason, not once per attempt
                log.warning("amqp broker %s: %s; trying again", self.shown, why)
            self.error = why
            self.settled.set()
            await asyncio.sleep(wait)  # a retry's back-off, not a synchronisation
            wait = min(wait * 2, RETRY_MAX_S)
        self.error = None
        self._up = True
        self.ready.set()
        self.settled.set()
        log.info("amqp broker %s: connected, %d queue(s) consumed", self.shown, len(self.queues))

    async def _attempt(self) -> str | None:
        """Connect and declare everything; None when done, else why not (all closed again:
        a binding to an exchange the service has not declared yet is tried again later)."""
        try:
            connection = await aio_pika.connect_robust(
                self.url, timeout=CONNECT_TIMEOUT_S, reconnect_interval=RECONNECT_S
            )
        except Exception as exc:  # any reason: said in health, tried again
            return f"unreachable ({self._scrubbed(_why(exc))})"
        try:
            await self._declare(connection)
        except (TimeoutError, AMQPError) as exc:
            await connection.close()
            return f"declaring failed ({self._scrubbed(_why(exc))})"
        self.connection = connection
        connection.reconnect_callbacks.add(self._reconnected)
        connection.close_callbacks.add(self._lost)
        return None

    def _scrubbed(self, text: str) -> str:
        """``text`` without the URL's password, should a library's message quote it."""
        password = urlsplit(self.url).password
        return text.replace(password, "***") if password else text

    def _lost(self, *_: Any) -> None:
        if self._up:  # called again on each failed attempt: said once
            log.warning("amqp broker %s: connection lost; reconnecting", self.shown)
        self._up = False
        self.error = "connection lost; reconnecting"

    def _reconnected(self, *_: Any) -> None:
        self._up = True
        self.error = None
        log.info("amqp broker %s: reconnected, exchanges and queues declared again", self.shown)

    async def _declare(self, connection: AbstractRobustConnection) -> None:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=PREFETCH)
        self._channel = channel
        self._publisher = await connection.channel(publisher_confirms=True)
        for exchange in self.exchanges:
            await self._declare_exchange(connection, channel, exchange)
        for queue_name, consumers in self.queues.items():
            queue = await channel.declare_queue(queue_name, durable=False, auto_delete=False)
            for consumer in consumers:
                for binding in consumer.bindings:
                    await queue.bind(
                        binding.exchange,
                        binding.routing_key,
                        arguments=dict(binding.arguments) or None,
                    )

            async def on_message(message: AbstractIncomingMessage, queue: str = queue_name) -> None:
                # Looked up per message: a reload changes what the consumers match and answer.
                await self._deliver(self.queues.get(queue, ()), message)

            await queue.consume(on_message, no_ack=False)

    async def _declare_exchange(
        self,
        connection: AbstractRobustConnection,
        channel: AbstractRobustChannel,
        exchange: ExchangeSpec,
    ) -> None:
        """Declared as written, or used as it is where it exists with other settings: never
        deleted, never redeclared over what a service made."""
        probe = await connection.channel()
        try:
            await probe.declare_exchange(exchange.name, passive=True, robust=False)
        except ChannelClosed:
            await channel.declare_exchange(
                exchange.name, aio_pika.ExchangeType(exchange.type), durable=exchange.durable
            )
            return
        finally:
            if not probe.is_closed:
                await probe.close()
        # It exists: declared again with its settings unknown would risk PRECONDITION_FAILED.

    async def publish(self, spec: MessageSpec, exchange: str, extra: dict[str, Any]) -> None:
        """Publish and wait for the broker's confirm.

        Raises:
            ConnectionError: not connected, or the broker refused or did not confirm it.
        """
        channel = self._publisher
        if channel is None or not self.connected:
            raise ConnectionError(f"broker {self.shown} is not connected ({self.error})")
        properties: dict[str, Any] = dict(spec.properties)
        properties.update(extra)
        if "expiration" in properties:  # milliseconds as text on the wire, seconds here
            properties["expiration"] = int(properties["expiration"]) / 1000
        message = aio_pika.Message(spec.body, headers=dict(spec.headers) or None, **properties)
        try:
            target = (
                channel.default_exchange
                if exchange == ""
                else await channel.get_exchange(exchange, ensure=False)
            )
            await target.publish(message, spec.routing_key, timeout=CONNECT_TIMEOUT_S)
        except (TimeoutError, AMQPError, RuntimeError) as exc:
            raise ConnectionError(f"not confirmed by {self.shown}: {_why(exc)}") from None

    async def close(self) -> None:
        task, self._task = self._task, None
        await background.stop(task)
        connection, self.connection = self.connection, None
        if connection is not None:
            await background.finish(connection.close(), f"mockserver-amqp-close {self.shown}")


def _why(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:300]
