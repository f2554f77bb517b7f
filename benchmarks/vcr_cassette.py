"""A VCR.py cassette of 1,000 interactions against the same stubs written natively (issue 18).

    python -m benchmarks.vcr_cassette [--duration 3] [--rounds 3]

Writes the cassette (vcrpy's shape: ``interactions:`` of ``request`` / ``response`` with
``status: {code, message}`` and ``body: {string}``) into a temporary directory, imports it with
``mockserver import vcr`` (the native twin), times ``load_tree`` of each, then serves both
(request log on, as users run it) and drives them alternately with wrk on one matched request,
as benchmarks/wiremock_root.py does for a WireMock root.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from benchmarks.wiremock_root import MAPPINGS, compare_with_import


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


def _cassette(work: Path) -> Path:
    write_cassette(work / "cassettes" / "items.yaml")
    return work / "cassettes" / "items.yaml"


def main() -> None:
    compare_with_import("vcr", "cassette", "interactions", _cassette)


if __name__ == "__main__":
    main()
