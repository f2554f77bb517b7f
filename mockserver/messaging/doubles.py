"""The messaging doubles of one server: a Broker per URL, consumed messages matched, journaled,
acked and answered, and the messages stubs and the admin API publish.

A consumed message is acked after it is journaled (at-least-once): a message whose body no
matcher can read (not JSON, not MessagePack, not UTF-8) is journaled as unmatched with why, and
acked; nothing in a message stops a consumer.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from aio_pika.abc import AbstractIncomingMessage

from mockserver.core.amqpspec import (
    PROPERTIES,
    amqp_url_problem,
    rendered_messages,
    shown_amqp_url,
)
from mockserver.core.errors import MockServerError
from mockserver.core.messagelog import MessageEntry, MessageLog
from mockserver.core.model import AmqpSpec, ConsumerSpec, MessageSpec, StubSet
from mockserver.core.request import RequestView
from mockserver.messaging.broker import Broker
from mockserver.messaging.matching import as_text, differences, message_view, near_misses
from mockserver.state import background

__all__ = [
    "NO_BROKER",
    "URL_VARIABLE",
    "Messaging",
    "amqp_specs",
    "publish_after",
    "reload_messaging",
    "start_messaging",
]

log = logging.getLogger("mockserver")

URL_VARIABLE: Final = "MOCKSERVER_AMQP_URL"
# What a consumed message's journal entry shows: what a stub may set, and the publisher's stamp.
PROPERTY_NAMES: Final = (*PROPERTIES, "timestamp")
NO_BROKER: Final = f"no broker: give amqp: {{url: ...}} in a stub file or set {URL_VARIABLE}"
MAX_PENDING: Final = 10_000  # publishes scheduled and not yet sent; past it, one is dropped
SETTLE_S: Final = 15.0  # the start waits this long at most for a broker to answer


def amqp_specs(stubs: StubSet) -> list[AmqpSpec]:
    return [spec for service in stubs.services.values() for spec in service.amqp]


async def reload_messaging(
    current: Messaging | None, stubs: StubSet, messages: MessageLog, rng: random.Random
) -> Messaging | None:
    """The doubles after a reload: ``current`` with its consumers' match and reply replaced
    when the brokers, exchanges, queues and bindings are the same; else started again."""
    specs = amqp_specs(stubs)
    if current is not None:
        fresh = Messaging(specs, messages, rng=rng)
        if [b.shape() for b in fresh.brokers] == [b.shape() for b in current.brokers]:
            for old, new in zip(current.brokers, fresh.brokers, strict=True):
                old.queues = new.queues
            return current
        await current.close()
    return await start_messaging(stubs, messages, rng)


async def start_messaging(
    stubs: StubSet, messages: MessageLog, rng: random.Random | None = None
) -> Messaging | None:
    """The doubles of ``stubs``' amqp: sections, connecting in the background; None when no
    stub file has one and MOCKSERVER_AMQP_URL is unset.

    Raises:
        MockServerError: an amqp: section without a url, and no MOCKSERVER_AMQP_URL.
    """
    specs = amqp_specs(stubs)
    if not specs and not os.environ.get(URL_VARIABLE):
        return None
    messaging = Messaging(specs, messages, rng=rng)
    messaging.start()
    await messaging.settle(SETTLE_S)
    return messaging


class Messaging:
    """Every broker of a server's stub files, and the journal they write to."""

    def __init__(
        self,
        specs: Sequence[AmqpSpec],
        messages: MessageLog,
        default_url: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        default_url = default_url or os.environ.get(URL_VARIABLE) or None
        if default_url is not None and (why := amqp_url_problem(default_url)):
            raise MockServerError(f"{URL_VARIABLE}: {why}")
        by_url: dict[str, list[AmqpSpec]] = {}
        for spec in specs:
            url = spec.url or default_url
            if url is None:
                raise MockServerError(
                    f"{spec.source}: amqp: has no url; give amqp: {{url: amqp://...}} "
                    f"or set {URL_VARIABLE}"
                )
            by_url.setdefault(url, []).append(spec)
        if not by_url and default_url:
            by_url[default_url] = []
        self.brokers = [Broker(url, group, self._consumed) for url, group in by_url.items()]
        self.messages = messages
        self.rng = rng or random.Random()
        self._pending: set[asyncio.Task[MessageEntry]] = set()

    @property
    def default(self) -> Broker | None:
        """Where HTTP stubs' and the admin API's messages go: the first broker loaded."""
        return self.brokers[0] if self.brokers else None

    def start(self) -> None:
        for broker in self.brokers:
            broker.start()

    async def settle(self, timeout: float) -> None:
        """Wait until each broker is consuming, or its first connection attempt failed (it
        is retried in the background), for at most ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                await asyncio.gather(*(b.settled.wait() for b in self.brokers))
        except TimeoutError:
            pending = [b.shown for b in self.brokers if not b.settled.is_set()]
            log.warning("amqp: still connecting to %s; serving meanwhile", ", ".join(pending))

    def health(self) -> dict[str, Any]:
        brokers = [broker.status() for broker in self.brokers]
        return {
            "status": "up" if all(b["connected"] for b in brokers) else "down",
            "brokers": brokers,
        }

    # -- consuming --------------------------------------------------------------------------

    async def _consumed(
        self, consumers: Sequence[ConsumerSpec], message: AbstractIncomingMessage
    ) -> None:
        try:
            _, reply_to = self._journal(consumers, message)
        except Exception as exc:  # a message must never stop the consumer: journaled, acked
            log.exception("amqp message on %s could not be read", message.routing_key)
            self.messages.record(
                "consumed",
                message.body,
                exchange=message.exchange or "",
                routing_key=message.routing_key or "",
                properties={},
                headers={},
                matched=False,
                error=f"{type(exc).__name__}: {exc}",
            )
            reply_to = None
        await message.ack()
        if reply_to is not None:
            self._schedule(*reply_to)

    def _journal(
        self, consumers: Sequence[ConsumerSpec], message: AbstractIncomingMessage
    ) -> tuple[MessageEntry, tuple[MessageSpec, str, dict[str, Any], str | None] | None]:
        properties = _properties(message)
        headers = {str(k): _plain(v) for k, v in (message.headers or {}).items()}
        routing_key = message.routing_key or ""
        view = message_view(routing_key, message.body, headers, properties)
        misses = []
        chosen: ConsumerSpec | None = None
        for consumer in consumers:
            found = differences(consumer.match, view, headers, properties)
            if not found:
                chosen = consumer
                break
            misses.append(found)
        entry = self.messages.record(
            "consumed",
            message.body,
            exchange=message.exchange or "",
            routing_key=routing_key,
            properties=properties,
            headers=headers,
            consumer=chosen.id if chosen is not None else None,
            matched=chosen is not None,
            queue=consumers[0].queue if consumers else None,
            near_misses=() if chosen is not None else near_misses(consumers, misses),
        )
        if chosen is None:
            log.warning(
                "amqp message %s on %s matched no consumer of queue %s",
                routing_key,
                message.exchange or "<default>",
                entry.queue,
            )
            return entry, None
        # One line a message, as a request has one (logs.py); a level check first.
        if log.isEnabledFor(logging.INFO):
            log.info(
                "amqp consumed %s %r -> %s", entry.exchange or "<default>", routing_key, chosen.id
            )
        if chosen.reply is None:
            return entry, None
        return entry, self._reply(chosen, chosen.reply, view, properties)

    def _reply(
        self,
        consumer: ConsumerSpec,
        reply: MessageSpec,
        view: RequestView,
        properties: Mapping[str, Any],
    ) -> tuple[MessageSpec, str, dict[str, Any], str | None]:
        (spec,) = rendered_messages((reply,), view, {}, self.rng)
        extra: dict[str, Any] = {}
        correlation = properties.get("correlation_id")
        if correlation is not None and not any(k == "correlation_id" for k, _ in spec.properties):
            extra["correlation_id"] = correlation
        exchange = spec.exchange
        source = f"consumer {consumer.id}"
        if exchange is None:  # the RPC pattern: to the queue the message named
            reply_to = properties.get("reply_to")
            if reply_to:
                spec = replace(spec, routing_key=str(reply_to))
            else:
                spec = replace(spec, refused=spec.refused or "the message has no reply_to")
            exchange = ""
        return spec, exchange, extra, source

    # -- publishing -------------------------------------------------------------------------

    def publish_after(self, stub_id: str, messages: Sequence[MessageSpec]) -> None:
        """Schedule an HTTP stub's messages (its answer was sent); each after its delay."""
        for spec in messages:
            self._schedule(spec, spec.exchange or "", {}, f"stub {stub_id}")

    def _schedule(
        self, spec: MessageSpec, exchange: str, extra: dict[str, Any], source: str | None
    ) -> None:
        if len(self._pending) >= MAX_PENDING:
            self._record_published(spec, exchange, extra, source, f"dropped: {MAX_PENDING} pending")
            return
        task = asyncio.get_running_loop().create_task(self.publish(spec, exchange, extra, source))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def publish(
        self,
        spec: MessageSpec,
        exchange: str,
        extra: dict[str, Any] | None = None,
        source: str | None = None,
    ) -> MessageEntry:
        """Publish ``spec`` on the default broker, confirmed; journaled whatever happens."""
        extra = extra or {}
        if spec.delay_ms:
            await asyncio.sleep(spec.delay_ms / 1000)
        error = spec.refused
        broker = self.default
        if error is None and broker is None:
            error = NO_BROKER
        if error is None and broker is not None:
            try:
                await broker.publish(spec, exchange, extra)
            except ConnectionError as exc:
                error = str(exc)
        if error is not None:
            log.warning("amqp message to %s %r not sent: %s", exchange, spec.routing_key, error)
        elif log.isEnabledFor(logging.INFO):
            log.info("amqp published %s %r (%s)", exchange or "<default>", spec.routing_key, source)
        return self._record_published(spec, exchange, extra, source, error)

    def _record_published(
        self,
        spec: MessageSpec,
        exchange: str,
        extra: dict[str, Any],
        source: str | None,
        error: str | None,
    ) -> MessageEntry:
        return self.messages.record(
            "published",
            spec.body,
            exchange=exchange,
            routing_key=spec.routing_key,
            properties={**dict(spec.properties), **extra},
            headers=dict(spec.headers),
            stub=source,
            error=error,
        )

    async def close(self, timeout: float = 5.0) -> None:
        await background.settle(self._pending, timeout)
        await asyncio.gather(*(broker.close() for broker in self.brokers), return_exceptions=True)

    def describe(self) -> str:
        return ", ".join(shown_amqp_url(b.url) for b in self.brokers)


def publish_after(
    messaging: Messaging | None, stub_id: str, specs: Sequence[MessageSpec], messages: MessageLog
) -> None:
    """An HTTP stub's ``publish:`` once its answer is sent; journaled as not sent without a
    broker (no stub file has amqp: and MOCKSERVER_AMQP_URL is unset)."""
    if messaging is not None:
        messaging.publish_after(stub_id, specs)
        return
    for spec in specs:
        messages.record(
            "published",
            spec.body,
            exchange=spec.exchange or "",
            routing_key=spec.routing_key,
            properties=dict(spec.properties),
            headers=dict(spec.headers),
            stub=f"stub {stub_id}",
            error=NO_BROKER,
        )


def _properties(message: AbstractIncomingMessage) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in PROPERTY_NAMES:
        value = getattr(message, name, None)
        if value is not None:
            found[name] = _plain(value)
    return found


def _plain(value: Any) -> Any:
    """An AMQP field value as JSON shows it."""
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return as_text(value)
