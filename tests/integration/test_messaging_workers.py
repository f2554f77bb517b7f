"""serve --workers 2 with amqp:: each worker consumes a share of the queue (the broker spreads
it), and the admin API answers with every worker's messages and counts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.rabbitserver import RabbitServer

from ..console import MOCKSERVER, Console, clean_env
from .admin_helpers import Admin, write_stubs
from .messaging import broker_up, messages, publish, service
from .test_messaging_topic import releases


def test_one_journal_shows_every_message_the_workers_consumed(
    tmp_path: Path,
    rabbit_server: RabbitServer,
    unique_name: Callable[[str], str],
    free_port: Callable[[], int],
) -> None:
    incoming, queue = unique_name("incoming"), unique_name("mock.playstore")
    root = write_stubs(tmp_path, {"releases.yaml": releases(rabbit_server.url, incoming, queue)})
    port = free_port()
    command = [MOCKSERVER, "serve", str(root), "--workers", "2", "--port", str(port)]
    console = Console(command, env=clean_env())
    try:
        console.next_line(lambda line: "worker processes (pids" in line)
        with Admin(f"http://127.0.0.1:{port}") as admin, service(rabbit_server.url) as channel:
            broker_up(admin)
            for i in range(20):
                publish(channel, incoming, "publish.playstore", f"Android App #{i}")
            found = messages(admin, 20, direction="consumed", matched=True)
            assert sorted(m["body"] for m in found) == sorted(
                f"Android App #{i}" for i in range(20)
            )
            count = admin.post("/messages/count", json={"routing_key": "publish.playstore"})
            assert count.json() == {"count": 20}
            assert admin.post("/reset").status_code == 200
            assert admin.get("/messages").json()["total"] == 0
    finally:
        console.close()
