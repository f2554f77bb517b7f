"""The repository keeps its promises: README commands match CI, and lint, format and types pass."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent


def bash_commands() -> list[str]:
    """Each fenced bash block of the README as one command line, comments left out."""
    blocks = re.findall(r"^```bash\n(.*?)^```", README, re.MULTILINE | re.DOTALL)
    return [
        " ".join(line.strip() for line in block.splitlines() if not line.lstrip().startswith("#"))
        for block in blocks
    ]


def test_readme_opens_with_the_serve_and_the_test_command() -> None:
    serve, test = bash_commands()[:2]
    assert serve.endswith("&& mockserver serve")
    assert "pip install ." in serve
    assert test.endswith("&& pytest")
    install = re.search(r"pip install -e '\.\[(\w+)\]'", test)
    assert install is not None, test
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert install.group(1) in extras["optional-dependencies"]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    lines = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line.strip()]
    assert lines[-1] == bash_commands()[1]


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_style_and_types(command: list[str]) -> None:
    tool = BIN / command[0]
    assert tool.exists(), f"{command[0]} is not installed next to {sys.executable}"
    result = subprocess.run(
        [str(tool), *command[1:]],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
