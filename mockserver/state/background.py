"""Background tasks (the Redis store's listener and polls, a broker's connection loop): started
and stopped alike, and a cancellation that a client library lost raised again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import Any, Final

from mockserver.output.awaiting import awaiting

__all__ = ["STOP_DEADLINE", "cancelled_anyway", "finish", "settle", "start", "stop"]

log = logging.getLogger("mockserver")


def cancelled_anyway() -> None:
    """Raise CancelledError when the running task was cancelled and the cancellation was lost
    on the way.

    redis-py writes each command through ``asyncio.wait_for``, and on Python 3.11 wait_for
    returns the result of an inner operation that finished in the same turn as the
    cancellation, dropping it (CPython gh-86296, fixed in 3.12). Measured with redis-py 8.2
    on 3.11.7: 283 of 300 cancellations of a task in a loop of PINGs were lost, and a
    replica's namespace poll never stopped on SIGTERM. aiormq waits the same way.
    ``cancelling()`` still counts them.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


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


async def stop(*tasks: asyncio.Task[Any] | None, deadline: float = STOP_DEADLINE) -> None:
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


async def settle(
    tasks: Iterable[asyncio.Task[Any]], timeout: float, deadline: float = STOP_DEADLINE
) -> None:
    """Let ``tasks`` (calls in flight: webhooks, messages) end on their own for at most
    ``timeout`` seconds, then stop the rest as ``stop`` does (cancelled, waited on for a bounded
    time, named if they ignore it): gathering the cancelled ones would wait for ever on one
    that swallows its cancellation."""
    pending = set(tasks)
    if not pending:
        return
    _, late = await asyncio.wait(pending, timeout=timeout)
    await stop(*late, deadline=deadline)


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
