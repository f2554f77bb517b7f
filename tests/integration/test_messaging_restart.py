"""The broker away: unreachable when mockserver starts (HTTP served, health says down, the
connection retried), then stopped and started again mid-run (reconnected, exchanges and queues
declared again, messages consumed again). A node of its own: the session's is never stopped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import requests

from tests.rabbitserver import RabbitServer

from ..waiting import wait_until
from .admin_helpers import Admin, serve, write_stubs
from .messaging import broker_up, messages, publish, service


def test_an_unreachable_broker_leaves_http_served_and_health_saying_why(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    port = free_port()  # nothing listens there
    stubs = f"""
        service: releases
        amqp:
          url: amqp://guest:s3cret-pass@127.0.0.1:{port}/%2F
          exchanges: [{{name: incoming, type: topic}}]
        stubs:
          - request: {{path: /ping}}
            response: {{body: pong}}
    """
    root = write_stubs(tmp_path, {"releases.yaml": stubs})
    with serve(root) as server, Admin(server.url) as admin:
        assert requests.get(server.url + "/ping", timeout=10).text == "pong"
        broker = wait_until(
            lambda: (b := admin.get("/health").json()["amqp"]["brokers"][0])["error"] and b,
            "the connection error in /__admin/health",
        )
        assert admin.get("/health").json()["amqp"]["status"] == "down"
        assert broker["url"] == f"amqp://guest:***@127.0.0.1:{port}/%2F"
        assert str(port) in broker["error"]
        assert "s3cret-pass" not in admin.get("/health").text


def test_a_broker_restart_mid_run_is_survived(
    tmp_path: Path, unique_name: Callable[[str], str]
) -> None:
    incoming, queue = unique_name("incoming"), unique_name("mock.playstore")
    with RabbitServer() as broker:
        stubs = f"""
            service: releases
            amqp:
              url: {broker.url}
              exchanges: [{{name: {incoming}, type: topic}}]
              consumers:
                - id: playstore
                  queue: {queue}
                  bind: {{exchange: {incoming}, routing_key: "publish.*"}}
            stubs:
              - request: {{path: /ping}}
                response: {{body: pong}}
        """
        root = write_stubs(tmp_path, {"releases.yaml": stubs})
        broker.stop()  # unreachable at start: HTTP is served, the connection retried
        with serve(root) as server, Admin(server.url) as admin:
            assert admin.get("/health").json()["amqp"]["status"] == "down"
            assert requests.get(server.url + "/ping", timeout=10).text == "pong"
            broker.start()
            broker_up(admin, timeout=60)
            with service(broker.url) as channel:
                publish(channel, incoming, "publish.playstore", "before the restart")
            messages(admin, 1, direction="consumed", body="before the restart")

            broker.stop()
            wait_until(
                lambda: admin.get("/health").json()["amqp"]["status"] == "down",
                "the broker down in /__admin/health",
            )
            assert requests.get(server.url + "/ping", timeout=10).text == "pong"
            broker.start()
            broker_up(admin, timeout=60)

            def consumed_after() -> list[dict[str, object]]:
                # Until the consumer is declared again, the exchange may be missing: the
                # service publishes again, as one that retries would.
                with service(broker.url) as channel:
                    channel.exchange_declare(incoming, "topic")
                    publish(channel, incoming, "publish.playstore", "after the restart")
                return [
                    m
                    for m in admin.get("/messages").json()["messages"]
                    if m["body"] == "after the restart"
                ]

            (after, *_) = wait_until(consumed_after, "a message consumed after the restart")
            assert (after["matched"], after["consumer"]) == (True, "playstore")


def test_a_binding_to_an_exchange_the_service_declares_later_is_tried_again(
    tmp_path: Path, rabbit_server: RabbitServer, unique_name: Callable[[str], str]
) -> None:
    theirs, queue = unique_name("declared.by.the.service"), unique_name("mock.q")
    stubs = f"""
        service: releases
        amqp:
          url: {rabbit_server.url}
          consumers:
            - {{id: c, queue: {queue}, bind: {{exchange: {theirs}, routing_key: "#"}}}}
    """
    root = write_stubs(tmp_path, {"releases.yaml": stubs})
    with serve(root) as server, Admin(server.url) as admin, service(rabbit_server.url) as channel:
        broker = admin.get("/health").json()["amqp"]["brokers"][0]
        assert broker["connected"] is False
        assert "declaring failed" in broker["error"]
        assert "NOT_FOUND" in broker["error"]
        channel.exchange_declare(theirs, "topic")  # the service starts, and declares it
        broker_up(admin)
        publish(channel, theirs, "any.key", "now bound")
        assert messages(admin, 1, body="now bound")[0]["consumer"] == "c"
