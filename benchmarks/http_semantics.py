"""Server-side cost of a plain 200, a 304 and a gzip 200 of the same stub.

    python benchmarks/http_semantics.py [--requests 20000] [--concurrency 50] [--rounds 5]

mockserver runs in a subprocess (its own interpreter and core); this process drives it with
aiohttp. The cases alternate in rounds (the order rotates each round) so that drift in the
machine's load hits every case alike. Each case gets ``--requests`` in all, split over the
rounds. Printed per case: requests/second, and the server's CPU time per request read from
/proc (the server's own cost, even when the client is the bottleneck); then the ratios
304/200 and gzip/200, medians of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

# ~1.6 KB of JSON: over the 256-byte min_size, so gzip is offered.
BODY = {"items": [{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(40)]}
STUB = {
    "service": "bench",
    "stubs": [
        {
            "request": {"method": "GET", "path": "/bench"},
            "response": {"headers": {"Cache-Control": "max-age=60"}, "json": BODY},
        }
    ],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0.0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_until_up(
    session: aiohttp.ClientSession, url: str, server: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"mockserver exited with {server.returncode}")
        try:
            async with session.get(url + "/__admin/health") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.05)
    raise SystemExit("mockserver did not start within 30 s")


async def run_case(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], total: int, workers: int
) -> float:
    """Send ``total`` requests from ``workers`` coroutines; return the elapsed seconds."""
    remaining = total
    expected = 304 if "If-None-Match" in headers else 200

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            async with session.get(url, headers=headers) as response:
                await response.read()
                if response.status != expected:
                    raise SystemExit(f"expected {expected}, got {response.status}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - start


async def bench(
    url: str, pid: int, server: subprocess.Popen[bytes], args: argparse.Namespace
) -> None:
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    # auto_decompress=False: the client does not pay for inflating what the server gzipped.
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        await wait_until_up(session, url, server)
        target = url + "/bench"
        async with session.get(target, headers={"Accept-Encoding": "identity"}) as response:
            etag = response.headers["ETag"]
        async with session.get(target, headers={"Accept-Encoding": "gzip"}) as response:
            assert response.headers.get("Content-Encoding") == "gzip", "gzip is not offered"
        cases = {
            "200": {"Accept-Encoding": "identity"},
            "304": {"Accept-Encoding": "identity", "If-None-Match": etag},
            "gzip 200": {"Accept-Encoding": "gzip"},
        }
        per_round = max(1, args.requests // args.rounds)
        for headers in cases.values():  # warm up every path
            await run_case(session, target, headers, min(per_round, 2000), args.concurrency)
        rates: dict[str, list[float]] = {name: [] for name in cases}
        cpu_us: dict[str, list[float]] = {name: [] for name in cases}
        names = list(cases)
        for round_no in range(args.rounds):
            order = names[round_no % len(names) :] + names[: round_no % len(names)]
            for name in order:
                before = cpu_seconds(pid)
                elapsed = await run_case(session, target, cases[name], per_round, args.concurrency)
                used = cpu_seconds(pid) - before
                rates[name].append(per_round / elapsed)
                cpu_us[name].append(used / per_round * 1e6)
    rate = {name: statistics.median(values) for name, values in rates.items()}
    cost = {name: statistics.median(values) for name, values in cpu_us.items()}
    print(
        f"{args.rounds} rounds x {per_round:,} requests per case, {args.concurrency} concurrent, "
        f"Python {sys.version.split()[0]}, aiohttp {aiohttp.__version__}"
    )
    for name in names:
        print(
            f"  {name:<9} {rate[name]:9,.0f} requests/s   server CPU {cost[name]:6.1f} us/request"
        )
    for name in ("304", "gzip 200"):
        ratio_cpu = cost[name] / cost["200"] if cost["200"] else float("nan")
        print(
            f"  {name}/200: throughput x{rate[name] / rate['200']:.2f}, "
            f"server CPU per request x{ratio_cpu:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000, help="per case, over all rounds")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "bench.json").write_text(json.dumps(STUB), encoding="utf-8")
        port = free_port()
        command = [sys.executable, "-m", "mockserver", "serve", tmp, "--port", str(port)]
        command += ["--log-level", "warning", "--journal-size", "0"]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        try:
            asyncio.run(bench(f"http://127.0.0.1:{port}", server.pid, server, args))
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
