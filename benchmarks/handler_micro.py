"""The request handler's own CPU per matched request, with no socket and no log line.

    python -m benchmarks.handler_micro [--before DIR]

Calls the handler that one listener runs (``server.make_handler``) with a mocked aiohttp
request for ``GET /api/user/1`` of the bundled stubs, 20,000 times a round, 15 rounds, and
prints the median and the fastest round in microseconds per request. Without the network
and wrk's noise it shows what a change to the handler's path costs (the namespaces' check,
for one). ``--before DIR`` runs the same in another checkout (``git worktree add DIR REV``),
alternately, five times each, and the fastest round of each.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


async def _measure(stubs: str) -> str:
    from aiohttp.test_utils import make_mocked_request

    from mockserver.core.config import Settings
    from mockserver.server.handler import make_handler
    from mockserver.server.runner import MockServer

    server = MockServer(Settings(paths=(stubs,), port=0, log_level="warning"))
    logging.getLogger("mockserver").setLevel(logging.WARNING)
    handle = make_handler(server.state, None)
    request = make_mocked_request("GET", "/api/user/1", headers={"Accept": "application/json"})
    for _ in range(2000):
        await handle(request)
    runs = []
    for _ in range(15):
        start = time.perf_counter()
        for _ in range(20_000):
            await handle(request)
        runs.append((time.perf_counter() - start) / 20_000 * 1e6)
    return f"median {statistics.median(runs):.2f} us, fastest {min(runs):.2f} us per request"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="another mockserver checkout to compare")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    stubs = str(REPO / "stubs")
    if options.child or options.before is None:
        print(asyncio.run(_measure(stubs)))
        return
    fastest: dict[str, list[float]] = {"before": [], "this tree": []}
    for _ in range(5):
        for label, tree in (("before", options.before.resolve()), ("this tree", REPO)):
            env = {**os.environ, "PYTHONPATH": str(tree)}
            # Run by path from a neutral directory, so each imports its own package.
            done = subprocess.run(
                [sys.executable, __file__, "--child"],
                cwd=tempfile.gettempdir(),
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            print(f"{label:>10}: {done.stdout.strip()}")
            fastest[label].append(float(done.stdout.split("fastest ")[1].split()[0]))
    # On a shared machine the slow rounds are other processes' doing; the fastest are ours.
    for label, values in fastest.items():
        print(f"{label:>10}: fastest of all rounds {min(values):.2f} us per request")


if __name__ == "__main__":
    main()
