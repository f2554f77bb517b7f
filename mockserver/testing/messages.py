"""What a test asks of the messaging doubles: messages to an exchange and routing key,
counted with a deadline (a message travels after the call that caused it), and the report of
consumed messages no consumer matched (strict mode)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["assert_published", "unmatched_messages_text"]

Json = dict[str, Any]
INTERVAL = 0.02  # between two looks at the journal while a message is awaited


def _sent(
    entries: Sequence[Json], exchange: str, routing_key: str, direction: str | None
) -> list[Json]:
    return [
        m
        for m in entries
        if m["exchange"] == exchange
        and m["routing_key"] == routing_key
        and (direction is None or m["direction"] == direction)
        and m.get("error") is None
    ]


def assert_published(
    backend: Any,
    exchange: str,
    routing_key: str,
    times: int | None,
    *,
    direction: str | None,
    timeout: float,
) -> list[Json]:
    """MockServerHandle.assert_published over ``backend`` (its ``messages()``)."""
    __tracebackhide__ = True
    if direction not in (None, "consumed", "published"):
        raise ValueError(f"direction is 'consumed' or 'published', got {direction!r}")
    wanted = 1 if times is None else times
    messages: Callable[[], list[Json]] = backend.messages
    deadline = time.monotonic() + timeout
    while True:
        entries = messages()
        found = _sent(entries, exchange, routing_key, direction)
        # times=0 awaits nothing: the count now is the answer
        if len(found) >= wanted or time.monotonic() >= deadline:
            break
        time.sleep(INTERVAL)  # polling a condition with a deadline
    if (times is None and found) or (times is not None and len(found) == times):
        return found
    expected = "at least once" if times is None else f"{times} time{'s' * (times != 1)}"
    listing = "\n".join(f"  {_line(m)}" for m in entries) or "  (none)"
    raise AssertionError(
        f"expected a message to {exchange!r} with routing key {routing_key!r} {expected}, "
        f"got {len(found)}; messages journaled:\n{listing}"
    )


def _line(message: Mapping[str, Any]) -> str:
    body = message.get("body", "")
    shown = json.dumps(body[:80] + ("..." if len(body) > 80 else ""), ensure_ascii=False)
    outcome = f" ({message['error']})" if message.get("error") else ""
    return (
        f"{message['direction']} {message['exchange'] or '<default>'} "
        f"{message['routing_key']!r} {shown}{outcome}"
    )


def unmatched_messages_text(entries: Sequence[Json], count: int, where: str = "") -> str:
    """The near-miss report of ``count`` consumed messages no consumer matched."""
    head = f"mockserver: {count} message{'s' * (count != 1)} matched no consumer{where}:"
    blocks = []
    for message in entries:
        lines = [f"  {_line(message)} on queue {message.get('queue')!r}"]
        for miss in message.get("near_misses", ()):
            lines.append(f"    nearest consumer {miss['consumer']!r}:")
            for diff in miss["differences"]:
                lines.append(f"      {diff['field']}: {diff['reason']}")
        blocks.append("\n".join(lines))
    lost = count - len(entries)
    if lost > 0:
        blocks.append(f"  (and {lost} more, no longer journaled)")
    return head + "\n\n" + "\n\n".join(blocks)
