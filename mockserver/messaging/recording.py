"""``mockserver record --amqp-exchange NAME=TYPE``: what passed through named exchanges while
recording, written as consumer stubs (``amqp.recorded.yaml`` in ``--out``).

A private queue (exclusive, deleted with the connection) is bound to each exchange so that it
sees every message (``#`` on a topic exchange, ``""`` on a fanout one, any headers on a headers
one; a direct exchange has no binding that sees every key, and is refused). Each exchange and
routing key seen becomes one consumer; it matches the body when every message of that key had
the same body (JSON as ``json:``, text as written). The broker URL is not written: its password
stays out of the file, and ``MOCKSERVER_AMQP_URL`` gives it when the file is served.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, Final

import aio_pika
import yaml
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue

from mockserver.core.amqpspec import shown_amqp_url
from mockserver.recording.persist import write_atomic

__all__ = ["RECORDED_FILE", "parse_exchange_option", "record_exchanges"]

log = logging.getLogger("mockserver")

RECORDED_FILE: Final = "amqp.recorded.yaml"
BINDING: Final = {"topic": "#", "fanout": "", "headers": ""}
MAX_KEYS: Final = 1000  # distinct exchange and routing key pairs kept
DRAIN_S: Final = 5.0


def parse_exchange_option(text: str) -> tuple[str, str]:
    """``NAME=TYPE`` (``NAME`` alone: topic).

    Raises:
        ValueError: an unknown or unrecordable type, or no name.
    """
    name, _, kind = text.partition("=")
    kind = kind or "topic"
    if not name:
        raise ValueError(f"--amqp-exchange takes NAME=TYPE, got {text!r}")
    if kind not in BINDING:
        raise ValueError(
            f"--amqp-exchange {text}: type is topic, fanout or headers (a direct exchange has "
            "no binding that sees every routing key)"
        )
    return name, kind


class _Seen:
    """The messages of one exchange and routing key: how many, and their bodies if all equal."""

    def __init__(self, body: bytes, content_type: str | None) -> None:
        self.count = 1
        self.body: bytes | None = body
        self.content_type = content_type

    def add(self, body: bytes) -> None:
        self.count += 1
        if body != self.body:
            self.body = None


async def record_exchanges(
    url: str, exchanges: Sequence[tuple[str, str]], out: Path, run: Coroutine[Any, Any, None]
) -> Path:
    """Listen on ``exchanges`` while ``run`` runs, then write the consumers; returns the file.

    Raises:
        ConnectionError: the broker cannot be reached or an exchange cannot be bound.
    """
    seen: dict[tuple[str, str], _Seen] = {}

    async def on_message(message: AbstractIncomingMessage) -> None:
        key = (message.exchange or "", message.routing_key or "")
        if key in seen:
            seen[key].add(message.body)
        elif len(seen) < MAX_KEYS:
            seen[key] = _Seen(message.body, message.content_type)

    try:
        connection = await aio_pika.connect_robust(url, timeout=10)
        channel = await connection.channel()
        queue = await channel.declare_queue("", exclusive=True, auto_delete=True)
        for name, kind in exchanges:
            arguments: dict[str, Any] | None = {"x-match": "all"} if kind == "headers" else None
            await queue.bind(name, BINDING[kind], arguments=arguments)
        await queue.consume(on_message, no_ack=True)
    except Exception as exc:  # any reason, said with the URL's password hidden
        run.close()  # never started
        raise ConnectionError(f"recording {shown_amqp_url(url)}: {exc}") from None
    log.info("recording exchanges %s", ", ".join(name for name, _ in exchanges))
    try:
        await run
        await _drained(queue)
    finally:
        await connection.close()
    path = out / RECORDED_FILE
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(path, consumer_stubs(exchanges, seen))
    log.info("recorded %d message(s) on %d routing key(s) into %s",
             sum(s.count for s in seen.values()), len(seen), path)  # fmt: skip
    return path


async def _drained(queue: AbstractQueue) -> None:
    """Wait (a little) until what the broker routed before the stop is delivered here."""
    deadline = time.monotonic() + DRAIN_S
    while time.monotonic() < deadline:
        declared = await queue.declare()
        if not declared.message_count:
            # One more round trip: deliveries sent before it have been handed to on_message.
            await queue.declare()
            return
        await asyncio.sleep(0.02)  # polling a condition with a deadline


def consumer_stubs(exchanges: Sequence[tuple[str, str]], seen: dict[tuple[str, str], _Seen]) -> str:
    consumers = []
    for (exchange, key), what in seen.items():
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{exchange}.{key}").strip("-.") or "default"
        consumer: dict[str, Any] = {
            "id": slug,
            "queue": f"mock.{slug}",
            "bind": {"exchange": exchange, "routing_key": key},
        }
        match = _body_match(what)
        if match is not None:
            consumer["match"] = {"body": match}
        consumers.append(consumer)
    document = {
        "service": "recorded-amqp",
        "amqp": {
            "exchanges": [{"name": name, "type": kind} for name, kind in exchanges],
            "consumers": consumers,
        },
    }
    head = "# Recorded by mockserver record; the broker is MOCKSERVER_AMQP_URL.\n"
    return head + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def _body_match(seen: _Seen) -> Any:
    if seen.body is None:
        return None
    try:
        text = seen.body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if seen.content_type and "json" in seen.content_type:
        try:
            return {"json": json.loads(text)}
        except ValueError:
            pass
    return {"equals": text}
