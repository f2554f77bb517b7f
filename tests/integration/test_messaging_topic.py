"""The topic example of issue 20 against a real RabbitMQ, pika as the service under test: two
routing keys through a pattern binding, one matched, one unmatched with its near miss."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

from tests.rabbitserver import RabbitServer

from .admin_helpers import Admin, serve, write_stubs
from .messaging import broker_up, messages, publish, service


def releases(url: str, incoming: str, queue: str) -> str:
    return f"""
        service: releases
        amqp:
          url: {url}
          exchanges:
            - {{name: {incoming}, type: topic}}
          consumers:
            - id: playstore
              queue: {queue}
              bind: {{exchange: {incoming}, routing_key: "publish.*"}}
              match: {{body: {{contains: Android}}}}
    """


def test_a_pattern_bound_consumer_matches_one_key_and_reports_the_other(
    tmp_path: Path, rabbit_server: RabbitServer, unique_name: Callable[[str], str]
) -> None:
    incoming, queue = unique_name("incoming"), unique_name("mock.playstore")
    root = write_stubs(tmp_path, {"releases.yaml": releases(rabbit_server.url, incoming, queue)})
    with serve(root) as server, Admin(server.url) as admin:
        health = broker_up(admin)
        assert health["brokers"][0]["url"] == rabbit_server.url.replace("guest:guest", "guest:***")
        with service(rabbit_server.url) as channel:
            publish(channel, incoming, "publish.playstore", "We are publishing an Android App!")
            publish(channel, incoming, "publish.newsletter", "Our monthly newsletter")
            publish(channel, incoming, "ignored.other", "not bound: never consumed")
        matched = messages(admin, 1, direction="consumed", routing_key="publish.playstore")[0]
        assert matched["matched"] is True
        assert matched["consumer"] == "playstore"
        assert matched["exchange"] == incoming
        assert matched["body"] == "We are publishing an Android App!"
        missed = messages(admin, 1, direction="consumed", routing_key="publish.newsletter")[0]
        assert missed["matched"] is False
        assert missed["consumer"] is None
        (miss,) = missed["near_misses"]
        assert miss["consumer"] == "playstore"
        assert miss["differences"][0]["field"] == "body"
        assert "Android" in miss["differences"][0]["expected"]
        listed = admin.get("/messages").json()
        assert listed["unmatched"] == 1
        assert {m["routing_key"] for m in listed["messages"]} == {
            "publish.playstore",
            "publish.newsletter",
        }
        count = admin.post(
            "/messages/count", json={"exchange": incoming, "routing_key": "publish.playstore"}
        )
        assert count.json() == {"count": 1}
        assert admin.post("/reset").status_code == 200
        assert admin.get("/messages").json() == {"messages": [], "total": 0, "unmatched": 0}


def test_a_reload_changes_what_consumers_match_and_declares_new_queues(
    tmp_path: Path, rabbit_server: RabbitServer, unique_name: Callable[[str], str]
) -> None:
    incoming, queue, other = unique_name("in"), unique_name("q"), unique_name("q2")
    text = textwrap.dedent(releases(rabbit_server.url, incoming, queue)).lstrip()
    root = write_stubs(tmp_path, {"releases.yaml": text})
    with serve(root) as server, Admin(server.url) as admin, service(rabbit_server.url) as channel:
        broker_up(admin)
        publish(channel, incoming, "publish.appstore", "An iOS App")
        assert messages(admin, 1, direction="consumed")[0]["matched"] is False

        # The same queue and binding, another match: changed in place, no reconnection.
        write_stubs(tmp_path, {"releases.yaml": text.replace("contains: Android", "contains: iOS")})
        assert admin.post("/reload").status_code == 200
        publish(channel, incoming, "publish.appstore", "Another iOS App")
        (matched,) = messages(admin, 1, direction="consumed", body="Another iOS App")
        assert matched["matched"] is True

        # A new queue: the doubles start again and consume it too.
        more = text + (
            f"    - id: second\n      queue: {other}\n"
            f'      bind: {{exchange: {incoming}, routing_key: "second.*"}}\n'
        )
        write_stubs(tmp_path, {"releases.yaml": more})
        assert admin.post("/reload").status_code == 200
        broker_up(admin)
        publish(channel, incoming, "second.one", "to the new queue")
        (second,) = messages(admin, 1, direction="consumed", body="to the new queue")
        assert (second["consumer"], second["queue"]) == ("second", other)
