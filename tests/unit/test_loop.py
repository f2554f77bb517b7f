"""The command line's event loop: uvloop when installed, asyncio's otherwise."""

from __future__ import annotations

import asyncio
import sys

import pytest

from mockserver.loop import run


async def loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_without_uvloop_the_standard_loop_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes `import uvloop` fail
    assert run(loop_module()).startswith("asyncio")


def test_with_uvloop_installed_it_is_used() -> None:
    assert run(loop_module()).startswith("uvloop")
