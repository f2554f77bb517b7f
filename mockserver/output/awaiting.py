"""What an asyncio task is waiting on, as one line for the log.

A stop that overruns its deadline is a bug somewhere below mockserver's own code (a client
library that does not honour a cancellation, a lock never released); the log line that says so
must name the place. ``Task.get_stack`` gives only the task's outermost frame on Python 3.11,
so the chain of awaits is followed here (``cr_await``), as Python 3.14's
``asyncio.format_call_graph`` does.
"""

from __future__ import annotations

import asyncio
import os
from types import CoroutineType, FrameType, GeneratorType
from typing import Any

__all__ = ["awaiting"]

DEPTH = 24  # awaits followed: enough for aiohttp and redis-py, short enough for one line


def awaiting(task: asyncio.Task[Any]) -> str:
    """``name: outer (file:line) > ... > innermost (file:line)`` for a pending ``task``,
    going on into a task it awaits (``> task other > ...``)."""
    places: list[str] = []
    current: asyncio.Task[Any] | None = task
    while current is not None and len(places) < DEPTH:
        waited: object = current.get_coro()
        while waited is not None and len(places) < DEPTH:
            frame, waited = _step(waited)
            if frame is None:
                break
            code = frame.f_code
            where = f"{os.path.basename(code.co_filename)}:{frame.f_lineno}"
            places.append(f"{code.co_name} ({where})")
        # What the task is suspended on (asyncio's own attribute, which Python 3.14's call
        # graph reads too): another task is followed, a plain future ends the line.
        waiter = getattr(current, "_fut_waiter", None)
        current = waiter if isinstance(waiter, asyncio.Task) else None
        if current is not None:
            places.append(f"task {current.get_name()}")
    return f"{task.get_name()}: {' > '.join(places) or 'not started'}"


def _step(waited: object) -> tuple[FrameType | None, object]:
    """The frame of ``waited`` (a coroutine or generator) and what it awaits in turn."""
    if isinstance(waited, CoroutineType):
        return waited.cr_frame, waited.cr_await
    if isinstance(waited, GeneratorType):
        return waited.gi_frame, waited.gi_yieldfrom
    # A coroutine written in C (asyncio's own) or a wrapper: duck-typed, as inspect does.
    frame = getattr(waited, "cr_frame", None) or getattr(waited, "gi_frame", None)
    inner = getattr(waited, "cr_await", None) or getattr(waited, "gi_yieldfrom", None)
    return (frame, inner) if isinstance(frame, FrameType) else (None, None)
