"""Issue 14 item 1: recording under pytest-xdist keeps every worker's stubs.

Four workers, each with a server of its own, record into one ``svc.recorded.yaml`` (a real
upstream on 127.0.0.1, real pytest subprocesses with ``-n 4``). Before, each worker read,
merged and rewrote the file at its end with no lock: 32, 33, 38 of 40 stubs were kept, and
``=all`` kept one worker's. The session ends with one line saying what went where.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ..integration.upstream import Upstream
from .conftest import Project

pytestmark = pytest.mark.timeout(120)

SUITE = """
import os

import pytest
import requests


@pytest.mark.parametrize("i", range(40))
def test_item(mockserver, i):
    answer = requests.get(f"{os.environ['SVC_URL']}/api/item/{i}", timeout=10)
    assert answer.json() == {"item": str(i)}
"""


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream() as running:
        yield running


def recorded(root: Path) -> list[str]:
    """The request paths of the stubs in ``stubs/svc.recorded.yaml``."""
    text = (root / "stubs" / "svc.recorded.yaml").read_text(encoding="utf-8")
    return [stub["request"]["path"] for stub in yaml.safe_load(text)["stubs"]]


def record(pytester: pytest.Pytester, mode: str) -> pytest.RunResult:
    result = pytester.runpytest_subprocess("-n", "4", f"--mockserver-record={mode}")
    result.assert_outcomes(passed=40)
    return result


def test_record_new_under_xdist_keeps_all_40_stubs_in_3_runs_of_3(
    pytester: pytest.Pytester, project: Project, upstream: Upstream
) -> None:
    stubs = {"stubs/svc.yaml": f"service: svc\nupstream: {upstream.url}\nstubs: []\n"}
    root = project({"test_items.py": SUITE}, stubs=stubs)
    wanted = sorted(f"/api/item/{i}" for i in range(40))
    for _ in range(3):
        (root / "stubs" / "svc.recorded.yaml").unlink(missing_ok=True)
        result = record(pytester, "new")
        assert sorted(recorded(root)) == wanted
        result.stdout.fnmatch_lines(
            ["mockserver: recorded 40 exchanges: stubs/svc.recorded.yaml +40 (now 40 stubs)"]
        )
    assert len(upstream.state.seen) == 3 * 40  # each run asked the service once per test


def test_record_all_under_xdist_replaces_earlier_sessions_and_keeps_every_worker(
    pytester: pytest.Pytester, project: Project, upstream: Upstream
) -> None:
    stubs = {"stubs/svc.yaml": f"service: svc\nupstream: {upstream.url}\nstubs: []\n"}
    root = project({"test_items.py": SUITE}, stubs=stubs)
    earlier = (
        "# Recorded by mockserver from an upstream on 2026-01-01 00:00:00 UTC.\n"
        "service: svc\nstubs:\n"
        "- id: svc-get-api-old\n  request: {method: GET, path: /api/old}\n"
        "  response: {json: {old: true}}\n"
    )
    (root / "stubs" / "svc.recorded.yaml").write_text(earlier, encoding="utf-8")
    result = record(pytester, "all")
    # /api/old is gone (an earlier session's), and every worker's 10 or so are there.
    assert sorted(recorded(root)) == sorted(f"/api/item/{i}" for i in range(40))
    result.stdout.fnmatch_lines(["mockserver: recorded 40 exchanges: *+40 (now 40 stubs)"])
    # And =new then adds to it, keeping what is there.
    (root / "test_more.py").write_text(
        SUITE.replace("range(40)", "range(40, 44)").replace("test_item", "test_more"),
        encoding="utf-8",
    )
    result = pytester.runpytest_subprocess("-n", "4", "--mockserver-record=new")
    result.assert_outcomes(passed=44)
    assert sorted(recorded(root)) == sorted(f"/api/item/{i}" for i in range(44))
    result.stdout.fnmatch_lines(["mockserver: recorded 4 exchanges: *+4 (now 44 stubs)"])
