"""Parallel suites on one shared server (--mockserver-url): each session in its own namespace."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mockserver.core.config import Settings
from mockserver.server.runner import MockServer
from mockserver.testing.client import MockServerClient

from .conftest import Project

pytestmark = pytest.mark.timeout(180)

SHARED_STUBS = """
service: users
stubs:
  - id: counter
    request: {path: /count}
    responses: [{body: one}, {body: two}]
resources:
  - path: /api/carts
    id_field: id
    items: [{id: "1", owner: Simon}]
"""

# 30 tests that each own the server's state while they run: a stub of their own on a path
# every test uses, an exact journal, a sequence from its start, a resource with one item added.
PARALLEL = """
import os

import pytest
import requests


def get(path):
    return requests.get(os.environ["USERS_URL"] + path, timeout=10)


@pytest.mark.parametrize("n", range(30))
def test_the_state_is_this_tests(mockserver, n):
    users = mockserver.service("users")
    users.stub({"request": {"path": "/who"}, "response": {"body": f"test {n}"}})
    assert get("/count").text == "one"
    for _ in range(10):
        assert get("/who").text == f"test {n}"
    created = requests.post(os.environ["USERS_URL"] + "/api/carts", json={"owner": n}, timeout=10)
    assert created.status_code == 201
    assert len(get("/api/carts").json()) == 2
    users.assert_called("GET", "/who", times=10)
    assert len(mockserver.requests) == 13
"""


@pytest.fixture
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    """One real server that every run below drives, as a CI fleet's shared one."""
    root = tmp_path_factory.mktemp("shared")
    (root / "users.yaml").write_text(SHARED_STUBS, encoding="utf-8")
    settings = Settings(paths=(str(root),), port=0, log_level="warning", max_namespaces=8)
    with MockServer(settings) as server:
        yield server


def _held(server: MockServer) -> list[str]:
    assert server.state.namespaces is not None
    return [n["name"] for n in server.state.namespaces.describe()["namespaces"]]


def test_xdist_workers_on_one_server_pass_as_they_do_serially(
    project: Project, pytester: pytest.Pytester, shared: MockServer
) -> None:
    project({"test_parallel.py": PARALLEL}, stubs={})
    url = f"--mockserver-url={shared.url}"
    pytester.runpytest_subprocess(url, "-p", "no:randomly").assert_outcomes(passed=30)
    pytester.runpytest_subprocess(url, "-n", "4").assert_outcomes(passed=30)
    # Every worker ended its namespace, and none of them touched the default one.
    assert _held(shared) == []
    assert shared.store.journal.entries() == []
    # Without namespaces, the workers reset and override each other: what the test above
    # would meet (and does, in the default namespace, as before namespaces existed).
    clashing = pytester.runpytest_subprocess(url, "-n", "4", "--mockserver-namespace=none")
    assert clashing.parseoutcomes().get("failed", 0) > 0
    assert shared.store.journal.entries() != []


def test_two_sessions_at_once_never_see_or_reset_each_others_state(
    project: Project, pytester: pytest.Pytester, shared: MockServer
) -> None:
    root = project({"test_parallel.py": PARALLEL}, stubs={})
    command = [sys.executable, "-m", "pytest", f"--mockserver-url={shared.url}", "-q"]
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_XDIST_WORKER"}
    runs = [
        subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=150)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output
        assert "30 passed" in output, output
    assert _held(shared) == []


def test_a_server_at_its_namespace_limit_refuses_the_session_in_one_line(
    project: Project, pytester: pytest.Pytester, tmp_path: Path
) -> None:
    (tmp_path / "users.yaml").write_text(SHARED_STUBS, encoding="utf-8")
    project(
        {"test_one.py": "def test_one(mockserver):\n    pass\n"},
        stubs={},
    )
    settings = Settings(paths=(str(tmp_path),), port=0, log_level="warning", max_namespaces=1)
    with MockServer(settings) as server, MockServerClient(f"{server.url}/__ns/other") as other:
        other.reset()  # holds the only namespace
        result = pytester.runpytest_subprocess(f"--mockserver-url={server.url}")
        # The default namespace is still there for whoever wants it.
        fallback = pytester.runpytest_subprocess(
            f"--mockserver-url={server.url}", "--mockserver-namespace=none"
        )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            f"mockserver: the server at {server.url} refuses this session a namespace: this "
            "server holds as many namespaces as it may (--max-namespaces 1); *; or run with "
            "--mockserver-namespace none to share its default namespace"
        ]
    )
    fallback.assert_outcomes(passed=1)
