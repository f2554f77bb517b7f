"""amqp: in a stub file and publish: on a response, read into specs; every problem located
(file, line, key) and nothing loaded when there is one."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from mockserver.core.amqpspec import rendered_messages, shown_amqp_url
from mockserver.core.request import RequestView
from mockserver.formats.loader import load_paths

from .builders import only_problem, write

GOOD = """
service: releases
amqp:
  url: amqp://guest:guest@127.0.0.1:5672/%2F
  exchanges:
    - {name: incoming, type: topic}
    - {name: events, type: fanout, durable: true}
  consumers:
    - id: playstore
      queue: mock.playstore
      bind: {exchange: incoming, routing_key: "publish.*"}
      match:
        body: {contains: Android}
        headers: {x-team: mobile}
        properties: {content_type: text/plain}
      reply: {exchange: events, routing_key: "", json: {released: true}}
    - queue: mock.rpc
      bind:
        - {exchange: incoming, routing_key: rpc.price}
        - {exchange: incoming, routing_key: rpc.stock}
      reply: {json: {price: 1}}
stubs:
  - id: release
    request: {method: POST, path: /release}
    response:
      status: 202
      publish:
        - {exchange: incoming, routing_key: publish.playstore, body: "An Android App!",
           properties: {content_type: text/plain, priority: 5}, headers: {x-n: 1},
           delay_ms: 10}
"""


def test_a_full_amqp_section_is_read(tmp_path: Path) -> None:
    stubs = load_paths([str(write(tmp_path, "releases.yaml", GOOD))])
    (amqp,) = stubs.services["releases"].amqp
    assert amqp.url == "amqp://guest:guest@127.0.0.1:5672/%2F"
    assert [(e.name, e.type, e.durable) for e in amqp.exchanges] == [
        ("incoming", "topic", False),
        ("events", "fanout", True),
    ]
    playstore, rpc = amqp.consumers
    assert (playstore.id, playstore.queue) == ("playstore", "mock.playstore")
    assert playstore.match is not None
    assert len(playstore.match.body) == 1
    assert [name for name, _ in playstore.match.headers] == ["x-team"]
    assert [name for name, _ in playstore.match.properties] == ["content_type"]
    assert playstore.reply is not None
    assert (playstore.reply.exchange, playstore.reply.body) == ("events", b'{"released":true}')
    assert dict(playstore.reply.properties)["content_type"] == "application/json"
    assert rpc.id == "mock.rpc"  # the queue names a consumer without an id
    assert [b.routing_key for b in rpc.bindings] == ["rpc.price", "rpc.stock"]
    assert rpc.reply is not None
    assert rpc.reply.exchange is None  # to the message's reply_to
    (stub,) = stubs.stubs
    (message,) = stub.publishes
    assert (message.exchange, message.routing_key, message.body) == (
        "incoming",
        "publish.playstore",
        b"An Android App!",
    )
    assert dict(message.properties) == {"content_type": "text/plain", "priority": 5}
    assert (message.headers, message.delay_ms) == ((("x-n", "1"),), 10)


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        (("type: topic}", "type: topik}"), "amqp.exchanges[0].type", "topic, fanout, direct"),
        (("url: amqp://", "url: http://"), "amqp.url", "amqp:// or amqps://"),
        (("  exchanges:", "  exchangs:"), "amqp.exchangs", "exchanges"),
        (("queue: mock.playstore", "queue: ''"), "amqp.consumers[0].queue", "non-empty"),
        (
            ('bind: {exchange: incoming, routing_key: "publish.*"}', "# no bind"),
            "amqp.consumers[0]",
            "bind",
        ),
        (("body: {contains: Android}", "body: {contanes: Android}"), "body", "matcher"),
        (
            (
                "properties: {content_type: text/plain}\n      reply",
                "properties: {colour: x}\n      reply",
            ),
            "amqp.consumers[0].match.properties",
            "colour",
        ),
        (("json: {released: true}}", "json: {released: true}, bodyy: x}"), "reply", "bodyy"),
        (
            ("routing_key: publish.playstore,", "routing_key: 7,"),
            "publish[0].routing_key",
            "string",
        ),
        (("priority: 5}", "priority: high}"), "publish[0].properties.priority", "priority"),
        (("delay_ms: 10}", "delay_ms: -1}"), "publish[0].delay_ms", "delay_ms"),
    ],
)
def test_each_problem_is_located(
    tmp_path: Path, change: tuple[str, str], key: str, message: str
) -> None:
    assert change[0] in GOOD
    path = write(tmp_path, "releases.yaml", GOOD.replace(change[0], change[1], 1))
    problem = only_problem(path)
    assert key in (problem.key or ""), str(problem)
    assert message in str(problem)
    assert problem.line is not None


def test_publish_belongs_on_response_not_responses(tmp_path: Path) -> None:
    text = """
stubs:
  - request: {path: /a}
    responses:
      - {status: 200, publish: [{exchange: x, routing_key: y}]}
"""
    problem = only_problem(write(tmp_path, "a.yaml", text))
    assert "publish sits on response:" in str(problem)


def test_responses_that_are_not_a_list_are_one_located_problem(tmp_path: Path) -> None:
    # Found by tests/property: the publish check walked `responses: 200` and raised TypeError.
    text = "stubs:\n  - request: {path: /a}\n    responses: 200\n"
    problem = only_problem(write(tmp_path, "a.yaml", text))
    assert "responses" in (problem.key or ""), str(problem)


def test_a_templated_publish_is_rendered_per_request(tmp_path: Path) -> None:
    text = """
stubs:
  - request: {path: "/orders/{id}"}
    response:
      template: true
      body: ok
      publish:
        - exchange: orders
          routing_key: "order.{{ request.path_params.id }}"
          json: {id: "{{ request.path_params.id }}", note: "{{ request.json.note }}"}
"""
    stubs = load_paths([str(write(tmp_path, "a.yaml", text))])
    (stub,) = stubs.stubs
    view = RequestView("POST", "/orders/7", "", (), b'{"note": "hi"}')
    (done,) = rendered_messages(stub.publishes, view, {"id": "7"}, random.Random(1))
    assert (done.routing_key, done.body, done.refused) == (
        "order.7",
        b'{"id":"7","note":"hi"}',
        None,
    )


def test_a_password_is_never_shown() -> None:
    assert shown_amqp_url("amqp://app:s3cret@mq:5671/prod") == "amqp://app:***@mq:5671/prod"
    assert shown_amqp_url("amqp://mq/%2F") == "amqp://mq/%2F"
