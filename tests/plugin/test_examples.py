"""examples/ run as a user would run them: their own pytest.ini, in a pytest of their own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.rabbitserver import RabbitServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.timeout(120)
def test_profile_app_passes_with_every_fixture(pytester: pytest.Pytester) -> None:
    shutil.copytree(
        EXAMPLES / "profile_app",
        pytester.path,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"),
    )
    result = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider")
    # 5 requests tests x (mockserver, mock_requests) + 2 aiohttp tests x (mockserver, mock_aiohttp)
    result.assert_outcomes(passed=14)
    for fixture in ("mockserver", "mock_requests", "mock_aiohttp"):
        result.stdout.fnmatch_lines([f"*[[]{fixture}[]] PASSED*"])


@pytest.mark.timeout(240)
def test_releases_app_passes_against_a_private_rabbitmq(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(
        EXAMPLES / "releases_app",
        pytester.path,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"),
    )
    with RabbitServer() as broker:
        monkeypatch.setenv("AMQP_URL", broker.url)  # the app's broker, as its README says
        monkeypatch.setenv("MOCKSERVER_AMQP_URL", broker.url)  # the doubles' (stubs name none)
        result = pytester.runpytest_subprocess("-v", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
