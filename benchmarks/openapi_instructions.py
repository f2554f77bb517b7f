"""A served OpenAPI document against the same stubs written natively, in instructions.

    python -m benchmarks.openapi_instructions [--requests 2000] [--kind post,get] [--before DIR]

openapi_serving.py measures rates and CPU time, which this shared machine moves by ±10 % from
one process to the next; this counts what a request costs the server in instructions (and in
first-level cache misses), which neither the neighbours nor the clock move. Each server runs
``mockserver serve`` (request log on, to a file) under valgrind's cachegrind with a fixed
PYTHONHASHSEED (string hashes decide dict probing, so they move a count by a few per cent); a
client sends the same request ``--warmup`` times to one process and ``--warmup`` +
``--requests`` times to another, and the difference of their totals over ``--requests`` is a
request's cost (start-up and shutdown cancel out). Needs valgrind; takes about a minute.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.http_semantics import free_port  # noqa: E402
from benchmarks.openapi_serving import NATIVE  # noqa: E402
from tests.openapi_docs import PETSTORE  # noqa: E402

BODY = b'{"name": "Rex", "tag": "dog"}'
EVENTS = {"instructions": "I   refs", "I1 misses": "I1  misses", "D1 misses": "D1  misses"}


def _send(port: int, kind: str, count: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for _ in range(count):
        if kind == "post":
            headers = {"Content-Type": "application/json"}
            connection.request("POST", "/pets", body=BODY, headers=headers)
        else:
            connection.request("GET", "/pets/7")
        response = connection.getresponse()
        response.read()
        assert response.status == 200, (kind, response.status)
    connection.close()


def counted(tree: Path, served: Path, kind: str, count: int, work: Path) -> dict[str, int]:
    """The server's totals for start-up, ``count`` requests and shutdown."""
    port = free_port()
    report = work / f"cachegrind-{port}.txt"
    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=yes",
        f"--log-file={report}",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "mockserver",
        "serve",
        str(served),
        "--port",
        str(port),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(tree)}
    with open(work / f"serve-{port}.log", "wb") as log:
        process = subprocess.Popen(command, cwd=tree, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 300
        while True:  # a bare connection: no request the other process does not also serve
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"no server under valgrind: {command}") from None
                time.sleep(0.2)
        _send(port, kind, count)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=300)
    text = report.read_text()
    totals = {}
    for name, label in EVENTS.items():
        found = re.search(re.escape(label) + r":\s+([\d,]+)", text)
        assert found is not None, text
        totals[name] = int(found.group(1).replace(",", ""))
    return totals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--kind", default="post,get")
    parser.add_argument("--before", type=Path, help="also the document from this checkout")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "petstore.yaml").write_text(PETSTORE)
        (work / "native").mkdir()
        (work / "native" / "petstore.yaml").write_text(NATIVE)
        sides = {"native": (ROOT, work / "native"), "openapi": (ROOT, work / "petstore.yaml")}
        if args.before is not None:
            sides["openapi before"] = (args.before.resolve(), work / "petstore.yaml")
        for kind in args.kind.split(","):
            jobs = {
                (side, n): (tree, served)
                for side, (tree, served) in sides.items()
                for n in (args.warmup, args.warmup + args.requests)
            }
            with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
                futures = {
                    key: pool.submit(counted, tree, served, kind, key[1], work)
                    for key, (tree, served) in jobs.items()
                }
                totals = {key: future.result() for key, future in futures.items()}
            per_request = {
                side: {
                    event: (
                        totals[(side, args.warmup + args.requests)][event]
                        - totals[(side, args.warmup)][event]
                    )
                    / args.requests
                    for event in EVENTS
                }
                for side in sides
            }
            native = per_request["native"]
            label = "POST /pets (JSON body)" if kind == "post" else "GET /pets/7"
            print(f"{label}, per request:")
            for side, figures in per_request.items():
                shown = ", ".join(
                    f"{event} {value:,.0f} (x{value / native[event]:.3f})"
                    for event, value in figures.items()
                )
                print(f"  {side:14s} {shown}")


if __name__ == "__main__":
    main()
