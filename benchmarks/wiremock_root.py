"""A WireMock root of 1,000 mappings against the same stubs written natively (issue 18).

    python benchmarks/wiremock_root.py [--duration 3] [--rounds 3] [--files]

Writes the root into a temporary directory (one mappings file; with ``--files`` a file per
mapping and each body in ``__files/``, as WireMock's recorder writes them), imports it with
``mockserver import wiremock`` (the native twin), times ``load_tree`` of each, then serves both
(request log on, as users run it) and drives them alternately with wrk (``-t1 -c20``) on one
matched request.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

from mockserver.formats.loader import load_tree

MAPPINGS = 1000
URL = "/items/500?v=1"


def write_root(root: Path) -> None:
    mappings = [
        {
            "request": {
                "method": "GET",
                "urlPath": f"/items/{i}",
                "queryParameters": {"v": {"equalTo": "1"}},
                "headers": {"Accept": {"contains": "json"}},
            },
            "response": {
                "status": 200,
                "jsonBody": {"id": i, "name": f"item {i}"},
                "headers": {"Content-Type": "application/json"},
            },
        }
        for i in range(MAPPINGS)
    ]
    (root / "mappings").mkdir(parents=True)
    (root / "mappings" / "items.json").write_text(json.dumps({"mappings": mappings}))


def write_recorded_root(root: Path) -> None:
    """The layout WireMock's recorder writes: a file per mapping, each body in ``__files/``
    (``bodyFileName``), which WireMock also serves at its own path."""
    (root / "mappings").mkdir(parents=True)
    (root / "__files").mkdir()
    for i in range(MAPPINGS):
        body = f"items-{i}.json"
        (root / "__files" / body).write_text(json.dumps({"id": i, "name": f"item {i}"}))
        mapping = {
            "id": f"00000000-0000-0000-0000-{i:012d}",
            "request": {
                "method": "GET",
                "urlPath": f"/items/{i}",
                "queryParameters": {"v": {"equalTo": "1"}},
            },
            "response": {
                "status": 200,
                "bodyFileName": body,
                "headers": {"Content-Type": "application/json"},
            },
        }
        (root / "mappings" / f"items-{i}.json").write_text(json.dumps(mapping))


def load_seconds(path: Path) -> float:
    started = time.perf_counter()
    tree = load_tree([path])
    assert len(tree.stubs.stubs) >= MAPPINGS  # and __files/'s own, where there is one
    return time.perf_counter() - started


def serve(path: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "mockserver", "serve", str(path), "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/__admin/health", timeout=1)
            return process
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the server on {port} did not start")


def rate(port: int, duration: float) -> float:
    target = f"http://127.0.0.1:{port}{URL}"
    out = subprocess.run(
        ["wrk", "-t1", "-c20", f"-d{duration:g}s", "-H", "Accept: application/json", target],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert found is not None, out
    return float(found.group(1))


def served_side_by_side(trees: dict[str, Path], args: argparse.Namespace) -> str:
    """Serve each tree (the first against the second) and drive them alternately with wrk;
    one line of medians and their ratio (also used by vcr_cassette.py)."""
    if shutil.which("wrk") is None:
        return "wrk is not installed: no serving figures"
    ports = {name: 18611 + i for i, name in enumerate(trees)}
    servers = {name: serve(path, ports[name]) for name, path in trees.items()}
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
    first, second = medians
    return (
        f"GET {URL} (req/s, median of {args.rounds}): "
        + ", ".join(
            f"{name} {value:,.0f} ({', '.join(f'{v:,.0f}' for v in rates[name])})"
            for name, value in medians.items()
        )
        + f"; {first} / {second} = {medians[first] / medians[second]:.2f}"
    )


def compare_with_import(
    kind: str, label: str, what: str, write: Callable[[Path], Path], argv: list[str] | None = None
) -> None:
    """The benchmark of a served format: ``write(work)`` makes its files (the path to import);
    ``mockserver import KIND`` writes their native twin; the load times, then both served
    side by side."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp())
    try:
        source, native = write(work), work / "native"
        subprocess.run(
            [sys.executable, "-m", "mockserver", "import", kind, str(source), "--out", str(native)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        served = source if source.is_dir() else source.parent
        print(
            f"load {MAPPINGS} {what}: {label} {load_seconds(served):.3f} s, "
            f"native YAML {load_seconds(native):.3f} s"
        )
        print(served_side_by_side({label: served, "native": native}, args))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _root(work: Path) -> Path:
    write_root(work / "root")
    return work / "root"


def _recorded_root(work: Path) -> Path:
    write_recorded_root(work / "root")
    return work / "root"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--files", action="store_true", help="a file per mapping, bodies in __files/"
    )
    args, rest = parser.parse_known_args()
    if args.files:
        compare_with_import(
            "wiremock", "WireMock root", "mapping files and __files/", _recorded_root, rest
        )
    else:
        compare_with_import("wiremock", "WireMock root", "mappings", _root, rest)


if __name__ == "__main__":
    main()
