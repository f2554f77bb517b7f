"""A stop that cannot end is bounded: tasks that ignore their cancellation are named and left
behind (state/background.py), and a process whose whole stop overruns exits with status 1,
saying what it waited on (server/stopping.py)."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from mockserver.core.config import Settings
from mockserver.output.awaiting import awaiting
from mockserver.state import background


async def _stubborn(released: asyncio.Event) -> None:
    """Ignores every cancellation until ``released``: what a misbehaving library does."""
    while not released.is_set():
        try:
            await _innermost(released)
        except asyncio.CancelledError:
            continue


async def _innermost(released: asyncio.Event) -> None:
    await released.wait()


def _described(make: Callable[[asyncio.Event], Coroutine[Any, Any, None]], name: str) -> str:
    """``awaiting`` of a task running ``make(released)``, once it reached its first await."""

    async def scenario() -> str:
        released = asyncio.Event()
        task = asyncio.get_running_loop().create_task(make(released), name=name)
        await asyncio.sleep(0)
        try:
            return awaiting(task)
        finally:
            released.set()
            await task

    return asyncio.run(scenario())


def test_awaiting_follows_the_awaits_down_to_the_innermost_one() -> None:
    said = _described(_stubborn, "stubborn")
    assert said.startswith("stubborn: _stubborn (test_stopping.py:")
    assert "> _innermost (test_stopping.py:" in said
    assert said.endswith("> wait (locks.py:" + said.rsplit("locks.py:", 1)[1])


def test_awaiting_goes_on_into_an_awaited_task() -> None:
    async def outer(released: asyncio.Event) -> None:
        await asyncio.get_running_loop().create_task(_innermost(released), name="inner")

    said = _described(outer, "outer")
    assert said.startswith("outer: outer (test_stopping.py:")
    assert "> task inner > _innermost (test_stopping.py:" in said


def test_stop_leaves_a_task_that_ignores_its_cancellation_and_names_where_it_waits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> tuple[bool, bool]:
        released = asyncio.Event()
        loop = asyncio.get_running_loop()
        stubborn = loop.create_task(_stubborn(released), name="mockserver-stubborn")
        polite = loop.create_task(_innermost(asyncio.Event()), name="mockserver-polite")
        await asyncio.sleep(0)
        await background.stop(stubborn, polite, None, deadline=0.3)
        left = not stubborn.done()
        released.set()
        await stubborn
        return left, polite.cancelled()

    with caplog.at_level(logging.WARNING, logger="mockserver"):
        left, polite_cancelled = asyncio.run(scenario())
    assert left  # the deadline ended the stop, not the task
    assert polite_cancelled
    [record] = [r for r in caplog.records if "after being cancelled" in r.getMessage()]
    assert "still running 0.3 s after being cancelled: mockserver-stubborn: _stubborn" in (
        record.getMessage()
    )
    assert "_innermost (test_stopping.py:" in record.getMessage()


def test_stop_logs_what_a_task_raised_instead_of_raising_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def failed_early() -> None:
        raise RuntimeError("broken poll")

    async def fails_when_cancelled() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            raise RuntimeError("broken cleanup") from None

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        early = loop.create_task(failed_early(), name="mockserver-early")
        late = loop.create_task(fails_when_cancelled(), name="mockserver-late")
        await asyncio.sleep(0)
        assert early.done()
        await background.stop(early, late)

    with caplog.at_level(logging.ERROR):
        asyncio.run(scenario())
    failed = {r.getMessage(): r.exc_info for r in caplog.records if r.name == "mockserver"}
    assert set(failed) == {"mockserver-early failed", "mockserver-late failed"}
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]


def test_settle_lets_calls_in_flight_end_then_stops_the_rest_within_its_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> tuple[str, bool, bool, float]:
        released, never = asyncio.Event(), asyncio.Event()
        loop = asyncio.get_running_loop()

        async def quick() -> str:
            await asyncio.sleep(0.01)
            return "sent"

        done = loop.create_task(quick(), name="mockserver-quick")
        slow = loop.create_task(_innermost(never), name="mockserver-slow")
        stubborn = loop.create_task(_stubborn(released), name="mockserver-stubborn")
        started = loop.time()
        await background.settle({done, slow, stubborn}, timeout=0.3, deadline=0.3)
        took = loop.time() - started
        left = not stubborn.done()
        released.set()
        await stubborn
        return done.result(), slow.cancelled(), left, took

    with caplog.at_level(logging.WARNING, logger="mockserver"):
        result, slow_cancelled, left, took = asyncio.run(scenario())
    assert result == "sent"  # within the timeout: not cancelled
    assert slow_cancelled
    assert left  # it swallowed its cancellation: left behind, not waited on for ever
    assert 0.5 <= took < 3  # the timeout, then the deadline
    assert any("mockserver-stubborn: _stubborn" in r.getMessage() for r in caplog.records)


def test_webhooks_settle_is_bounded_by_a_call_that_ignores_its_cancellation() -> None:
    from mockserver.server.webhooks import Webhooks

    async def scenario() -> tuple[bool, bool]:
        released = asyncio.Event()
        webhooks = Webhooks()
        loop = asyncio.get_running_loop()
        stubborn = loop.create_task(_stubborn(released))
        webhooks._pending.add(stubborn)
        settling = loop.create_task(webhooks.settle(0.1))
        # Before settle was bounded it waited here for as long as the call ran: for ever.
        ended, _ = await asyncio.wait([settling], timeout=15)
        left = not stubborn.done()
        released.set()
        await asyncio.gather(stubborn, settling)
        return bool(ended), left

    ended, left = asyncio.run(scenario())
    assert ended
    assert left


def test_a_close_that_never_ends_is_left_after_the_deadline(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(background, "STOP_DEADLINE", 0.2)

    async def scenario() -> None:
        released = asyncio.Event()
        await background.finish(_innermost(released), "mockserver-close")
        released.set()

    with caplog.at_level(logging.WARNING, logger="mockserver"):
        asyncio.run(scenario())
    assert any(
        "still running after 0.2 s: mockserver-close: _innermost" in r.getMessage()
        for r in caplog.records
    )


def test_a_close_that_fails_raises_its_error() -> None:
    async def broken() -> None:
        raise OSError("socket gone")

    with pytest.raises(OSError, match="socket gone"):
        asyncio.run(background.finish(broken(), "mockserver-close"))


def test_the_stop_bound_covers_each_wait_of_shutdown_timeout_and_the_margin() -> None:
    assert Settings().stop_bound == 3 * 5.0 + 10.0
    assert Settings(shutdown_timeout=1.0).stop_bound == 13.0


def test_a_process_whose_stop_overruns_exits_1_naming_what_it_waited_on() -> None:
    script = textwrap.dedent(
        """
        import asyncio, logging, sys
        from mockserver.server.stopping import stop_or_exit

        logging.basicConfig(stream=sys.stdout, format="%(levelname)s %(message)s")

        async def hangs_in_close():
            await asyncio.Event().wait()

        async def main():
            await stop_or_exit(hangs_in_close(), 0.3)
            print("returned")

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 1, done
    assert "returned" not in done.stdout
    assert "ERROR the stop did not end within 0.3 s; exiting while these still wait:" in (
        done.stdout
    )
    assert "hangs_in_close (<string>:" in done.stdout


def test_a_stop_that_ends_in_time_returns_and_raises_what_it_raised() -> None:
    async def quick() -> None:
        await asyncio.sleep(0)

    async def broken() -> None:
        raise RuntimeError("stop failed")

    from mockserver.server.stopping import stop_or_exit

    asyncio.run(stop_or_exit(quick(), 5))
    with pytest.raises(RuntimeError, match="stop failed"):
        asyncio.run(stop_or_exit(broken(), 5))
