"""What each option's value must be: converters that say so in the user's words.

Each takes the text of a command-line value or a MOCKSERVER_ variable and returns the value,
or raises BadValue with what the value must be and what it got ("must be a port number, got
'abc'"); the caller names the option or the variable in front of it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeVar

from mockserver.core.errors import MockServerError
from mockserver.output.logs import LOG_FORMATS
from mockserver.server.loop import LOOPS, check_loop
from mockserver.state.location import parse_state, redacted

__all__ = [
    "LOG_LEVELS",
    "BadValue",
    "boolean",
    "event_loop",
    "level",
    "log_format",
    "non_negative",
    "port",
    "positive",
    "seconds",
    "state",
    "status",
]

T = TypeVar("T")
LOG_LEVELS = ("debug", "info", "warning", "error")


class BadValue(MockServerError, argparse.ArgumentTypeError, ValueError):
    """What an option's value must be and what it got; the caller names the option or variable.

    An ArgumentTypeError, so argparse shows the message as it is (a plain ValueError becomes
    ``invalid _port value``), and a ValueError for every other caller of a converter.
    """

    def __init__(self, what: str, text: str) -> None:
        super().__init__(f"must be {what}, got {text!r}")


def _number(text: str, kind: Callable[[str], T], what: str) -> T:
    try:
        return kind(text.strip())
    except ValueError:
        raise BadValue(what, text) from None


def port(text: str) -> int:
    value = _number(text, int, "a port number")
    if not 0 <= value <= 65535:
        raise BadValue("a port number from 0 to 65535", text)
    return value


def positive(text: str) -> int:
    value = _number(text, int, "a whole number above 0")
    if value <= 0:
        raise BadValue("a whole number above 0", text)
    return value


def seconds(text: str) -> float:
    value = _number(text, float, "a number of seconds above 0")
    if not 0 < value < float("inf"):
        raise BadValue("a number of seconds above 0", text)
    return value


def non_negative(text: str) -> int:
    value = _number(text, int, "a whole number, 0 or more")
    if value < 0:
        raise BadValue("a whole number, 0 or more", text)
    return value


def boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise BadValue("1/0, true/false, yes/no or on/off", text)


def status(text: str) -> int:
    value = _number(text, int, "an HTTP status from 400 to 599")
    if not 400 <= value <= 599:
        raise BadValue("an HTTP status from 400 to 599", text)
    return value


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def convert(text: str) -> str:
        if text.strip().lower() not in choices:
            raise BadValue(f"one of {', '.join(choices)}", text)
        return text.strip().lower()

    return convert


level = _choice(LOG_LEVELS)
unmatched_report = _choice(("auto", "full", "brief"))
log_format = _choice(LOG_FORMATS)
admin_api = _choice(("mockserver", "wiremock"))


def event_loop(text: str) -> str:
    try:
        return check_loop(text.strip())
    except ValueError as exc:
        if text.strip().lower() in LOOPS:  # asked for uvloop, which is not installed
            raise BadValue(f"an event loop installed here ({exc})", text) from None
        raise BadValue(f"one of {', '.join(LOOPS)}", text) from None


def state(text: str) -> str:
    """``--state``: ``memory`` or a Redis URL (shown redacted when refused)."""
    try:
        return parse_state(text)
    except ValueError as exc:
        raise BadValue(str(exc), redacted(text.strip())) from None
