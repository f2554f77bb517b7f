"""What the messaging doubles cost: CPU per consumed message, none lost, HTTP beside them.

    python -m benchmarks.messaging [--messages 5000] [--rounds 3] [--duration 3] [--amqp-url URL]

Without ``--amqp-url`` a private RabbitMQ node is started (tests/rabbitserver.py: Debian's
rabbitmq-server on free ports). One ``mockserver serve`` (request log on) consumes a topic
exchange through a pattern-bound queue with a body matcher. pika, as a service would, publishes
``--messages`` small messages with publisher confirms; the figures are the mockserver process's
CPU time (user + system, from /proc) from the first publish until every message is journaled
(counted through ``POST /__admin/messages/count``), divided by the messages, and the count
itself. Then wrk (`-t2 -c50`) loads ``GET /ping`` on that server (its AMQP connection idle)
and on the same stubs without ``amqp:``, alternated round after round.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pika

from benchmarks.run import free_port, server, wrk

PING = """\
  - request: {method: GET, path: /ping}
    response: {json: {pong: true}}
"""
WITH_AMQP = """\
service: bench
amqp:
  url: {url}
  exchanges: [{{name: bench.incoming, type: topic}}]
  consumers:
    - id: releases
      queue: bench.releases
      bind: {{exchange: bench.incoming, routing_key: "publish.*"}}
      match: {{body: {{contains: Android}}}}
stubs:
"""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def count(port: int) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/__admin/messages/count",
        data=json.dumps({"direction": "consumed"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(json.load(response)["count"])


def broker_up(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/__admin/health") as response:
            if json.load(response).get("amqp", {}).get("status") == "up":
                return
        time.sleep(0.05)  # polling a condition with a deadline
    raise TimeoutError("the broker did not come up")


def consume_figures(url: str, port: int, pid: int, messages: int) -> tuple[float, int, float]:
    """(CPU ms per message, messages journaled, seconds until the last was journaled)."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.confirm_delivery()
    properties = pika.BasicProperties(content_type="text/plain")
    before, began = cpu_seconds(pid), time.monotonic()
    for i in range(messages):
        key = "publish.playstore" if i % 2 else "publish.newsletter"
        channel.basic_publish("bench.incoming", key, f"Android App #{i}".encode(), properties)
    connection.close()
    got = 0
    deadline = time.monotonic() + 120
    while got < messages and time.monotonic() < deadline:
        time.sleep(0.2)  # polling a condition with a deadline
        got = count(port)
    took = time.monotonic() - began
    return (cpu_seconds(pid) - before) * 1000 / messages, got, took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--amqp-url", default=None)
    options = parser.parse_args()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        url = options.amqp_url
        if url is None:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from tests.rabbitserver import RabbitServer

            url = stack.enter_context(RabbitServer()).url
        with_amqp, plain = Path(tmp, "amqp"), Path(tmp, "plain")
        with_amqp.mkdir()
        plain.mkdir()
        (with_amqp / "bench.yaml").write_text(WITH_AMQP.format(url=url) + PING)
        (plain / "bench.yaml").write_text("service: bench\nstubs:\n" + PING)
        ports = {"amqp": free_port(), "plain": free_port()}
        processes = {}
        for name, root in (("amqp", with_amqp), ("plain", plain)):
            command = [sys.executable, "-m", "mockserver", "serve", str(root)]
            command += ["--port", str(ports[name])]
            processes[name] = stack.enter_context(server(command, ports[name], "/ping"))
        broker_up(ports["amqp"])
        per_message, got, took = consume_figures(
            url, ports["amqp"], processes["amqp"].pid, options.messages
        )
        rates: dict[str, list[float]] = {"amqp": [], "plain": []}
        for _ in range(options.rounds):
            for name, port in ports.items():
                load = wrk(f"http://127.0.0.1:{port}/ping", options.duration, {})
                rates[name].append(load.requests_per_s)
    print(f"# {options.messages} messages published by pika (confirms), consumed by mockserver")
    print(f"journaled        {got} of {options.messages} in {took:.1f} s")
    print(f"CPU per message  {per_message:.3f} ms (mockserver process, user + system)")
    amqp, none = statistics.median(rates["amqp"]), statistics.median(rates["plain"])
    print(f"# wrk -t2 -c50 -d{options.duration:g}s GET /ping, {options.rounds} rounds, medians")
    print(f"idle AMQP connection  {amqp:9,.0f} req/s")
    print(f"no amqp:              {none:9,.0f} req/s   ratio x{amqp / none:.2f}")


if __name__ == "__main__":
    main()
