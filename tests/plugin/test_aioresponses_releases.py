"""mock_aiohttp with each aioresponses users may have, not only the one the test extra installs.

The suite itself runs with the installed one (the offline and test extras: aioresponses
0.7.9); here the other, aioresponses-ng, and an old release are installed into scratch
directories put first on PYTHONPATH, and mock_aiohttp's own tests run against them in a pytest
of their own.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest

from ..scratch import ROOT, target_install

pytestmark = pytest.mark.timeout(600)

RELEASES = {"aioresponses": "aioresponses==0.7.9", "aioresponses-ng": "aioresponses-ng==0.8.2"}
# mock_aiohttp's tests: every behaviour of the fixture, and the faults it raises.
TESTS = (
    "tests/plugin/test_pytest_plugin_offline.py::test_socket_free_fixture",
    "tests/integration/test_faults.py::test_with_no_socket_aiohttp_raises_the_same",
)


def _installed(dist: str) -> bool:
    try:
        metadata.version(dist)
    except metadata.PackageNotFoundError:
        return False
    return True


# The installed release is tested by the suite's own run; the others here.
OTHERS = [dist for dist in RELEASES if not _installed(dist)]


@pytest.fixture(scope="session")
def scratch_install(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """A directory holding ``requirement`` alone, installed once per session."""
    done: dict[str, Path] = {}

    def install(requirement: str) -> Path:
        if requirement not in done:
            done[requirement] = target_install(tmp_path_factory.mktemp("pkg"), requirement)
        return done[requirement]

    return install


def _first_on_path(directory: Path) -> dict[str, str]:
    paths = [str(directory), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


@pytest.mark.parametrize("dist", OTHERS)
def test_mock_aiohttp_passes_with(dist: str, scratch_install: Callable[[str], Path]) -> None:
    where = scratch_install(RELEASES[dist])
    env = _first_on_path(where)
    imported = subprocess.run(
        [sys.executable, "-c", "import aioresponses; print(aioresponses.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert Path(imported).is_relative_to(where)  # the runs below test this copy
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-k", "aiohttp", *TESTS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=500,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    for test in TESTS:
        assert re.search(rf"^{re.escape(test)}\b.* PASSED", run.stdout, re.MULTILINE), run.stdout
    assert re.search(r"=+ 2 passed\b", run.stdout), run.stdout[-2000:]


def test_an_old_aioresponses_fails_at_setup_with_one_line(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    scratch_install: Callable[[str], Path],
) -> None:
    """0.6.0 cannot build a response on aiohttp 3.14 at all: said at setup, not mid-test."""
    where = scratch_install("aioresponses==0.6.0")
    monkeypatch.setenv("PYTHONPATH", _first_on_path(where)["PYTHONPATH"])
    pytester.makefile(".yaml", **{"stubs/users": "service: users\nstubs: []\n"})
    pytester.makepyfile(
        """
        import aiohttp

        def test_get(mock_aiohttp):
            raise AssertionError("the test ran")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_get _*",
            "mockserver: mock_aiohttp cannot use the installed aioresponses (aioresponses 0.6.0) "
            "on aiohttp 3.*: *; pip install 'mockserver[[]offline[]]' (aioresponses>=0.7.9)",
            "=*",
        ]
    )
    result.stdout.no_fnmatch_line("*the test ran*")
    result.stdout.no_fnmatch_line("*Traceback*")
