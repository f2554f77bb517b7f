"""What the doubles send, received by pika as the service under test: a consumer's reply to
a fan-out exchange, an RPC reply to reply_to with its correlation_id, an HTTP stub's publish,
and a message published through the admin API."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import requests

from tests.rabbitserver import RabbitServer

from .admin_helpers import Admin, serve, write_stubs
from .messaging import broker_up, listen, messages, publish, received, service


def test_a_matched_message_is_answered_on_a_fanout_exchange(
    tmp_path: Path, rabbit_server: RabbitServer, unique_name: Callable[[str], str]
) -> None:
    incoming, events, queue = unique_name("in"), unique_name("events"), unique_name("q")
    stubs = f"""
        service: releases
        amqp:
          url: {rabbit_server.url}
          exchanges:
            - {{name: {incoming}, type: topic}}
            - {{name: {events}, type: fanout}}
          consumers:
            - id: playstore
              queue: {queue}
              bind: {{exchange: {incoming}, routing_key: "publish.*"}}
              match: {{body: {{json_subset: {{platform: android}}}}}}
              reply:
                exchange: {events}
                routing_key: ""
                template: true
                json: {{released: true, app: "{{{{ request.json.app }}}}"}}
                headers: {{x-release: "{{{{ request.path }}}}"}}
    """
    root = write_stubs(tmp_path, {"releases.yaml": stubs})
    with serve(root) as server, Admin(server.url) as admin, service(rabbit_server.url) as channel:
        broker_up(admin)
        mine = listen(channel, events)
        publish(
            channel,
            incoming,
            "publish.playstore",
            json.dumps({"platform": "android", "app": "chat"}),
            content_type="application/json",
        )
        publish(channel, incoming, "publish.playstore", "{not json", content_type="text/plain")
        ((_, properties, body),) = received(channel, mine)
        assert json.loads(body) == {"released": True, "app": "chat"}
        assert properties.content_type == "application/json"
        assert properties.headers == {"x-release": "publish.playstore"}
        (sent,) = messages(admin, 1, direction="published")
        assert (sent["exchange"], sent["stub"], sent.get("error")) == (
            events,
            "consumer playstore",
            None,
        )
        # The malformed body is journaled as unmatched, acked, and the consumer goes on.
        (bad,) = messages(admin, 1, direction="consumed", matched=False)
        assert bad["body"] == "{not json"
        assert "not JSON" in bad["near_misses"][0]["differences"][0]["reason"]
        publish(channel, incoming, "publish.playstore", json.dumps({"platform": "android"}))
        messages(admin, 2, direction="consumed", matched=True)


def test_an_rpc_request_is_answered_on_its_reply_to_with_its_correlation_id(
    tmp_path: Path, rabbit_server: RabbitServer, unique_name: Callable[[str], str]
) -> None:
    rpc, queue = unique_name("rpc"), unique_name("prices")
    stubs = f"""
        service: prices
        amqp:
          url: {rabbit_server.url}
          exchanges: [{{name: {rpc}, type: direct}}]
          consumers:
            - id: price
              queue: {queue}
              bind: {{exchange: {rpc}, routing_key: price}}
              match: {{properties: {{content_type: application/json}}}}
              reply: {{json: {{price: 42}}}}
    """
    root = write_stubs(tmp_path, {"prices.yaml": stubs})
    with serve(root) as server, Admin(server.url) as admin, service(rabbit_server.url) as channel:
        broker_up(admin)
        callback = channel.queue_declare("", exclusive=True).method.queue
        for correlation in ("first", "second"):
            publish(
                channel,
                rpc,
                "price",
                json.dumps({"sku": correlation}),
                content_type="application/json",
                reply_to=callback,
                correlation_id=correlation,
            )
        replies = received(channel, callback, count=2)
        assert sorted(p.correlation_id for _, p, _ in replies) == ["first", "second"]
        assert all(json.loads(body) == {"price": 42} for _, _, body in replies)
        # Without reply_to there is nowhere to answer: journaled as not sent.
        publish(channel, rpc, "price", "{}", content_type="application/json")
        (unsent,) = messages(admin, 1, direction="published", error="the message has no reply_to")
        assert unsent["stub"] == "consumer price"


def test_an_http_stub_publishes_after_its_answer_and_the_admin_api_publishes(
    tmp_path: Path, rabbit_server: RabbitServer, unique_name: Callable[[str], str]
) -> None:
    incoming = unique_name("incoming")
    stubs = f"""
        service: releases
        amqp:
          url: {rabbit_server.url}
          exchanges: [{{name: {incoming}, type: topic}}]
        stubs:
          - id: release
            request: {{method: POST, path: /release}}
            response:
              status: 202
              publish:
                - exchange: {incoming}
                  routing_key: publish.playstore
                  body: "We are publishing an Android App!"
                  properties: {{content_type: text/plain, message_id: m-1}}
                  headers: {{x-source: mockserver}}
                - {{exchange: {incoming}, routing_key: publish.newsletter, json: {{n: 1}},
                   delay_ms: 50}}
    """
    root = write_stubs(tmp_path, {"releases.yaml": stubs})
    with serve(root) as server, Admin(server.url) as admin, service(rabbit_server.url) as channel:
        broker_up(admin)
        mine = listen(channel, incoming, "publish.*")
        answer = requests.post(server.url + "/release", timeout=10)
        assert answer.status_code == 202
        got = received(channel, mine, count=2)
        by_key = {method.routing_key: (properties, body) for method, properties, body in got}
        properties, body = by_key["publish.playstore"]
        assert body == b"We are publishing an Android App!"
        assert (properties.content_type, properties.message_id) == ("text/plain", "m-1")
        assert properties.headers == {"x-source": "mockserver"}
        properties, body = by_key["publish.newsletter"]
        assert (json.loads(body), properties.content_type) == ({"n": 1}, "application/json")
        sent = messages(admin, 2, direction="published", stub="stub release")
        assert all(m.get("error") is None for m in sent)

        published = admin.post(
            "/messages/publish",
            json={
                "exchange": incoming,
                "routing_key": "publish.appstore",
                "json": {"platform": "ios"},
                "properties": {"correlation_id": "c-9"},
            },
        )
        assert published.status_code == 200, published.text
        ((method, properties, body),) = received(channel, mine)
        assert (method.routing_key, json.loads(body)) == ("publish.appstore", {"platform": "ios"})
        assert properties.correlation_id == "c-9"
        count = admin.post(
            "/messages/count", json={"exchange": incoming, "routing_key": "publish.appstore"}
        )
        assert count.json() == {"count": 1}
        refused = admin.post("/messages/publish", json={"exchange": incoming, "bodyy": "x"})
        assert refused.status_code == 422
        assert "bodyy" in refused.json()["detail"]
        later = admin.post("/messages/publish", json={"exchange": incoming, "delay_ms": 10})
        assert later.status_code == 422
        assert "delay_ms" in later.json()["detail"]


def test_without_a_broker_a_publish_is_journaled_as_not_sent(tmp_path: Path) -> None:
    stubs = """
        service: releases
        stubs:
          - request: {path: /release}
            response: {publish: [{exchange: incoming, routing_key: a.b, body: hi}]}
    """
    root = write_stubs(tmp_path, {"releases.yaml": stubs})
    with serve(root) as server, Admin(server.url) as admin:
        assert requests.get(server.url + "/release", timeout=10).status_code == 200
        (sent,) = messages(admin, 1, direction="published")
        assert "MOCKSERVER_AMQP_URL" in sent["error"]
        refused = admin.post("/messages/publish", json={"exchange": "x", "body": "y"})
        assert refused.status_code == 409
        assert "amqp" not in admin.get("/health").json()
