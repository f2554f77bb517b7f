"""A task using the Redis store ends when it is cancelled, whatever it was doing.

redis-py writes commands through asyncio.wait_for, which on Python 3.11 loses a cancellation
that meets a finished write (state/background.py): a replica's namespace poll went on polling
after SIGTERM and the process never exited (CI, test_state_faults). These run the store's own
calls against a real redis-server and cancel them at random moments.
"""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from mockserver.state.redis import RedisState
from tests.redisserver import RedisServer

TRIALS = 200


async def _cancel_repeatedly(state: RedisState) -> list[str]:
    """Cancel a loop of the store's commands TRIALS times; what did not end cancelled."""
    rng = random.Random(1)  # the moments repeat from run to run
    kept_going: list[str] = []

    async def commands() -> None:
        while True:
            await state.run(lambda client: client.ping())

    for trial in range(TRIALS):
        task = asyncio.get_running_loop().create_task(commands())
        await asyncio.sleep(rng.random() * 0.003)
        task.cancel()
        ended, _ = await asyncio.wait([task], timeout=5)
        if not ended:
            kept_going.append(f"trial {trial}: still running 5 s after its cancellation")
            task.cancel()  # a second request meets another wait_for, and ends it
            await asyncio.wait([task], timeout=5)
        elif not task.cancelled():
            kept_going.append(f"trial {trial}: ended with {task.exception()!r}")
    return kept_going


def test_a_loop_of_store_commands_ends_on_every_cancellation(redis_server: RedisServer) -> None:
    async def scenario() -> list[str]:
        state = RedisState(redis_server.url)
        await state.start()
        try:
            return await _cancel_repeatedly(state)
        finally:
            await state.close()

    assert asyncio.run(scenario()) == []


def test_the_listener_and_polls_stop_at_once_on_close(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """start/close again and again while commands run: no task is left behind (the stop
    deadline would log it as 'still running')."""

    async def scenario() -> None:
        rng = random.Random(2)
        for _ in range(30):
            state = RedisState(redis_server.url)
            await state.start()
            busy = asyncio.get_running_loop().create_task(_publishing(state))
            await asyncio.sleep(rng.random() * 0.02)
            busy.cancel()
            await asyncio.wait([busy], timeout=5)
            assert busy.cancelled()
            await state.close()

    with caplog.at_level(logging.WARNING, logger="mockserver"):
        asyncio.run(scenario())
    assert [r.getMessage() for r in caplog.records if "still running" in r.getMessage()] == []


async def _publishing(state: RedisState) -> None:
    while True:
        await state.publish(None, "probe")
