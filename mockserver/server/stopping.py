"""A stop that cannot end is ended: `serve`, `record` and each worker exit within
Settings.stop_bound after SIGTERM.

Every part of a stop waits for a bounded time (requests in flight, webhooks and messages for
--shutdown-timeout each, the state store's tasks for a few seconds), so a stop that outlives
them all waits on something that will not end: a library that ignores a cancellation, a lock
never released. A process that never exits turns ``docker stop`` into a kill ten seconds
later and hangs a test run that waits for it; so the process says what it was waiting on,
writes its log, and exits with status 1.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from typing import Any

from mockserver.output.awaiting import awaiting

__all__ = ["stop_or_exit"]

log = logging.getLogger("mockserver")


async def stop_or_exit(stop: Coroutine[Any, Any, None], bound: float) -> None:
    """Await ``stop`` for at most ``bound`` seconds; past it, log what every task still waits
    on and end the process (status 1) without running the rest of the stop."""
    task = asyncio.ensure_future(stop)
    ended, _ = await asyncio.wait([task], timeout=bound)
    if ended:
        task.result()
        return
    log.error("the stop did not end within %g s; exiting while these still wait:", bound)
    here = asyncio.current_task()
    for other in asyncio.all_tasks():
        if other is not here:
            log.error("  %s", awaiting(other))
    logging.shutdown()  # writes the queued request lines and the lines above
    os._exit(1)
