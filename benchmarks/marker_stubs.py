"""What a marker's stub files cost per test: ``@pytest.mark.mockserver(stubs=...)`` with many stubs.

    python -m benchmarks.marker_stubs [--stubs 1000] [--tests 20]

Writes a throwaway project whose module marker names one file of ``--stubs`` stubs, with
``--tests`` tests that each make one request, runs pytest on it in a subprocess (the
in-process server, as users run it), and prints the median setup time per test: where the
``mockserver`` fixture loads the marker's stubs and puts them into the server. The first test
also pays the server's start, so it is left out.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Times each test's setup (where the mockserver fixture puts the marker's stubs).
CONFTEST = """
import time

import pytest

SETUPS = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        SETUPS.append(time.perf_counter() - start)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line("SETUPS " + " ".join(f"{s:.6f}" for s in SETUPS[1:]))
"""

TEST = """
import os

import pytest
import requests

pytestmark = pytest.mark.mockserver(stubs="many.yaml")


@pytest.mark.parametrize("n", range({tests}))
def test_one(mockserver, n):
    assert requests.get(os.environ["MANY_URL"] + f"/item/{{n}}", timeout=5).json() == {{"n": n}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stubs", type=int, default=1000)
    parser.add_argument("--tests", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        lines = ["service: many", "stubs:"]
        for n in range(args.stubs):
            lines.append(f"  - {{request: {{path: /item/{n}}}, response: {{json: {{n: {n}}}}}}}")
        (root / "many.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (root / "test_many.py").write_text(TEST.format(tests=args.tests), encoding="utf-8")
        (root / "conftest.py").write_text(CONFTEST, encoding="utf-8")
        (root / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        sys.exit(done.stdout + done.stderr)
    found = re.search(r"^SETUPS (.*)$", done.stdout, re.MULTILINE)
    if found is None:
        sys.exit(done.stdout)
    setups = [float(s) for s in found.group(1).split()]
    print(
        f"{args.stubs} marker stubs, {len(setups)} tests: median fixture setup "
        f"{statistics.median(setups) * 1e3:.1f} ms per test (max {max(setups) * 1e3:.1f} ms)"
    )


if __name__ == "__main__":
    main()
