"""mockserver-client (MockServer's Python client) owns the import name ``mockserver`` too.

A scratch virtual environment gets this checkout as a user installs it (``pip install .``,
not editable), then ``mockserver-client`` on top, as a user who needs both would: the command
line and pytest must say in one line what is wrong and what to do, not raise an ImportError
or run their plugin.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ..scratch import ROOT, pip, venv

pytestmark = pytest.mark.timeout(900)

THEIRS = "mockserver-client==9.2.0"
STUBS = "service: users\nstubs:\n  - request: {path: /hello}\n    response: {json: {hi: 1}}\n"
TEST = """
import urllib.request


def test_hello(mockserver):
    url = mockserver.service("users").url + "/hello"
    assert urllib.request.urlopen(url, timeout=5).read() == b'{"hi":1}'
"""


@pytest.fixture(scope="session")
def scratch_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with this checkout installed as a user installs it, and pytest; its bin/."""
    python = venv(tmp_path_factory.mktemp("venv") / "v")
    pip(python, str(ROOT), "pytest")
    return python.parent


@pytest.fixture
def user_project(tmp_path: Path) -> Path:
    (tmp_path / "stubs").mkdir()
    (tmp_path / "stubs" / "users.yaml").write_text(STUBS, encoding="utf-8")
    (tmp_path / "test_app.py").write_text(TEST, encoding="utf-8")
    return tmp_path


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{Path(command[0]).parent}:/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_installed_alone_it_validates_and_its_plugin_serves(
    scratch_venv: Path, user_project: Path
) -> None:
    _check_healthy(scratch_venv, user_project)


def test_mockserver_client_beside_it_is_named_in_one_line(
    scratch_venv: Path, user_project: Path
) -> None:
    python = scratch_venv / "python"
    pip(python, THEIRS)  # after us: their files over ours
    try:
        _check_collision(scratch_venv, user_project, "ours replaced: ")
        pip(python, "--force-reinstall", "--no-deps", str(ROOT))  # ours over theirs
        _check_collision(scratch_venv, user_project, "")
    finally:
        _repair_as_told(python, user_project)
    _check_healthy(scratch_venv, user_project)


def _check_healthy(bin_dir: Path, project: Path) -> None:
    done = run([str(bin_dir / "mockserver"), "validate", "stubs"], project)
    assert (done.returncode, done.stdout) == (0, "ok: 1 file, 1 service, 1 stub\n"), done.stderr
    tests = run([str(bin_dir / "python"), "-m", "pytest", "-p", "no:cacheprovider"], project)
    assert tests.returncode == 0, tests.stdout
    assert "1 passed" in tests.stdout


def _check_collision(bin_dir: Path, project: Path, replaced: str) -> None:
    """``replaced``: whether our files were overwritten (and then which) or theirs."""
    # Their client.py lands beside ours (ours is testing/client.py): only two files are ours.
    files = f" ({replaced}__init__.py, pytest_plugin.py)" if replaced else ""
    expected = (
        "mockserver: mockserver-client 9.2.0 (MockServer's client) is installed here too and its "
        f"package has the same import name, so one overwrote the other's files{files}; use a "
        "virtual environment for each (here: pip uninstall mockserver-client, then reinstall "
        "mockserver), or run mockserver as its container and drive it over HTTP"
    )
    for command in (["serve", "stubs", "--port", "0"], ["validate", "stubs"]):
        done = run([str(bin_dir / "mockserver"), *command], project)
        assert done.returncode == 2, done
        assert (done.stdout, one_line(done.stderr)) == ("", expected)
    # pytest: our entry point runs before any test, whichever plugin file is there (theirs
    # would download a MockServer jar).
    tests = run([str(bin_dir / "python"), "-m", "pytest", "-p", "no:cacheprovider"], project)
    assert tests.returncode == pytest.ExitCode.USAGE_ERROR, tests.stdout + tests.stderr
    assert one_line(tests.stderr) == f"ERROR: {expected}"
    assert "Traceback" not in tests.stdout


def _repair_as_told(python: Path, project: Path) -> None:
    """Uninstalling theirs removes the files we shared; reinstalling ours restores them."""
    subprocess.run(
        [str(python), "-m", "pip", "uninstall", "-y", "-q", "mockserver-client"],
        check=True,
        timeout=120,
    )
    done = run([str(python.parent / "mockserver"), "validate", "stubs"], project)
    assert done.returncode == 2
    assert one_line(done.stderr).startswith(
        "mockserver: files of this installation were replaced or removed (__init__.py, "
    )
    pip(python, "--force-reinstall", "--no-deps", str(ROOT))
