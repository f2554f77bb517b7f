"""The messaging doubles' admin routes: the messages consumed and published, counts by
exchange and routing key, and a message published on request."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mockserver.core.amqpspec import parse_message
from mockserver.core.errors import Problems, StubFileError
from mockserver.core.messagelog import MessageLog
from mockserver.messaging.doubles import NO_BROKER
from mockserver.server.admin_call import AdminCall, AdminRefusal, invalid

__all__ = ["count_messages", "list_messages", "publish_message"]

ADMIN_SOURCE = "<admin>"


def _journal(call: AdminCall) -> MessageLog:
    """The server's message journal, also from a namespace: a consumed message belongs to
    none, and the doubles journal every message in the default state."""
    messaging = call.state.messaging
    return messaging.messages if messaging is not None else call.state.store.messages


async def list_messages(call: AdminCall) -> web.StreamResponse:
    log = _journal(call)
    entries = log.entries()
    return web.json_response(
        {
            "messages": [e.as_dict() for e in entries],
            "total": len(entries),
            "unmatched": log.unmatched_total,
        }
    )


async def count_messages(call: AdminCall) -> web.StreamResponse:
    raw = await call.json()
    if not isinstance(raw, dict):
        raise AdminRefusal(422, "invalid pattern", 'send {"exchange": ..., "routing_key": ...}')
    extra = sorted(set(raw) - {"exchange", "routing_key", "direction"})
    if extra:
        raise AdminRefusal(
            422, "invalid pattern", f"unknown key {extra[0]!r}: exchange, routing_key, direction"
        )
    exchange, key, direction = raw.get("exchange"), raw.get("routing_key"), raw.get("direction")
    for name, value in (("exchange", exchange), ("routing_key", key)):
        if value is not None and not isinstance(value, str):
            raise AdminRefusal(422, "invalid pattern", f"{name} is a string, got {value!r}")
    if direction not in (None, "consumed", "published"):
        raise AdminRefusal(
            422, "invalid pattern", f"direction is consumed or published, got {direction!r}"
        )
    found = _journal(call).count(exchange, key, direction)
    return web.json_response({"count": found})


async def publish_message(call: AdminCall) -> web.StreamResponse:
    raw: Any = await call.json()
    if isinstance(raw, dict) and "delay_ms" in raw:  # the call would wait for it
        raise AdminRefusal(
            422, "invalid message", "delay_ms is for publish: in stub files; publish when due"
        )
    out = Problems(ADMIN_SOURCE)
    spec = parse_message(raw, (), out)
    if spec is None or out.items:
        raise invalid(StubFileError(out.items))
    messaging = call.state.messaging
    if messaging is None:
        raise AdminRefusal(409, "no broker", NO_BROKER)
    entry = await messaging.publish(spec, spec.exchange or "", source="admin")
    if entry.error is not None:
        raise AdminRefusal(503, "not published", entry.error)
    return web.json_response({"status": "published", "message": entry.as_dict()})
