"""One request's match budget: the time its matching and its explanation may take together.

A request's checks run on the event loop, so a body that makes them slow (a 10 MB JSON array
against a ``$..name`` path, a catastrophic regex over 150 query values) would stall every
other client. Each request gets one deadline; regexes get what is left of it as their timeout,
and long JSON evaluations tick a clock that checks the deadline every few thousand steps.
Past it a check stops and its stub counts as not matching, with ``match budget exceeded``.
"""

from __future__ import annotations

import time
from contextvars import ContextVar, Token
from typing import Final

from mockserver.core.errors import MockServerError

__all__ = [
    "BUDGET_EXCEEDED",
    "MATCH_BUDGET_S",
    "REGEX_TIMEOUT_S",
    "BudgetExceeded",
    "Clock",
    "clock",
    "end_match_budget",
    "regex_timeout",
    "start_match_budget",
]

# A user regex gets this long per match; past it the value counts as not matching. Measured
# here: (a|aa)+$ against 30 characters runs for seconds without a bound.
REGEX_TIMEOUT_S: Final = 0.05
# ... and all the checks one request runs (its matching and its explanation), or one admin
# count over the journal, share this much (--match-budget-ms): about a quarter of a second of
# loop time, so an unrelated request never waits long behind a hostile one (issue 13).
MATCH_BUDGET_S: Final = 0.25
BUDGET_EXCEEDED: Final = "match budget exceeded"
# Steps between two looks at the clock: a step is one JSON value compared or visited (well
# under a microsecond each), so the deadline is overrun by a millisecond or so at most.
_STEPS_PER_LOOK: Final = 2048


class BudgetExceeded(MockServerError):
    """Raised inside a long evaluation when the request's budget is spent."""


class Clock:
    """A request's deadline, looked at every ``_STEPS_PER_LOOK`` steps of work."""

    __slots__ = ("deadline", "steps")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.steps = 0

    def tick(self, steps: int = 1) -> None:
        self.steps += steps
        if self.steps >= _STEPS_PER_LOOK:
            self.steps = 0
            if time.monotonic() > self.deadline:
                raise BudgetExceeded

    def left(self) -> float:
        return self.deadline - time.monotonic()


# Outside a request (a unit test, a tool) nothing is bounded but each regex.
_UNBOUNDED: Final = Clock(float("inf"))
_CLOCK: ContextVar[Clock] = ContextVar("mockserver_match_clock", default=_UNBOUNDED)


def start_match_budget(seconds: float = MATCH_BUDGET_S) -> Token[Clock]:
    """Begin one request's budget; give the token to ``end_match_budget`` when it is done, so
    a budget never outlives its request (a thread that answers several would inherit it)."""
    return _CLOCK.set(Clock(time.monotonic() + seconds))


def end_match_budget(token: Token[Clock]) -> None:
    _CLOCK.reset(token)


def clock() -> Clock:
    """The current request's clock (an unbounded one outside a request)."""
    return _CLOCK.get()


def regex_timeout() -> float:
    """Seconds the next regex may run: 50 ms, or what is left of the request's budget."""
    return min(REGEX_TIMEOUT_S, _CLOCK.get().left())
