"""An OpenAPI document served, against the same answers written as native stubs.

    python benchmarks/openapi_serving.py [--duration 5] [--rounds 3] [--control] [--before DIR]

Both servers run ``mockserver serve`` as users run it (request log on, to a file), each in its
own process; wrk (``-t2 -c50``) drives them alternately, the same request to each:
``GET /pets/7`` (the petstore's example, its path parameter checked against the document) and
``POST /pets`` with a small JSON body (checked against ``NewPet``). Prints requests a second,
the medians, and the ratio OpenAPI / native; and, where /proc tells it, each server's CPU time
per request (user + system), which a busy machine disturbs less than the rate, and the median
of the ratios within each round (the two servers measured one after the other, the order
reversed every round), which what the neighbours do between rounds does not move. ``--before
DIR`` also serves the document from another checkout (``git worktree add DIR REV``), in the
same alternation; ``--control`` serves the native stubs twice, and the copy's ratio to the
first says how far the machine alone moves the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.http_semantics import cpu_seconds, free_port  # noqa: E402
from tests.openapi_docs import PETSTORE  # noqa: E402

# The document's four operations written natively, with the ids and answers serving the
# document gives them (the same stubs: a service with two stubs to match against would flatter
# the native side, and the request log lines are the same bytes).
NATIVE = """\
service: petstore
stubs:
  - id: findPets
    request: {method: GET, path: /pets}
    response: {json: [{name: string, tag: string, id: 1}]}
  - id: addPet
    request: {method: POST, path: /pets}
    response: {json: {name: string, tag: string, id: 1}}
  - id: petstore-get-pets-id-dbb9c569
    request: {method: GET, path: "/pets/{id}"}
    response: {json: {id: 7, name: Rex, tag: dog}}
  - id: deletePet
    request: {method: DELETE, path: "/pets/{id}"}
    response: {status: 204}
"""
POST_LUA = 'wrk.method = "POST"\nwrk.body = \'{"name": "Rex", "tag": "dog"}\'\n' + (
    'wrk.headers["Content-Type"] = "application/json"\n'
)


def serve(
    path: Path, log: Path, tree: Path = ROOT, launcher: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[bytes], str]:
    """``mockserver serve PATH`` on a free port (``launcher`` runs it another way: a
    ``python -c`` that patches first), once it answers."""
    port = free_port()
    command = [*(launcher or (sys.executable, "-m", "mockserver")), "serve", "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    process = subprocess.Popen(
        [*command, str(path)], stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, cwd=tree
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/__admin/health", timeout=1).read()
            return process, url
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"the server for {path} exited; see {log}") from None
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"the server for {path} did not start; see {log}")


def wrk(url: str, seconds: int, script: Path | None, pid: int) -> tuple[float, float]:
    """Requests a second, and the server's CPU microseconds per request."""
    command = ["wrk", "-t2", "-c50", f"-d{seconds}s", url]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    before = cpu_seconds(pid)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    spent = cpu_seconds(pid) - before
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    assert found is not None, out
    assert total is not None, out
    return float(found.group(1)), spent / max(int(total.group(1)), 1) * 1e6


def same_answers(servers: dict[str, tuple[subprocess.Popen[bytes], str]]) -> None:
    """Every operation answers the same status, type and body from each server (else the
    comparison would not be of the same stubs)."""
    for method, path, body in (
        ("GET", "/pets", None),
        ("POST", "/pets", b'{"name": "Rex", "tag": "dog"}'),
        ("GET", "/pets/7", None),
        ("DELETE", "/pets/7", None),
    ):
        answers = set()
        for _, url in servers.values():
            request = urllib.request.Request(url + path, body, method=method)
            request.add_header("Content-Type", "application/json")
            with urllib.request.urlopen(request, timeout=5) as answer:
                answers.add((answer.status, answer.headers["Content-Type"], answer.read()))
        if len(answers) != 1:
            raise SystemExit(f"{method} {path} is answered differently: {answers}")


def rounded(figures: dict[str, list[float]]) -> str:
    return json.dumps({name: [round(x) for x in values] for name, values in figures.items()})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path, help="also serve the document from this checkout")
    parser.add_argument(
        "--control",
        action="store_true",
        help="also serve the native stubs a second time: its ratio to the first is the noise",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "petstore.yaml").write_text(PETSTORE)
        (root / "native").mkdir()
        (root / "native" / "petstore.yaml").write_text(NATIVE)
        (root / "post.lua").write_text(POST_LUA)
        servers = {
            "openapi": serve(root / "petstore.yaml", root / "openapi.log"),
            "native": serve(root / "native", root / "native.log"),
        }
        if args.control:  # an A/A pair: what the machine alone makes of two equal servers
            servers["native copy"] = serve(root / "native", root / "copy.log")
        if args.before is not None:
            servers["openapi before"] = serve(
                root / "petstore.yaml", root / "before.log", args.before.resolve()
            )
        try:
            same_answers(servers)
            for label, path, script in (
                ("GET /pets/7", "/pets/7", None),
                ("POST /pets (JSON body)", "/pets", root / "post.lua"),
            ):
                runs: dict[str, list[float]] = {name: [] for name in servers}
                cpu: dict[str, list[float]] = {name: [] for name in servers}
                for round_ in range(args.rounds):
                    # Each round's order reversed from the last (ABBA): a machine slowing down
                    # or speeding up across a round weighs on both sides alike.
                    order = list(servers.items())
                    for name, (process, url) in order[:: -1 if round_ % 2 else 1]:
                        rate, spent = wrk(url + path, args.duration, script, process.pid)
                        runs[name].append(rate)
                        cpu[name].append(spent)
                print(f"{label}: req/s {rounded(runs)}")
                print(f"  CPU µs/request {rounded(cpu)}")
                rates = {name: statistics.median(v) for name, v in runs.items()}
                spents = {name: statistics.median(v) for name, v in cpu.items()}
                for name in servers:
                    if name != "native":
                        print(
                            f"  {name}/native: req/s x{rates[name] / rates['native']:.2f} "
                            f"(medians {rates[name]:,.0f} / {rates['native']:,.0f}), CPU a "
                            f"request x{spents[name] / spents['native']:.2f} "
                            f"({spents[name]:.0f} / {spents['native']:.0f} µs)"
                        )
                        # The ratio within each round, side by side in time: what a neighbour
                        # on the machine does between rounds cancels out of it.
                        paired = sorted(
                            a / b for a, b in zip(runs[name], runs["native"], strict=True)
                        )
                        quartiles = statistics.quantiles(paired, n=4) if len(paired) > 1 else paired
                        print(
                            f"  {name}/native within each round: req/s median "
                            f"x{statistics.median(paired):.2f} (quartiles "
                            f"x{quartiles[0]:.2f}-x{quartiles[-1]:.2f} of {len(paired)})"
                        )
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait(timeout=10)


if __name__ == "__main__":
    main()
