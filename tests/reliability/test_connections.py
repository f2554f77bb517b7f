"""research/reliability.md §4 rows 30-33: slow clients, many connections, clients that leave,
and journal pressure.

The promise each time: a client that is slow, absent or greedy costs a bounded amount for a
bounded time, and everyone else is served as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver import MockServer

from ..integration.admin_helpers import Admin, serve, settings, write_stubs
from ..waiting import wait_until_async
from .helpers import APP_STUBS, Console, Raw, exchange, open_fds, port_of, rss_bytes, wait_for

STUBS = (
    APP_STUBS
    + """\
  - id: slow
    request: {method: GET, path: /slow}
    response: {body: late, delay_ms: 1500}
  - id: very-slow
    request: {method: GET, path: /very-slow}
    response: {body: too late, delay_ms: 30000}
  - id: big
    request: {method: GET, path: /big}
    response: {body_file: big.bin}
"""
)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_stubs(tmp_path_factory.mktemp("stubs"), {"app.yaml": STUBS})
    (root / "big.bin").write_bytes(bytes(range(256)) * 32 * 1024)  # 8 MiB
    return root


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[MockServer]:
    with serve(root, request_timeout=1.0) as server:
        yield server


def latencies_while(url: str, done: threading.Event, into: list[float]) -> threading.Thread:
    """A thread that times ordinary requests until ``done``."""

    def run() -> None:
        with requests.Session() as session:
            while not done.is_set():
                started = time.monotonic()
                assert session.get(url + "/ok", timeout=10).text == "ok"
                into.append(time.monotonic() - started)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_row_30_slowloris_and_slow_post_get_408_at_the_deadline(server: MockServer) -> None:
    port = port_of(server.url)
    heads = [b"GET /ok HTTP/1.1\r\nHost: x\r\n"] * 150 + [
        b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
    ] * 50
    drips = [b"X-Drip: 1\r\n"] * 150 + [b"x"] * 50
    sel = selectors.DefaultSelector()
    started: dict[socket.socket, float] = {}
    received: dict[socket.socket, bytes] = {}
    ended: dict[socket.socket, float] = {}
    latencies: list[float] = []
    done = threading.Event()
    others = latencies_while(server.url, done, latencies)
    try:
        for head, drip in zip(heads, drips, strict=True):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(head)
            started[sock], received[sock] = time.monotonic(), b""
            sel.register(sock, selectors.EVENT_READ, drip)
        deadline = time.monotonic() + 10
        while len(ended) < len(started) and time.monotonic() < deadline:
            # Wait for answers; every 0.2 s without one, each open socket drips a byte more.
            events = sel.select(timeout=0.2)
            for key, _ in events:
                conn = key.fileobj
                assert isinstance(conn, socket.socket)
                try:
                    chunk = conn.recv(4096)
                except ConnectionResetError:
                    chunk = b""
                received[conn] += chunk
                if not chunk:
                    ended[conn] = time.monotonic()
                    sel.unregister(conn)
            if not events:
                for key in list(sel.get_map().values()):
                    with contextlib.suppress(OSError):  # a server that closed first
                        key.fileobj.sendall(key.data)  # type: ignore[union-attr]
    finally:
        done.set()
        others.join()
        sel.close()
        for sock in started:
            sock.close()
    assert len(ended) == len(started), f"{len(started) - len(ended)} connections still open"
    for sock, when in ended.items():
        assert received[sock].startswith(b"HTTP/1.1 408 Request Timeout\r\n"), received[sock]
        assert b"Connection: close" in received[sock]
        assert 0.9 < when - started[sock] < 4.0
    assert latencies
    assert max(latencies) < 1.0, sorted(latencies)[-3:]


def test_row_30_the_deadline_spares_idle_keepalive_slow_stubs_and_fast_uploads(
    server: MockServer,
) -> None:
    port = port_of(server.url)
    with Raw(port) as raw:
        raw.send(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        assert raw.answer().body == b"ok"
        raw.sock.settimeout(1.5)  # idle past the receipt deadline: that is keep-alive's time
        with pytest.raises(TimeoutError):
            raw._fill()
        raw.sock.settimeout(10)
        raw.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")  # answered after the deadline
        assert raw.answer().body == b"late"
    body = b"u" * (5 * 1024 * 1024)
    head = f"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
    assert exchange(port, head.encode() + body).body == b"stored"


def test_row_31_a_thousand_connections_then_back_to_baseline(server: MockServer) -> None:
    with Admin(server.url) as admin:
        admin.ok("GET", "/health")
        fds = open_fds()
        port = port_of(server.url)
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(1000)]
        try:
            for i, sock in enumerate(held):  # half idle, half mid-way through a request
                if i % 2:
                    sock.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\n")
            # Both ends live in this process: wait until the server has accepted them all.
            wait_for(lambda: open_fds() >= fds + 2 * len(held), "the server to accept all")
            started = time.monotonic()
            assert admin.ok("GET", "/health")["status"] == "ok"
            assert admin.mock("GET", "/ok").text == "ok"
            assert time.monotonic() - started < 1.0
        finally:
            for sock in held:
                sock.close()
        wait_for(lambda: open_fds() <= fds + 5, "the server to close its ends")


def limits_of(pid: int) -> str:
    return next(
        line
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines()
        if line.startswith("Max open files")
    )


@pytest.mark.parametrize(("soft", "hard", "warned"), [(256, 256, True), (256, 4096, False)])
def test_row_31_the_open_file_limit_is_raised_or_warned_about_at_start(
    root: Path, soft: int, hard: int, warned: bool
) -> None:
    with Console("serve", str(root), "--port", "0", open_files=(soft, hard)) as console:
        console.port()
        printed = "\n".join(console.seen)
        assert ("the open-file limit is 256" in printed) is warned, printed
        assert limits_of(console.process.pid).split()[3:5] == [str(hard), str(hard)]


def test_row_32_a_client_leaving_during_a_delay_or_a_body_leaks_nothing(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    problems: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: problems.append(ctx))
        async with MockServer(settings(root)) as server:
            port = port_of(server.url)
            baseline = len(asyncio.all_tasks())

            async def settled() -> None:
                await wait_until_async(
                    lambda: len(asyncio.all_tasks()) <= baseline, "no task left over", 5
                )

            for _ in range(20):  # leave during the 30 s delay, with a reset
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /very-slow HTTP/1.1\r\nHost: x\r\n\r\n")
                seen = len(server.store.journal)
                await wait_until_async(  # journaled: the handler is in its delay
                    lambda seen=seen: len(server.store.journal) > seen, "the request journaled"
                )
                writer.transport.abort()
            await settled()  # without handler cancellation, 20 tasks would wait 30 s
            left = [e for e in server.store.journal.entries() if e.path == "/very-slow"]
            assert [e.error for e in left] == ["client_disconnected"] * 20
            for _ in range(20):  # leave after the first kilobyte of an 8 MiB body
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
                await reader.readexactly(1024)
                writer.close()
                await writer.wait_closed()
            await settled()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert (await reader.read()).endswith(b"\r\n\r\nok")
            writer.close()
            await writer.wait_closed()

    with caplog.at_level(logging.WARNING):
        asyncio.run(main())
    assert problems == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_row_33_journal_pressure_stays_bounded_and_pages(root: Path) -> None:
    body = b"j" * (128 * 1024)
    errors: list[str] = []
    done = threading.Event()
    with serve(root, journal_size=50, journal_body_cap=1024) as server:
        before = rss_bytes()

        def read_pages() -> None:
            with Admin(server.url) as admin:
                while not done.is_set():
                    for offset in (0, 10, 40, 49, 60):
                        answer = admin.get("/requests", params={"limit": 10, "offset": offset})
                        if answer.status_code != 200:
                            errors.append(f"{answer.status_code} {answer.text[:100]}")
                        elif len(answer.json()["requests"]) > 10:
                            errors.append("more than the limit")

        reader = threading.Thread(target=read_pages)
        reader.start()
        try:
            with requests.Session() as session:
                for _ in range(1000):
                    assert session.post(server.url + "/upload", data=body, timeout=10).ok
        finally:
            done.set()
            reader.join()
        with Admin(server.url) as admin:
            journal = admin.ok("GET", "/requests")
            window = admin.ok("GET", "/requests", params={"limit": 5, "offset": 45})
        grown = rss_bytes() - before
    assert errors == []
    assert (journal["total"], len(journal["requests"])) == (50, 50)
    for entry in journal["requests"]:
        assert (entry["body_size"], entry["body_truncated"]) == (len(body), True)
        assert len(entry["body"]) == 1024
    assert [e["seq"] for e in window["requests"]] == [e["seq"] for e in journal["requests"][45:]]
    assert grown < 40 * 1024 * 1024  # 125 MiB went through; the journal kept 50 KiB of it
