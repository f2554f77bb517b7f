"""The mockserver_container fixture without a Docker engine: skipped, saying why; or failed.

Running it against a real engine is tests/container/test_image.py's job.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Project

TEST = """
def test_needs_the_image(mockserver_container):
    raise AssertionError("never reached without an engine")
"""


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    socket = tmp_path / "no-docker.sock"  # nothing listens there
    monkeypatch.setenv("DOCKER_HOST", f"unix://{socket}")
    monkeypatch.delenv("MOCKSERVER_REQUIRE_DOCKER", raising=False)
    return str(socket)


def test_without_an_engine_the_test_is_skipped_with_the_reason(
    pytester: pytest.Pytester, project: Project, no_engine: str
) -> None:
    project({"test_image.py": TEST})
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [f"SKIPPED *mockserver_container: no Docker engine reachable at unix://{no_engine}*"]
    )


def test_ci_can_require_the_engine(
    pytester: pytest.Pytester, project: Project, no_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOCKSERVER_REQUIRE_DOCKER", "1")
    project({"test_image.py": TEST})
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*mockserver_container: no Docker engine reachable*"])


INI_TEST = """
def test_image(mockserver_image):
    assert mockserver_image == "registry.example/mockserver:1.2"
"""


def test_the_image_comes_from_the_ini(pytester: pytest.Pytester, project: Project) -> None:
    project({"test_ini.py": INI_TEST}, ini="mockserver_image = registry.example/mockserver:1.2\n")
    pytester.runpytest().assert_outcomes(passed=1)


# The container's backend is a server reached through its admin API; here a server of the
# session's own stands in for the image, so the fixture's per-test path runs without Docker.
STAND_IN = """
import pytest

from mockserver.server.runner import MockServer
from mockserver.testing.client import MockServerClient
from mockserver.testing.handle import RemoteBackend


@pytest.fixture(scope="session")
def mockserver_container_backend(mockserver_settings):
    with MockServer(mockserver_settings) as server, MockServerClient(server.url) as client:
        yield RemoteBackend(client)
"""

PER_TEST = """
import os

import pytest
import requests


def get(path):
    return requests.get(os.environ["USERS_URL"] + path, timeout=5)


def test_a_stub_of_its_own(mockserver_container):
    users = mockserver_container.service("users")
    users.stub({"request": {"path": "/mine"}, "response": {"body": "mine"}})
    assert get("/mine").text == "mine"
    assert get("/api/user/1").json()["name"] == "Simon"
    users.assert_called("GET", "/mine", times=1)


@pytest.mark.mockserver(
    stubs=[{"request": {"path": "/marked"}, "response": {"body": "m"}}], strict=False
)
def test_reset_with_the_markers_stubs(mockserver_container):
    assert mockserver_container.requests == []
    assert get("/marked").text == "m"
    assert get("/mine").status_code == 404


def test_an_unmatched_request_fails_it(mockserver_container):
    assert get("/mine").status_code == 404


def test_an_unknown_service_names_the_stub_files(mockserver_container):
    mockserver_container.service("nobody")
"""


def test_the_container_fixture_resets_serves_and_is_strict(
    pytester: pytest.Pytester, project: Project
) -> None:
    project({"conftest.py": STAND_IN, "test_per_test.py": PER_TEST})
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_an_unmatched_request_fails_it _*",
            "mockserver: 1 request matched no stub:",
            "*_ test_an_unknown_service_names_the_stub_files _*",
            f"*no service 'nobody'*stub files from {pytester.path / 'stubs'}*",
        ]
    )
