"""The background tasks of the Redis store (its listener, its polls): started and stopped alike."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

__all__ = ["start", "stop"]


def start(
    coroutine: Coroutine[Any, Any, None], name: str, held: set[asyncio.Task[None]] | None = None
) -> asyncio.Task[None]:
    """Run ``coroutine`` in the background; ``held`` keeps the task until it ends (the loop
    itself keeps only a weak reference)."""
    task = asyncio.get_running_loop().create_task(coroutine, name=name)
    if held is not None:
        held.add(task)
        task.add_done_callback(held.discard)
    return task


async def stop(*tasks: asyncio.Task[None] | None) -> None:
    """Cancel ``tasks`` and wait until each has ended."""
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    for task in running:
        with contextlib.suppress(asyncio.CancelledError):
            await task
