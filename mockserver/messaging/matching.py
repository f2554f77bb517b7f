"""A consumed message against a consumer's ``match``: the HTTP matchers over its body, headers
and properties, and why it differs (the near-miss report of an unmatched message)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mockserver.core.headernames import CONTENT_TYPE
from mockserver.core.matching import values_reason
from mockserver.core.model import ConsumerSpec, MessageMatch
from mockserver.core.patterns import Value
from mockserver.core.request import RequestView

__all__ = ["as_text", "differences", "message_view", "near_misses"]

MISSES_SHOWN = 3  # consumers of one queue named in an unmatched message's report


def as_text(value: Any) -> str:
    """An AMQP field value (str, int, bytes, bool, a timestamp...) as matchers read it."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def message_view(
    routing_key: str, body: bytes, headers: Mapping[str, Any], properties: Mapping[str, Any]
) -> RequestView:
    """The message as matching and templates see a request: the routing key as the path,
    the AMQP headers as headers, and its content_type as Content-Type (so that the json
    matchers read a MessagePack body as they do an HTTP one)."""
    items = [(str(name), as_text(value)) for name, value in headers.items()]
    content_type = properties.get("content_type")
    if content_type:
        items.append((CONTENT_TYPE, str(content_type)))
    return RequestView("AMQP", routing_key, "", tuple(items), body)


def differences(
    match: MessageMatch | None,
    view: RequestView,
    headers: Mapping[str, Any],
    properties: Mapping[str, Any],
) -> list[dict[str, str]]:
    """Every part of ``match`` the message does not hold: field, expected, actual, why."""
    if match is None:
        return []
    found: list[dict[str, str]] = []
    if match.body:
        body = Value.of_body(view)
        for pattern in match.body:
            why = pattern.check(body)
            if why is not None:
                shown = body.text if body.text is not None else "<absent>"
                found.append(_difference("body", pattern.describe(), shown[:200], why))
    for kind, items, fields in (
        ("headers", match.headers, {k.lower(): [as_text(v)] for k, v in headers.items()}),
        ("properties", match.properties, _properties(properties)),
    ):
        for name, pattern in items:
            values = fields.get(name if kind == "properties" else name.lower())
            why = values_reason(values, pattern)
            if why is not None:
                shown = ", ".join(values) if values else "<absent>"
                found.append(_difference(f"{kind}.{name}", pattern.describe(), shown, why))
    return found


def near_misses(
    consumers: Sequence[ConsumerSpec], misses: Sequence[list[dict[str, str]]]
) -> list[dict[str, Any]]:
    """The consumers of a queue, nearest (fewest differences) first, each with its reasons."""
    ranked = sorted(zip(consumers, misses, strict=True), key=lambda pair: len(pair[1]))
    return [
        {"consumer": consumer.id, "differences": found} for consumer, found in ranked[:MISSES_SHOWN]
    ]


def _difference(field: str, expected: str, actual: str, why: str) -> dict[str, str]:
    return {"field": field, "expected": expected, "actual": actual, "reason": why}


def _properties(properties: Mapping[str, Any]) -> dict[str, list[str]]:
    return {name: [as_text(v)] for name, v in properties.items() if v is not None}
