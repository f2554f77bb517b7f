"""The pure core imports no I/O shell: no aiohttp, no pytest, no argparse, no shell module."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import mockserver

PACKAGE = Path(mockserver.__file__).parent
CORE = (
    "errors",
    "model",
    "patterns",
    "budget",
    "jsonmatch",
    "webhookspec",
    "pinned",
    "paths",
    "matching",
    "shadowing",
    "render",
    "sandbox",
    "templates",
    "report",
    "documents",
    "stubspec",
    "stubfile",
    "loader",
    "store",
    "config",
    "http",
    "journal",
    "resources",
    "stubinput",
    "openapi",
    "recording",
    "recordstubs",
    "recordspecs",
    "drift",
    "har",
    "addresses",
    "oasgenerate",
    "oasvalidate",
    "oasload",
    "oasresponses",
    "namespaces",
)
FORBIDDEN_LIBRARIES = frozenset({"aiohttp", "multidict", "yarl", "pytest", "argparse"})
SHELL = frozenset({"server", "admin", "runner", "cli", "pytest_plugin", "client", "proxy"})


def imported_modules(module: str) -> set[str]:
    return imports_of((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))


def imports_of(source: str) -> set[str]:
    """Every module ``source`` imports, anywhere in it: absolute names, and ``.name`` for ours."""
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                found.add(node.module)
                if node.module == "mockserver":
                    found.update(f".{alias.name}" for alias in node.names)
            elif node.level == 1:
                if node.module:
                    found.add(f".{node.module}")
                else:  # from . import x
                    found.update(f".{alias.name}" for alias in node.names)
    return {
        f".{name.removeprefix('mockserver.')}" if name.startswith("mockserver.") else name
        for name in found
    }


def shell_modules() -> frozenset[str]:
    """The named shell modules, and any other module of the package that imports aiohttp."""
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    derived = {
        m
        for m in modules - set(CORE)
        if any(name.split(".")[0] == "aiohttp" for name in imported_modules(m))
    }
    return SHELL | derived


def test_every_module_parses() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= len(CORE)
    for path in modules:
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_shell(module: str) -> None:
    assert (PACKAGE / f"{module}.py").is_file(), f"core module {module} is missing"
    imports = imported_modules(module)
    libraries = {name.split(".")[0] for name in imports if not name.startswith(".")}
    ours = {name[1:].split(".")[0] for name in imports if name.startswith(".")}
    assert libraries & FORBIDDEN_LIBRARIES == set()
    assert ours & shell_modules() == set()


def test_the_check_sees_every_form_of_import() -> None:
    source = (
        "import aiohttp.web\n"
        "from yarl import URL\n"
        "from .server import make_server\n"
        "from . import admin\n"
        "from mockserver.cli import main\n"
        "from mockserver import runner\n"
        "def later():\n"
        "    import pytest\n"
    )
    assert imports_of(source) == {
        "aiohttp.web",
        "yarl",
        ".server",
        ".admin",
        ".cli",
        ".runner",
        "mockserver",
        "pytest",
    }


def test_importing_the_loader_does_not_import_aiohttp() -> None:
    code = (
        "import sys, mockserver.loader\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('aiohttp', 'multidict', 'yarl', 'pytest'))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
