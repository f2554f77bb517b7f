"""Shared by the messaging tests: pika as the service under test (it publishes what the
doubles consume and consumes what they publish), and waiting for a server's broker."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

from ..waiting import wait_until
from .admin_helpers import Admin


@contextmanager
def service(url: str) -> Iterator[BlockingChannel]:
    """A pika channel on ``url``, as the service under test holds one."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()  # a publish returns once the broker has it
        yield channel
    finally:
        if connection.is_open:
            connection.close()


def publish(
    channel: BlockingChannel, exchange: str, key: str, body: bytes | str, **properties: Any
) -> None:
    data = body.encode() if isinstance(body, str) else body
    channel.basic_publish(exchange, key, data, pika.BasicProperties(**properties))


def listen(channel: BlockingChannel, exchange: str, key: str = "#") -> str:
    """A private queue bound to ``exchange``: what the service would consume."""
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, exchange, key)
    return queue


def received(
    channel: BlockingChannel, queue: str, count: int = 1, timeout: float = 20
) -> list[tuple[Any, Any, bytes]]:
    """Wait until ``count`` messages are in ``queue``; (method, properties, body) each."""
    got: list[tuple[Any, Any, bytes]] = []

    def more() -> bool:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is not None:
            got.append((method, properties, body))
        return len(got) >= count

    wait_until(more, f"{count} message(s) on {queue}", timeout=timeout)
    return got


def broker_up(admin: Admin, timeout: float = 30) -> dict[str, Any]:
    """Wait until the server's brokers are connected and its consumers declared."""

    def up() -> dict[str, Any] | None:
        amqp = admin.get("/health").json().get("amqp")
        return amqp if amqp and amqp["status"] == "up" else None

    return wait_until(up, "the amqp broker up in /__admin/health", timeout=timeout)


def messages(admin: Admin, count: int, timeout: float = 20, **where: Any) -> list[dict[str, Any]]:
    """Wait until ``count`` journaled messages have the fields ``where``; return them."""

    def found() -> list[dict[str, Any]] | None:
        got = [
            m
            for m in admin.get("/messages").json()["messages"]
            if all(m.get(k) == v for k, v in where.items())
        ]
        return got if len(got) >= count else None

    return wait_until(found, f"{count} message(s) with {where} journaled", timeout=timeout)
