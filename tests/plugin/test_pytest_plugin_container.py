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
