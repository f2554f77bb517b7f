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
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from benchmarks.wiremock_root import MAPPINGS, load_seconds, served_side_by_side

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
        print(served_side_by_side({"cassette": cassettes, "native": native}, args))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
