"""--state redis against --state memory on a static JSON stub, and three replicas against one.

    python -m benchmarks.redis_state [--duration 5] [--rounds 3] [--replicas 3]

A private redis-server (no persistence) on a free port; every server is a ``mockserver serve``
with default settings (the request log on, written to a file), loaded by wrk (``-t2 -c50``)
in turn, A, B, A, B..., so drift on a shared machine hits both alike:

- memory: ``serve STUBS``; redis: ``serve STUBS --state redis://...`` (every request journaled
  in Redis through the batched flusher). Issue 19 asks for redis >= 0.7 x memory.
- 1 replica: ``serve --state redis``; N replicas: ``serve --workers N --state redis``, N
  processes on one port (SO_REUSEPORT: the kernel spreads wrk's connections over them), all
  sharing the journal in Redis.

After each redis run the requests wrk counted are compared with the hits Redis holds (none
may be lost). Printed per run: requests/second, p99 and the cores the server's processes,
Redis and wrk used; then medians and ratios, and (as benchmarks/workers.py does) how much more
work two CPU-bound processes do than one here and now: the ceiling of any speedup.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from benchmarks.workers import (
    PATH,
    STUB,
    Run,
    cpu_seconds,
    free_port,
    parallel_scaling,
    process_tree,
    wrk,
)

DEADLINE = 60.0


@contextmanager
def redis_server(directory: Path) -> Iterator[tuple[str, int]]:
    """A redis-server on a free port that keeps nothing on disk: its URL and pid."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(directory)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        yield f"redis://127.0.0.1:{port}/0", process.pid
    finally:
        process.terminate()
        process.wait(20)


@contextmanager
def serve(stubs: Path, log: Path, *extra: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``mockserver serve STUBS EXTRA...`` with default settings, once it says it serves."""
    port = free_port()
    command = [sys.executable, "-m", "mockserver", "serve", str(stubs), "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen([*command, *extra], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    workers = "--workers" in extra
    try:
        deadline = time.monotonic() + DEADLINE
        # The banner's last line: once every worker serves, with --workers.
        wanted = "worker processes (pids" if workers else "  admin: "
        while wanted not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"serve {' '.join(extra)} did not start:\n{log.read_text()}")
            time.sleep(0.05)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def admin(url: str, method: str, path: str) -> object:
    request = urllib.request.Request(url + "/__admin" + path, method=method)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def settled_hits(url: str) -> int:
    """The static stub's hits every replica counted (the shared count, with Redis), once two
    looks agree: the replicas' queues reach Redis within ~0.1 s of the last answer."""
    last, deadline = -1, time.monotonic() + 10
    while True:
        stubs = admin(url, "GET", "/stubs")
        assert isinstance(stubs, dict)
        found = sum(int(s["hits"]) for s in stubs["stubs"])
        if found == last or time.monotonic() > deadline:
            return found
        last = found
        time.sleep(0.3)


def compare(
    servers: dict[str, tuple[str, subprocess.Popen[bytes]]],
    redis_pid: int,
    duration: int,
    rounds: int,
) -> dict[str, list[Run]]:
    results: dict[str, list[Run]] = {name: [] for name in servers}
    for round_ in range(1, rounds + 1):
        for name, (url, process) in servers.items():
            redis_before = cpu_seconds([redis_pid])
            began = time.perf_counter()
            before = settled_hits(url)
            run = wrk(url + PATH, duration, process_tree(process.pid))
            redis_cores = (cpu_seconds([redis_pid]) - redis_before) / (time.perf_counter() - began)
            counted = settled_hits(url) - before
            results[name].append(run)
            print(
                f"  round {round_} {name:<18} {run.requests_per_s:>9,.0f} req/s  "
                f"p99 {run.p99_ms:6.2f} ms  server {run.server_cores:.2f} cores  "
                f"redis {redis_cores:.2f}  wrk {run.wrk_cores:.2f}  "
                f"hits {counted:,} (wrk ~{run.requests_per_s * duration:,.0f})",
                flush=True,
            )
    return results


def summary(results: dict[str, list[Run]]) -> tuple[list[float], list[float]]:
    """Print the medians; returns them, and the medians of requests per server core second
    (what a busy shared machine disturbs least: it says what each request cost)."""
    medians, per_core = [], []
    for name, runs in results.items():
        medians.append(statistics.median(r.requests_per_s for r in runs))
        per_core.append(statistics.median(r.requests_per_s / r.server_cores for r in runs))
        p99 = statistics.median(r.p99_ms for r in runs)
        cores = statistics.median(r.server_cores for r in runs)
        print(
            f"  {name:<18} {medians[-1]:>9,.0f} req/s  p99 {p99:6.2f} ms  {cores:.2f} cores  "
            f"{per_core[-1]:>7,.0f} req per core second"
        )
    return medians, per_core


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds")
    parser.add_argument("--replicas", type=int, default=3, help="processes of the N case")
    args = parser.parse_args()
    for tool in ("wrk", "redis-server"):
        if shutil.which(tool) is None:
            print(f"this benchmark needs {tool} (apt-get install {tool})", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        place = Path(tmp)
        stubs = place / "stubs"
        stubs.mkdir()
        (stubs / "bench.json").write_text(json.dumps(STUB))
        url, redis_pid = stack.enter_context(redis_server(place))
        print(f"wrk -t2 -c50 -d{args.duration}s, {os.cpu_count()} cores, {args.rounds} rounds")
        print("memory against redis (static stub, request log on):")
        pair = {
            "--state memory": stack.enter_context(serve(stubs, place / "memory.log")),
            "--state redis": stack.enter_context(serve(stubs, place / "redis.log", "--state", url)),
        }
        (memory, shared), (memory_cost, shared_cost) = summary(
            compare(pair, redis_pid, args.duration, args.rounds)
        )
        print(
            f"ratio redis / memory: {shared / memory:.2f} in req/s, "
            f"{shared_cost / memory_cost:.2f} per core second (issue 19: >= 0.7)"
        )
        for _, process in pair.values():
            process.terminate()
        n = args.replicas
        print(f"1 replica against {n} (--workers {n}: one port, SO_REUSEPORT), both on Redis:")
        scale = {
            "1 replica": stack.enter_context(serve(stubs, place / "one.log", "--state", url)),
            f"{n} replicas": stack.enter_context(
                serve(stubs, place / "many.log", "--state", url, "--workers", str(n))
            ),
        }
        (one, many), (one_cost, many_cost) = summary(
            compare(scale, redis_pid, args.duration, args.rounds)
        )
        print(
            f"ratio {n} replicas / 1: {many / one:.2f} in req/s, "
            f"{many_cost / one_cost:.2f} per core second"
        )
        ceiling = parallel_scaling()
        print(f"ceiling here and now: 2 CPU-bound processes do {ceiling:.2f}x the work of one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
