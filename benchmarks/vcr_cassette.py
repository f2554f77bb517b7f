"""A VCR.py cassette of 1,000 interactions against the same stubs written natively (issue 18).

    python -m benchmarks.vcr_cassette [--duration 3] [--rounds 3]

Writes the cassette (vcrpy's shape: ``interactions:`` of ``request`` / ``response`` with
``status: {code, message}`` and ``body: {string}``) into a temporary directory, imports it with
``mockserver import vcr`` (the native twin), times ``load_tree`` of each, then serves both
(request log on, as users run it) and drives them alternately with wrk on one matched request,
as benchmarks/wiremock_root.py does for a WireMock root.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from benchmarks.wiremock_root import MAPPINGS, URL, load_seconds, rate, serve

IMPORT = (sys.executable, "-m", "mockserver", "import", "vcr")


def write_cassette(path: Path) -> None:
    interactions = [
        {
            "request": {
                "method": "GET",
                "uri": f"http://api.example.com/items/{i}?v=1",
                "body": None,
                "headers": {"Accept": ["application/json"]},
            },
            "response": {
                "status": {"code": 200, "message": "OK"},
                "headers": {"Content-Type": ["application/json"]},
                "body": {"string": json.dumps({"id": i, "name": f"item {i}"})},
            },
        }
        for i in range(MAPPINGS)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"interactions": interactions, "version": 1}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp())
    try:
        cassettes, native = work / "cassettes", work / "native"
        write_cassette(cassettes / "items.yaml")
        subprocess.run(
            [*IMPORT, str(cassettes / "items.yaml"), "--out", str(native)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(
            f"load {MAPPINGS} interactions: cassette {load_seconds(cassettes):.3f} s, "
            f"native YAML {load_seconds(native):.3f} s"
        )
        if shutil.which("wrk") is None:
            print("wrk is not installed: no serving figures")
            return
        ports = {"cassette": 18621, "native": 18622}
        servers = {"cassette": serve(cassettes, 18621), "native": serve(native, 18622)}
        try:
            rates: dict[str, list[float]] = {name: [] for name in servers}
            for _ in range(args.rounds):
                for name in servers:
                    rates[name].append(rate(ports[name], args.duration))
        finally:
            for process in servers.values():
                process.terminate()
                process.wait(10)
        medians = {name: statistics.median(values) for name, values in rates.items()}
        print(
            f"GET {URL} (req/s, median of {args.rounds}): "
            + ", ".join(
                f"{name} {value:,.0f} ({', '.join(f'{v:,.0f}' for v in rates[name])})"
                for name, value in medians.items()
            )
            + f"; cassette / native = {medians['cassette'] / medians['native']:.2f}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
