"""A soak: mixed traffic for MOCKSERVER_SOAK_SECONDS (10 in CI; minutes on demand), then the
server's memory and open files must be back near where they were after a warm-up.

``MOCKSERVER_SOAK_SECONDS=300 pytest -m soak`` is the long form.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from ..integration.admin_helpers import write_stubs
from ..reliability.helpers import Console
from ..waiting import wait_until

SECONDS = float(os.environ.get("MOCKSERVER_SOAK_SECONDS", "10"))
STUBS = """
service: app
stubs:
  - id: read
    request: {method: GET, path: "/items/{id}"}
    response: {json: {id: "1", name: "a name long enough to be compressed, and then some more"}}
  - id: write
    request: {method: POST, path: /items, body: {json_subset: {kind: item}}}
    response: {status: 201, json: {created: true}}
  - id: slow
    request: {method: GET, path: /slow}
    response: {body: late, delay_ms: 5000}
"""


def rss_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def fds_of(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


async def traffic(url: str, port: int, seconds: float, counts: Counter[str]) -> None:
    """Every kind of client at once, until ``seconds`` have passed."""
    end = time.monotonic() + seconds
    body = {"kind": "item", "blob": "x" * 30_000}
    compressed = gzip.compress(b'{"kind": "item", "pad": "' + b"z" * 100_000 + b'"}')

    async def repeat(work: Callable[[aiohttp.ClientSession, int], Awaitable[None]]) -> None:
        async with aiohttp.ClientSession(url) as session:
            i = 0
            while time.monotonic() < end:
                await work(session, i)
                i += 1

    async def reads(session: aiohttp.ClientSession, i: int) -> None:
        headers = {"Accept-Encoding": random.choice(["gzip", "identity", "br, gzip"])}
        async with session.get(f"/items/{i}", headers=headers) as answer:
            await answer.read()
            counts[f"read {answer.status}"] += 1

    async def writes(session: aiohttp.ClientSession, i: int) -> None:
        if i % 2:
            async with session.post("/items", json=body) as answer:
                counts[f"write {answer.status}"] += 1
        else:
            headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
            async with session.post("/items", data=compressed, headers=headers) as answer:
                counts[f"gzip {answer.status}"] += 1

    async def misses(session: aiohttp.ClientSession, i: int) -> None:
        async with session.post(f"/nowhere/{i}", json={"kind": "other"}) as answer:
            await answer.read()
            counts[f"miss {answer.status}"] += 1

    async def admin(session: aiohttp.ClientSession, i: int) -> None:
        stub = {"request": {"path": f"/runtime/{i}"}, "response": {"body": str(i)}}
        async with session.post("/__admin/stubs", json=stub) as answer:
            added = (await answer.json())["stubs"][0]["id"]
        async with session.get("/__admin/requests", params={"limit": "50"}) as answer:
            await answer.read()
        async with session.delete(f"/__admin/stubs/{added}") as answer:
            counts[f"admin {answer.status}"] += 1
        if i % 50 == 49:
            async with session.post("/__admin/reset") as answer:
                counts[f"reset {answer.status}"] += 1

    async def leavers(session: aiohttp.ClientSession, i: int) -> None:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        if i % 2:  # a client that gives up on a slow stub
            writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        else:  # a client that never finishes its headers, until it gives up
            writer.write(b"GET /items/1 HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        await writer.drain()  # the request is on its way; the client leaves without an answer
        writer.transport.abort()
        counts["left"] += 1

    await asyncio.gather(
        *(repeat(reads) for _ in range(3)),
        repeat(writes),
        repeat(misses),
        repeat(admin),
        repeat(leavers),
    )


def settle(pid: int, fds: int) -> int:
    """Wait until the server holds no more than ``fds`` (+5) open files; return the count."""
    wait_until(lambda: fds_of(pid) <= fds + 5, "the server's fds back to baseline")
    return fds_of(pid)


@pytest.mark.soak
@pytest.mark.timeout(SECONDS * 2 + 120)
def test_soak_memory_and_files_return_to_baseline(tmp_path: Path) -> None:
    root = write_stubs(tmp_path, {"app.yaml": STUBS})
    args = ["serve", str(root), "--port", "0", "--log-level", "warning", "--request-timeout", "2"]
    counts: Counter[str] = Counter()
    with Console(*args) as console:
        port = console.port()
        url = f"http://127.0.0.1:{port}"
        pid = console.process.pid
        fds = fds_of(pid)
        # Warm-up: caches, negotiation results, and a journal as full as it will get.
        asyncio.run(traffic(url, port, min(5.0, SECONDS / 2), counts))
        settle(pid, fds)
        rss = rss_of(pid)
        counts.clear()
        asyncio.run(traffic(url, port, SECONDS, counts))
        after_fds = settle(pid, fds)
        after_rss = rss_of(pid)
        assert console.process.poll() is None
    print(f"\nsoak {SECONDS:g} s: {dict(sorted(counts.items()))}")
    print(f"RSS {rss / 2**20:.1f} -> {after_rss / 2**20:.1f} MiB; fds {fds} -> {after_fds}")
    assert set(counts) <= {
        "read 200",
        "write 201",
        "gzip 201",
        "miss 404",
        "admin 200",
        "reset 200",
        "left",
    }, counts
    assert counts["read 200"] > 100
    assert counts["left"] > 10
    assert after_fds <= fds + 5
    assert after_rss - rss < max(30 * 2**20, rss // 5), "memory grew under the soak"
