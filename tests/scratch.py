"""Packages installed from the registry beside ours, for tests about what users install with us.

pip runs as the user runs it. The registry is part of what the test command needs (it
installs the test extra from there too), so a registry out of reach fails the test, saying so in
pip's words, rather than skipping what it proves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIP_DEADLINE = 600.0  # seconds: a whole venv with aiohttp on a slow link

# What pip says when the index is out of reach (a time-out, no route, no name resolution), as
# opposed to a package or a build that is wrong.
_UNREACHABLE = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "Could not fetch URL",
    "(from versions: none)",
)


def pip(python: Path | str, *args: str) -> str:
    """``python -m pip install ARGS``; its output. Fails the test on any pip error, naming an
    unreachable registry as such."""
    command = [str(python), "-m", "pip", "install", "--disable-pip-version-check", *args]
    what = f"pip install {' '.join(args)}"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=PIP_DEADLINE, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what}: no answer from the package registry", pytrace=False)
    output = done.stdout + done.stderr
    if done.returncode != 0:
        if any(sign in output for sign in _UNREACHABLE):
            last = output.strip().splitlines()[-1]
            pytest.fail(f"{what}: the package registry is out of reach: {last}", pytrace=False)
        pytest.fail(f"{what} failed:\n{output[-4000:]}", pytrace=False)
    return output


def target_install(directory: Path, requirement: str) -> Path:
    """``requirement`` alone (no dependencies) into ``directory``, to put first on PYTHONPATH."""
    pip(sys.executable, "--no-deps", "--target", str(directory), requirement)
    return directory


def venv(directory: Path) -> Path:
    """A new virtual environment; its python."""
    subprocess.run([sys.executable, "-m", "venv", str(directory)], check=True, timeout=120)
    return directory / "bin" / "python"
