"""serve --workers 2 against one process, on a static JSON stub.

    python benchmarks/workers.py [--duration 5] [--rounds 3] [--workers 2]

Both servers run at once, each in its own ``mockserver serve`` (one with ``--workers``), and
wrk (``wrk -t2 -c50``, fresh per run) loads them in turn, A, B, A, B..., so drift in a shared
machine hits both alike. Printed per run: requests/second, p99, and the CPU the server's
processes and wrk used, in cores (from /proc and getrusage), which says where the machine's
cores went; then the medians and the ratio. On a 2-core machine wrk shares the cores with the
workers, so the ratio is bounded by what wrk leaves them; and each round also measures how much
more work two CPU-bound processes do than one (on a VM whose cores are hyperthreads, or busy
with neighbours, well under 2x), the ceiling of any two-process speedup at that moment.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

STUB = {
    "service": "bench",
    "stubs": [
        {
            "id": "static",
            "request": {"method": "GET", "path": "/api/user/1"},
            "response": {"json": {"name": "Simon", "modified": "2021-06-29T21:32:25.685907"}},
        }
    ],
}
PATH = "/api/user/1"


@dataclass
class Run:
    requests_per_s: float
    p99_ms: float
    server_cores: float
    wrk_cores: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_tree(pid: int) -> list[int]:
    """``pid`` and its children (the workers of serve --workers), from /proc."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid, *(p for child in children for p in process_tree(int(child)))]


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@contextmanager
def serve(stubs: Path, workers: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    command = [sys.executable, "-m", "mockserver", "serve", str(stubs), "--port", str(port)]
    command += ["--log-level", "warning", "--workers", str(workers)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:  # the banner is printed once every worker serves; health says so too
            if process.poll() is not None:
                raise SystemExit(f"serve --workers {workers} exited with {process.returncode}")
            try:
                with urllib.request.urlopen(url + "/__admin/health", timeout=5) as answer:
                    health = json.load(answer)
                if len(health.get("workers", [None])) == workers:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"serve --workers {workers} did not start within 60 s")
            time.sleep(0.05)
        yield url + PATH, process
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wrk(url: str, duration: int, pids: list[int]) -> Run:
    server_before = cpu_seconds(pids)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    out = subprocess.run(
        ["wrk", "-t2", "-c50", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    elapsed = time.perf_counter() - began
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    if rate is None or p99 is None or errors is not None:
        raise SystemExit(f"wrk said:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    wrk_cpu = (children.ru_utime - children_before.ru_utime) + (
        children.ru_stime - children_before.ru_stime
    )
    return Run(
        float(rate.group(1)),
        float(p99.group(1)) * scale,
        (cpu_seconds(pids) - server_before) / elapsed,
        wrk_cpu / elapsed,
    )


BURN = """
import time
end = time.perf_counter() + {s}
n = 0
while time.perf_counter() < end:
    n += 1
print(n)
"""


def parallel_scaling(seconds: float = 2.0) -> float:
    """How much more CPU-bound work two processes do at once than one alone, here and now.

    The ceiling of any two-process speedup on this machine: on a 2-core VM whose cores are
    shared (hyperthreads, or neighbours), it is well under 2.
    """

    def burn(n: int) -> int:
        command = [sys.executable, "-c", BURN.format(s=seconds)]
        procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(n)]
        return sum(int(p.communicate()[0]) for p in procs)

    return burn(2) / burn(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds")
    parser.add_argument("--workers", type=int, default=2, help="workers of the B server")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("this benchmark needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    cases = {"1 process": 1, f"--workers {args.workers}": args.workers}
    results: dict[str, list[Run]] = {name: [] for name in cases}
    scaling: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        stubs = Path(tmp) / "stubs"
        stubs.mkdir()
        (stubs / "bench.json").write_text(json.dumps(STUB))
        servers = {name: stack.enter_context(serve(stubs, n)) for name, n in cases.items()}
        print(f"wrk -t2 -c50 -d{args.duration}s, {os.cpu_count()} cores, {args.rounds} rounds")
        for round_ in range(1, args.rounds + 1):
            for name, (url, process) in servers.items():
                run = wrk(url, args.duration, process_tree(process.pid))
                results[name].append(run)
                print(
                    f"  round {round_} {name:<12} {run.requests_per_s:>9,.0f} req/s  "
                    f"p99 {run.p99_ms:6.2f} ms  server {run.server_cores:.2f} cores  "
                    f"wrk {run.wrk_cores:.2f} cores",
                    flush=True,
                )
            scaling.append(parallel_scaling())
            print(f"  round {round_} 2 CPU-bound processes: {scaling[-1]:.2f}x one", flush=True)
    medians = {n: statistics.median(r.requests_per_s for r in runs) for n, runs in results.items()}
    print("medians:")
    for name, runs in results.items():
        p99 = statistics.median(r.p99_ms for r in runs)
        cores = statistics.median(r.server_cores for r in runs)
        print(f"  {name:<12} {medians[name]:>9,.0f} req/s  p99 {p99:6.2f} ms  {cores:.2f} cores")
    single, multi = medians.values()
    print(f"ratio --workers {args.workers} / 1 process: {multi / single:.2f}")
    # Where the cores went: with wrk on the same machine the workers get only what it leaves,
    # so the ratio is also (cores they got) x (their throughput per core against one process).
    used = {n: statistics.median(r.server_cores for r in runs) for n, runs in results.items()}
    one_cores, many_cores = used.values()
    per_core = (multi / many_cores) / (single / one_cores)
    print(
        f"the workers got {many_cores:.2f} cores and did {per_core:.2f} of one process's work "
        f"per core; x{multi / single:.2f} = {many_cores / one_cores:.2f} cores x {per_core:.2f}"
    )
    ceiling = statistics.median(scaling)
    print(f"ceiling here and now: 2 CPU-bound processes do {ceiling:.2f}x the work of one")
    return 0


if __name__ == "__main__":
    sys.exit(main())
