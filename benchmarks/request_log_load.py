"""What the request log costs: `mockserver serve` per log setting, beside a raw aiohttp handler.

    python -m benchmarks.request_log_load [--rounds 5] [--duration 4] [--loop asyncio|uvloop]
        [--before DIR]

Runs, side by side on one loop: the raw aiohttp handler returning the same bytes (the baseline
of `python -m benchmarks`), and `mockserver serve` with the request log as text (the default),
as JSON, and at `--log-level warning` (no line per request). The log goes to a file, as a
container's log driver or a redirected terminal takes it. wrk (`-t2 -c50`) loads each in turn,
round after round, so drift on a shared machine hits all alike; the table gives medians and
ratios to the raw handler. ``--before DIR`` adds the text and JSON settings of another checkout
of mockserver (e.g. ``git worktree add /tmp/before REV``), run from a neutral directory so that
each imports its own package.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from benchmarks.run import RAW_SERVER, TARGET, free_port, raw_command, server, write_stubs, wrk

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {
    "text (the default)": (),
    "json": ("--log-format", "json"),
    "quiet (--log-level warning)": ("--log-level", "warning"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--before", type=Path, help="another mockserver checkout to compare")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        raw = Path(tmp) / "raw.py"
        raw.write_text(RAW_SERVER)
        stubs = write_stubs(Path(tmp) / "stubs", 0)
        trees = {"": REPO} | ({"before, ": options.before.resolve()} if options.before else {})
        cases: dict[str, tuple[list[str], dict[str, str]]] = {
            "raw aiohttp": (
                raw_command(0, raw, *(["uvloop"] if options.loop == "uvloop" else [])),
                {},
            )
        }
        for label, tree in trees.items():
            for name, extra in SETTINGS.items():
                if label and name.startswith("quiet"):
                    continue
                command = [sys.executable, "-m", "mockserver", "serve", str(stubs), "--port", "0"]
                cases[f"mockserver, {label}{name}"] = (
                    [*command, "--loop", options.loop, *extra],
                    {"PYTHONPATH": str(tree)},
                )
        ports: dict[str, int] = {}
        for name, (template, env) in cases.items():
            port = ports[name] = free_port()
            command = [str(port) if part == "0" else part for part in template]
            stack.enter_context(server(command, port, env=os.environ | env, cwd=tmp))
        rates: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(options.rounds):
            for name, port in ports.items():
                url = f"http://127.0.0.1:{port}{TARGET}"
                rates[name].append(wrk(url, options.duration, {}).requests_per_s)
    base = statistics.median(rates["raw aiohttp"])
    print(
        f"# loop {options.loop}, wrk -t2 -c50 -d{options.duration:g}s, "
        f"{options.rounds} rounds, medians"
    )
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"{name:<42} {rate:9,.0f} req/s  x{rate / base:.2f} of raw")


if __name__ == "__main__":
    main()
