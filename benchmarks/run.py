"""The performance benchmark: mockserver against a raw aiohttp handler, side by side.

    python -m benchmarks                 # every scenario, wrk when installed
    python -m benchmarks --smoke         # a few seconds, no thresholds (CI runs this)
    python -m benchmarks --duration 10 --rounds 5
    python -m benchmarks --baseline-tree /tmp/old   # this tree against another checkout

With ``--baseline-tree``, mockserver from that checkout (an older commit in a git worktree)
runs beside this one, alternated with it under the same load, so a change to the hot path is
judged before and after in one run, as a ratio.

The baseline is a raw aiohttp handler returning the same bytes, on asyncio's loop (as
``web.run_app`` runs by default) and, when uvloop is installed, on uvloop too: mockserver uses
uvloop when it is there, so both are shown, and mockserver on asyncio's loop as well.

mockserver runs as users run it: the request log on (one line per request, text, to a file as
a container's log driver would take it); the quiet (`--log-level warning`) and JSON-log
configurations are measured beside it.

Each throughput scenario runs the two servers it compares in subprocesses of their own and
drives them alternately (A, B, A, B...) with the same load, so drift in a shared, noisy
machine hits both alike; the table gives medians and the ratio. The load comes from wrk
(`wrk -t2 -c50`) when it is installed, else from a bundled aiohttp load generator (slower:
its own cost caps what it can show, so ratios stay meaningful but absolute figures do not).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

BODY = '{"name":"Simon","modified":"2021-06-29T21:32:25.685907"}'
TARGET = "/api/user/1"
RAW_SERVER = f"""
import sys
from aiohttp import web
BODY = {BODY!r}.encode()
async def handle(request):
    return web.Response(body=BODY, content_type="application/json")
app = web.Application()
app.router.add_get({TARGET!r}, handle)
loop = None
if sys.argv[2:] == ["uvloop"]:
    import uvloop
    loop = uvloop.new_event_loop()
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None, loop=loop)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_stubs(directory: Path, extra: int) -> Path:
    """The target stub last in file order, after ``extra`` stubs mixing exact paths and
    ``{id}`` templates (DESIGN of the performance issue)."""
    stubs: list[dict[str, object]] = []
    for i in range(extra):
        path = f"/api/item{i}/{{id}}" if i % 2 else f"/api/other/{i}"
        stubs.append({"request": {"method": "GET", "path": path}, "response": {"json": {"i": i}}})
    stubs.append(
        {
            "id": "target",
            "request": {"method": "GET", "path": TARGET},
            "response": {"body": BODY, "headers": {"Content-Type": "application/json"}},
        }
    )
    stubs.append(
        {
            "id": "big",
            "request": {"method": "GET", "path": "/api/users"},
            "response": {"json": {"users": [{"id": i, "name": f"user {i}"} for i in range(60)]}},
        }
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "users.json").write_text(json.dumps({"service": "users", "stubs": stubs}))
    return directory


def wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 30.0) -> float:
    """Seconds until ``url`` answers 200 (the process must stay up)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.005)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@contextmanager
def server(
    command: list[str],
    port: int,
    path: str = TARGET,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    # The log goes to a real file, not /dev/null: what a log driver or a terminal takes.
    log = tempfile.TemporaryFile()  # noqa: SIM115  # closed below, after the process
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    try:
        wait_for(f"http://127.0.0.1:{port}{path}", process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def raw_command(port: int, script: Path, *extra: str) -> list[str]:
    return [sys.executable, str(script), str(port), *extra]


def has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


BASELINE_ONE = "baseline tree, 1 stub"


def mock_command(port: int, stubs: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mockserver",
        "serve",
        str(stubs),
        "--port",
        str(port),
        *extra,
    ]


@dataclass
class Load:
    requests_per_s: float
    p99_ms: float


def wrk(url: str, duration: float, headers: dict[str, str]) -> Load:
    args = ["wrk", "-t2", "-c50", f"-d{max(1, round(duration))}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return Load(rate, float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"))


def aiohttp_load(url: str, duration: float, headers: dict[str, str]) -> Load:
    import aiohttp

    async def run() -> Load:
        latencies: list[float] = []
        stop = time.perf_counter() + duration
        async with aiohttp.ClientSession(headers=headers) as session:

            async def worker() -> None:
                while time.perf_counter() < stop:
                    start = time.perf_counter()
                    async with session.get(url) as response:
                        await response.read()
                    latencies.append(time.perf_counter() - start)

            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(50)))
            elapsed = time.perf_counter() - began
        latencies.sort()
        return Load(len(latencies) / elapsed, latencies[int(len(latencies) * 0.99)] * 1000)

    return asyncio.run(run())


def load_fn() -> tuple[str, Callable[[str, float, dict[str, str]], Load]]:
    return ("wrk -t2 -c50", wrk) if shutil.which("wrk") else ("aiohttp x50", aiohttp_load)


def alternate(
    cases: dict[str, tuple[list[str], int, str, dict[str, str]]],
    duration: float,
    rounds: int,
    envs: dict[str, dict[str, str]] | None = None,
) -> dict[str, list[Load]]:
    """Run every case's server once (in ``envs[name]`` if given) and load them in turn,
    ``rounds`` times."""
    _, load = load_fn()
    results: dict[str, list[Load]] = {name: [] for name in cases}
    with ExitStack() as stack:
        for name, (command, port, path, _) in cases.items():
            stack.enter_context(server(command, port, path, env=(envs or {}).get(name)))
        for _ in range(rounds):
            for name, (_, port, path, headers) in cases.items():
                results[name].append(load(f"http://127.0.0.1:{port}{path}", duration, headers))
    return results


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def startup(command: Callable[[int], list[str]], rounds: int) -> float:
    """Median milliseconds from process start to the first 200."""
    times = []
    for _ in range(rounds):
        port = free_port()
        with tempfile.TemporaryFile() as log:
            process = subprocess.Popen(command(port), stdout=log, stderr=subprocess.STDOUT)
            try:
                times.append(wait_for(f"http://127.0.0.1:{port}{TARGET}", process) * 1000)
            finally:
                process.terminate()
                process.wait(10)
    return median(times)


def peak_rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    found = re.search(r"VmHWM:\s+(\d+) kB", status)
    return int(found.group(1)) / 1024 if found else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds per scenario")
    parser.add_argument("--smoke", action="store_true", help="1 round of 1 s, small sets")
    parser.add_argument(
        "--baseline-tree",
        type=Path,
        help="a checkout of mockserver (e.g. a worktree of an older commit) to run beside this one",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.duration, args.rounds = 1.0, 1
    extra = 200 if args.smoke else 10_000
    label, _ = load_fn()
    print(
        f"# mockserver benchmark, {time.strftime('%Y-%m-%d %H:%M')}, load: {label}, "
        f"{args.duration:g} s x {args.rounds} rounds, {os.cpu_count()} CPUs"
    )
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        raw = base / "raw.py"
        raw.write_text(RAW_SERVER)
        one = write_stubs(base / "one", 0)
        many = write_stubs(base / "many", extra)
        names = ("raw", "rawuv", "one", "one-json", "one-quiet", "one-asyncio", "many")
        ports = {name: free_port() for name in names}
        cases: dict[str, tuple[list[str], int, str, dict[str, str]]] = {
            "raw aiohttp": (raw_command(ports["raw"], raw), ports["raw"], TARGET, {}),
            "mockserver, 1 stub": (mock_command(ports["one"], one), ports["one"], TARGET, {}),
            "mockserver, 1 stub, JSON log": (
                mock_command(ports["one-json"], one, "--log-format", "json"),
                ports["one-json"],
                TARGET,
                {},
            ),
            "mockserver, 1 stub, quiet (--log-level warning)": (
                mock_command(ports["one-quiet"], one, "--log-level", "warning"),
                ports["one-quiet"],
                TARGET,
                {},
            ),
            f"mockserver, {extra + 1} stubs": (
                mock_command(ports["many"], many),
                ports["many"],
                TARGET,
                {},
            ),
        }
        if has_uvloop():
            # mockserver runs on uvloop when it is installed; the same handler on the same
            # loop, and mockserver on asyncio's loop, show what of the difference is the
            # loop's and what is mockserver's.
            cases["mockserver, 1 stub, --loop asyncio"] = (
                mock_command(ports["one-asyncio"], one, "--loop", "asyncio"),
                ports["one-asyncio"],
                TARGET,
                {},
            )
            cases["raw aiohttp on uvloop"] = (
                raw_command(ports["rawuv"], raw, "uvloop"),
                ports["rawuv"],
                TARGET,
                {},
            )
        envs: dict[str, dict[str, str]] = {}
        if args.baseline_tree is not None:
            # The same command with the other checkout first on the path: its package, our
            # interpreter and dependencies, so only the code differs.
            tree = args.baseline_tree.resolve()
            if not (tree / "mockserver" / "__init__.py").is_file():
                parser.error(f"--baseline-tree: no mockserver package in {tree}")
            env = {**os.environ, "PYTHONPATH": str(tree)}
            for name, stubs in (("base-one", one), ("base-many", many)):
                ports[name] = free_port()
                label = BASELINE_ONE if name == "base-one" else f"baseline tree, {extra + 1} stubs"
                cases[label] = (mock_command(ports[name], stubs), ports[name], TARGET, {})
                envs[label] = env
        results = alternate(cases, args.duration, args.rounds, envs)
        short = {"raw aiohttp": "raw", "raw aiohttp on uvloop": "uvloop raw"}
        baseline = {
            short[name]: (
                median([r.requests_per_s for r in results[name]]),
                median([r.p99_ms for r in results[name]]),
            )
            for name in short
            if name in results
        }
        for name, loads in results.items():
            rate = median([r.requests_per_s for r in loads])
            p99 = median([r.p99_ms for r in loads])
            ratios = [
                (label, rate / base_rate, p99 / base_p99)
                for label, (base_rate, base_p99) in baseline.items()
            ]
            rows.append(
                (
                    name,
                    f"{rate:,.0f} req/s",
                    ", ".join(f"x{r:.2f} of {label}" for label, r, _ in ratios),
                    f"p99 {p99:.2f} ms ("
                    + ", ".join(f"x{q:.2f} of {label}" for label, _, q in ratios)
                    + ")",
                )
            )
        one_rate = median([r.requests_per_s for r in results["mockserver, 1 stub"]])
        many_rate = median([r.requests_per_s for r in results[f"mockserver, {extra + 1} stubs"]])
        rows.append(("drop 1 → many stubs", f"{(1 - many_rate / one_rate) * 100:.1f} %", "", ""))

        if args.baseline_tree is not None:
            for ours, theirs in (
                ("mockserver, 1 stub", BASELINE_ONE),
                (f"mockserver, {extra + 1} stubs", f"baseline tree, {extra + 1} stubs"),
            ):
                new = median([r.requests_per_s for r in results[ours]])
                old = median([r.requests_per_s for r in results[theirs]])
                label = f"this tree / baseline tree, {ours.removeprefix('mockserver, ')}"
                rows.append((label, f"x{new / old:.3f}", "", ""))

        rows.extend(conditional_rows(one, args.duration, args.rounds))

        starts = {
            "start to first 200, raw aiohttp": lambda p: raw_command(p, raw),
            "start to first 200, mockserver": lambda p: mock_command(p, one),
            f"start to first 200, {extra + 1} stubs": lambda p: mock_command(p, many),
        }
        for name, command in starts.items():
            rows.append((name, f"{startup(command, 3):.0f} ms", "", ""))
        rows.append(load_time_row(many, extra))
        rows.append(rss_row(many, extra))
    width = max(len(r[0]) for r in rows)
    for row in rows:
        print(f"{row[0]:<{width}}  {row[1]:>16}  {row[2]:<14}  {row[3]}")
    return 0


def conditional_rows(stubs: Path, duration: float, rounds: int) -> list[tuple[str, str, str, str]]:
    """304 and gzip answers against a plain 200 of the same stub, one server, alternating."""
    _, load = load_fn()
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/users"
    with server(mock_command(port, stubs), port, "/api/users"):
        with urllib.request.urlopen(url) as response:
            etag = response.headers["ETag"]
        cases = {
            "plain 200": {},
            "304 (If-None-Match)": {"If-None-Match": etag},
            # As large a request as the 304's, answered 200: what the 304 saves, by itself.
            "200 (stale If-None-Match)": {"If-None-Match": etag[:-2] + 'x"'},
            "gzip 200": {"Accept-Encoding": "gzip"},
        }
        rates: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(rounds):
            for name, headers in cases.items():
                rates[name].append(load(url, duration, headers).requests_per_s)
    plain = median(rates["plain 200"])
    return [
        (f"same stub: {name}", f"{median(r):,.0f} req/s", f"x{median(r) / plain:.2f} of 200", "")
        for name, r in rates.items()
    ]


def load_time_row(stubs: Path, extra: int) -> tuple[str, str, str, str]:
    code = (
        "import time; t=time.perf_counter(); from mockserver.formats.loader import load_paths; "
        f"from mockserver.core.store import StubStore; StubStore(load_paths([{str(stubs)!r}])); "
        "print(time.perf_counter()-t)"
    )
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(3)
    ]
    return (f"load + index {extra + 1} stubs", f"{median(times) * 1000:.0f} ms", "", "")


def rss_row(stubs: Path, extra: int) -> tuple[str, str, str, str]:
    """Peak RSS of a server with the stubs and a full default journal (1,000 entries)."""
    port = free_port()
    with server(mock_command(port, stubs), port) as process:
        for _ in range(1100):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{TARGET}") as response:
                response.read()
        peak = peak_rss_mb(process.pid)
    return (f"peak RSS, {extra + 1} stubs + full journal", f"{peak:.1f} MB", "", "")


if __name__ == "__main__":
    sys.exit(main())
