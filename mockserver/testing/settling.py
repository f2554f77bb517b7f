"""Verification against replicas: a request answered by one is counted by all within 1 s.

Against a server whose state lives in Redis (``/__admin/health`` says ``"store": "redis"``),
a request answered by another replica reaches the shared journal up to SETTLE_S after its
answer (DESIGN.md "Staging at scale"). So ``assert_called`` looks again until its condition
holds, and a count that must be exact (``times=``, ``assert_not_called``) is confirmed only
once that bound has passed: a late request could still raise it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

__all__ = ["SETTLE_S", "settled_calls", "shares_state"]

T = TypeVar("T")
SETTLE_S: Final = 1.0
MARGIN_S: Final = 0.25  # the admin reads' own time, and the replicas' clocks
LOOK_EVERY_S: Final = 0.05


def shares_state(health: dict[str, Any]) -> bool:
    """The server's health says its journal is shared by replicas (``--state redis``)."""
    state = health.get("state")
    return isinstance(state, dict) and state.get("store") == "redis"


def settled_calls(
    look: Callable[[], list[T]], times: int | None, window: float = SETTLE_S + MARGIN_S
) -> list[T]:
    """``look()``'s requests once they settle: as soon as there are any (``times`` None), or
    when ``window`` has passed with exactly ``times`` (sooner, once more arrived: counts only
    grow). Whatever was found last, when the window ends first."""
    deadline = time.monotonic() + window
    while True:
        found = look()
        if times is None and found:
            return found
        if times is not None and len(found) > times:
            return found
        if time.monotonic() >= deadline:
            return found
        time.sleep(LOOK_EVERY_S)
