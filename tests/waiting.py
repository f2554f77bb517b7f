"""Waiting in tests: on a condition, with a deadline, never on the clock alone.

Every poll loop of the suite is here, so a pause between two looks at a condition lives in
one place, and a wait that times out fails with what it was waiting for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
INTERVAL = 0.01  # between two looks at the condition; the wait itself ends on the condition


def wait_until(condition: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    """Return ``condition()``'s first truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(INTERVAL)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


async def wait_until_async(
    condition: Callable[[], T | None], what: str, timeout: float = 30.0
) -> T:
    """``wait_until`` for a test running its own event loop (the loop keeps serving)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        await asyncio.sleep(INTERVAL)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


def write_until(path: Path, text: str, seen: Callable[[], object], what: str) -> None:
    """Write ``text`` into ``path`` until ``seen()`` holds, writing again every 50th look: a
    watcher started in the background may miss a write made before it watches."""
    looks = iter(range(10**9))

    def written_and_seen() -> object:
        if next(looks) % 50 == 0:
            path.write_text(text, encoding="utf-8")
        return seen()

    wait_until(written_and_seen, what=what)
