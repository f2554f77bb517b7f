"""The layout is the architecture: import-linter's contracts hold, and every package is in them."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import mockserver

PACKAGE = Path(mockserver.__file__).parent
REPO = PACKAGE.parent
CONFIG = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "importlinter"
]


def test_the_import_contracts_hold() -> None:
    """lint-imports (import-linter) checks the layers and the pure core on every import,
    function-level ones included."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_subpackage_is_in_the_layers() -> None:
    """A new package cannot escape the contract by being left out of it."""
    (layers,) = (c["layers"] for c in CONFIG["contracts"] if c["type"] == "layers")
    named = {name.strip() for layer in layers for name in layer.replace(":", "|").split("|")}
    packages = {f"mockserver.{p.parent.name}" for p in PACKAGE.glob("*/__init__.py")}
    assert packages == named


def test_the_core_is_forbidden_the_shell_libraries() -> None:
    (forbidden,) = (
        c
        for c in CONFIG["contracts"]
        if c["type"] == "forbidden" and "mockserver.core" in c["source_modules"]
    )
    assert {"aiohttp", "pytest", "argparse"} <= set(forbidden["forbidden_modules"])


def test_the_top_level_is_a_map() -> None:
    """``ls mockserver/`` shows the subpackages and at most eight files beside them."""
    files = sorted(p.name for p in PACKAGE.iterdir() if p.is_file())
    assert len(files) <= 8, files
    assert {"__init__.py", "__main__.py", "pytest_plugin.py"} <= set(files)


def test_importing_the_loader_does_not_import_aiohttp() -> None:
    code = (
        "import sys, mockserver.formats.loader\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('aiohttp', 'multidict', 'yarl', 'pytest'))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
