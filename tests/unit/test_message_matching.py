"""A consumed message against a consumer's match: the HTTP matchers over its body (text, JSON,
MessagePack by content_type), headers and properties, and each difference named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgpack

from mockserver.core.model import ConsumerSpec, MessageMatch
from mockserver.formats.loader import load_paths
from mockserver.messaging.matching import differences, message_view, near_misses

from .builders import write

STUBS = """
amqp:
  url: amqp://127.0.0.1/
  consumers:
    - id: orders
      queue: q
      bind: {exchange: x, routing_key: "order.*"}
      match:
        body: {json_subset: {kind: order}}
        headers: {x-team: {regex: "^pay"}}
        properties: {content_type: {contains: json}, priority: "5"}
    - id: anything
      queue: q
      bind: {exchange: x}
"""


def consumers(tmp_path: Path) -> tuple[ConsumerSpec, ...]:
    stubs = load_paths([str(write(tmp_path, "a.yaml", STUBS))])
    (spec,) = next(iter(stubs.services.values())).amqp
    return spec.consumers


def diff(
    match: MessageMatch | None, body: bytes, headers: dict[str, Any], properties: dict[str, Any]
) -> list[dict[str, str]]:
    view = message_view("order.new", body, headers, properties)
    return differences(match, view, headers, properties)


def test_a_message_that_holds_everything_has_no_difference(tmp_path: Path) -> None:
    orders, anything = consumers(tmp_path)
    properties = {"content_type": "application/json", "priority": 5}
    body = b'{"kind": "order", "id": 1}'
    assert diff(orders.match, body, {"X-Team": "payments"}, properties) == []
    assert diff(anything.match, b"\xff\xfe", {}, {}) == []  # no match: everything is taken


def test_a_messagepack_body_is_read_by_the_json_matchers(tmp_path: Path) -> None:
    orders, _ = consumers(tmp_path)
    body = msgpack.packb({"kind": "order"})
    properties = {"content_type": "application/msgpack", "priority": 5}
    found = diff(orders.match, body, {"x-team": "payments"}, properties)
    assert [d["field"] for d in found] == ["properties.content_type"]  # msgpack is not json


def test_each_difference_is_named(tmp_path: Path) -> None:
    orders, anything = consumers(tmp_path)
    found = diff(orders.match, b"{not json", {"x-team": "web"}, {"priority": 1})
    assert [d["field"] for d in found] == [
        "body",
        "headers.x-team",
        "properties.content_type",
        "properties.priority",
    ]
    assert "not JSON" in found[0]["reason"]
    assert found[2]["actual"] == "<absent>"
    ranked = near_misses((anything, orders), [[{"field": "a"}] * 2, found])
    assert [m["consumer"] for m in ranked] == ["anything", "orders"]
