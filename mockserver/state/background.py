"""The background tasks of the Redis store (its listener, its polls): started and stopped alike."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, Final

from mockserver.output.awaiting import awaiting

__all__ = ["STOP_DEADLINE", "finish", "start", "stop"]

log = logging.getLogger("mockserver")

# A cancelled task ends at its next await; seconds more means something below ignores the
# cancellation, and a stop must not wait on it for ever (SIGTERM would never end the process).
STOP_DEADLINE: Final = 5.0


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


async def stop(*tasks: asyncio.Task[None] | None, deadline: float = STOP_DEADLINE) -> None:
    """Cancel ``tasks`` and wait until each has ended, or ``deadline`` seconds (what is still
    running then is logged with what it waits on, and left behind)."""
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()  # nothing for one that has ended: its error is logged below
    if not running:
        return
    # asyncio.wait, not awaiting each task: a task that swallows its cancellation would
    # hold the await (and a timeout around it) for as long as it runs.
    ended, late = await asyncio.wait(running, timeout=deadline)
    for task in ended:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())
    for task in late:
        log.warning("still running %g s after being cancelled: %s", deadline, awaiting(task))


async def finish(coroutine: Coroutine[Any, Any, None], name: str) -> None:
    """Run ``coroutine`` (a close) for at most STOP_DEADLINE seconds; one still running then
    is logged with what it waits on, and left behind.

    Raises:
        Exception: what ``coroutine`` raised.
    """
    task = start(coroutine, name)
    ended, _ = await asyncio.wait([task], timeout=STOP_DEADLINE)
    if ended:
        task.result()
    else:
        log.warning("still running after %g s: %s", STOP_DEADLINE, awaiting(task))
