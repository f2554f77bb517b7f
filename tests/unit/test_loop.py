"""The command line's event loop: uvloop when installed, asyncio's otherwise, or as chosen."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from mockserver.server.loop import check_loop, loop_name, run


async def running() -> str:
    return loop_name()


def test_without_uvloop_the_standard_loop_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes `import uvloop` fail
    assert run(running()) == "asyncio"


def test_with_uvloop_installed_it_is_used() -> None:
    assert run(running()) == "uvloop"


def test_asyncio_chosen_runs_asyncio_even_with_uvloop_installed() -> None:
    assert run(running(), "asyncio") == "asyncio"
    assert run(running(), "uvloop") == "uvloop"


def test_choices_are_checked_with_a_reason() -> None:
    assert check_loop("AsyncIO") == "asyncio"
    with pytest.raises(ValueError, match="choose one of auto, asyncio, uvloop"):
        check_loop("trio")


def test_uvloop_chosen_but_not_installed_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        ValueError, match=r"uvloop is not installed: pip install 'mockserver\[fast\]'"
    ):
        check_loop("uvloop")
    assert check_loop("auto") == "auto"  # auto never requires it
