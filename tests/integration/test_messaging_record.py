"""mockserver record --amqp-exchange: what passed through the named exchanges while it ran,
written as consumer stubs that load and serve (pika publishing as the services would)."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import yaml

from mockserver.formats.loader import load_paths
from tests.rabbitserver import RabbitServer

from ..console import MOCKSERVER, Console, clean_env
from .messaging import publish, service


def test_record_writes_what_passed_through_the_exchanges_as_consumers(
    tmp_path: Path,
    rabbit_server: RabbitServer,
    unique_name: Callable[[str], str],
    free_port: Callable[[], int],
) -> None:
    incoming, events = unique_name("incoming"), unique_name("events")
    out = tmp_path / "recorded"
    with service(rabbit_server.url) as channel:
        channel.exchange_declare(incoming, "topic")
        channel.exchange_declare(events, "fanout")
        command = [
            MOCKSERVER, "record", "--out", str(out), "--port", str(free_port()),
            "--target", f"users=http://127.0.0.1:{free_port()}",
            "--amqp-exchange", f"{incoming}=topic", "--amqp-exchange", f"{events}=fanout",
            "--amqp-url", rabbit_server.url,
        ]  # fmt: skip
        console = Console(command, env=clean_env())
        try:
            console.next_line(lambda line: "recording into" in line)
            order = json.dumps({"order": 7})
            for _ in range(2):
                publish(channel, incoming, "order.created", order, content_type="application/json")
            publish(channel, incoming, "order.note", "first")
            publish(channel, incoming, "order.note", "second")
            publish(channel, events, "", "released")
            console.process.send_signal(signal.SIGTERM)
            assert console.process.wait(timeout=30) == 0, console.seen
        finally:
            console.close()
    path = out / "amqp.recorded.yaml"
    document = yaml.safe_load(path.read_text())
    assert "guest" not in path.read_text()  # no credentials in the file
    consumers = {c["bind"]["routing_key"]: c for c in document["amqp"]["consumers"]}
    assert consumers["order.created"]["match"] == {"body": {"json": {"order": 7}}}
    assert "match" not in consumers["order.note"]  # the bodies differed
    assert consumers[""]["bind"]["exchange"] == events
    assert consumers[""]["match"] == {"body": {"equals": "released"}}
    (spec,) = load_paths([str(path)]).services["recorded-amqp"].amqp
    assert [e.name for e in spec.exchanges] == [incoming, events]
    assert len(spec.consumers) == 3
