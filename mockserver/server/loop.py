"""The event loop the command line runs on: uvloop when it is installed, asyncio's otherwise.

``serve --loop`` chooses: uvloop answers more requests a second, asyncio's loop has the
shorter latency tail (benchmarks/RESULTS.md measures both).
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Coroutine
from typing import Any, Final, TypeVar

__all__ = ["LOOPS", "check_loop", "loop_name", "run"]

T = TypeVar("T")

LOOPS: Final = ("auto", "asyncio", "uvloop")


def check_loop(choice: str) -> str:
    """``choice`` when it can run here.

    Raises:
        ValueError: not one of LOOPS, or uvloop asked for and not installed.
    """
    choice = choice.lower()
    if choice not in LOOPS:
        raise ValueError(f"choose one of {', '.join(LOOPS)}")
    if choice == "uvloop" and importlib.util.find_spec("uvloop") is None:
        raise ValueError("uvloop is not installed: pip install 'mockserver[fast]'")
    return choice


def run(main: Coroutine[Any, Any, T], choice: str = "auto") -> T:
    """``asyncio.run`` on the chosen loop; ``auto`` takes uvloop when it is installed (a
    dependency where it ships wheels) and never requires it."""
    if choice != "asyncio":
        try:
            import uvloop
        except ImportError:
            if choice == "uvloop":
                raise
        else:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                return runner.run(main)
    return asyncio.run(main)


def loop_name() -> str:
    """Which loop runs the calling coroutine: ``uvloop`` or ``asyncio``."""
    module = type(asyncio.get_running_loop()).__module__
    return "uvloop" if module.startswith("uvloop") else "asyncio"
