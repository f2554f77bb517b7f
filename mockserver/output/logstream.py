"""Where `serve` writes its log: stdout, with the matched-request lines batched.

A request line through ``logging`` costs more than mockserver's whole answer: a ``LogRecord``
built and dispatched through the logger tree, a time formatted with ``strftime``, one write
and one flush per line — together ~45 % of the throughput of a default ``serve`` (issue 12,
measured with wrk beside a raw aiohttp handler). So a plain matched request (the line that
comes at load) is formatted here directly, in the exact text or JSON that the formatters in
logs.py would give, and kept in a queue that one timer writes out at most 50 ms later in a
single write (a person tailing the log still sees their request at once). Every other record
(warnings, unmatched requests, faults, DEBUG, tracebacks) goes through ``logging`` as usual,
and writes the queued lines first, so the log keeps its order.

Nothing queued is lost on the way out: the runner writes the queue when it stops (SIGTERM,
SIGINT), ``logging.shutdown`` (run at exit, even after a crash) flushes this handler, and a
request handler that raises is logged through ``logging``, which writes the queue before it.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import time
from collections.abc import Callable
from dataclasses import fields, is_dataclass, replace
from json.encoder import encode_basestring
from typing import Any, Final, TextIO

from mockserver.core.request import RequestView
from mockserver.core.secretnames import redacted_query_string

__all__ = [
    "FLUSH_AFTER",
    "LogStream",
    "printable",
    "printable_json",
    "printable_values",
    "strings_changed",
]

# How long a request line may wait for the write that carries it: short enough for a person
# watching the log, long enough that one write carries hundreds of lines under load.
FLUSH_AFTER: Final = 0.05
# A write at the latest every this many lines, so memory stays bounded whatever the rate.
MAX_QUEUED: Final = 1024
# Distinct requests whose line is remembered (then forgotten all at once, and remade).
MAX_REMEMBERED: Final = 1024


def printable(text: str) -> str:
    """``text`` with every character that is not printable escaped (``\\n``, ``\\x1b``,
    ``\\u2028``), so a value a client sent can neither start a forged log line nor drive the
    terminal that shows the log (issue 13). Printable text, most of it, is returned as it is."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def printable_values(value: Any) -> Any:
    """The same structure with every string in it made printable."""
    return strings_changed(value, printable)


def strings_changed(value: Any, change: Callable[[str], str]) -> Any:
    """The same structure (dicts, lists, tuples, dataclasses: a report) with ``change`` made to
    every string in it but the keys of dicts."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {k: strings_changed(v, change) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(strings_changed(v, change) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        changed = {f.name: strings_changed(getattr(value, f.name), change) for f in fields(value)}
        return replace(value, **changed)
    return value


def printable_json(line: str) -> str:
    """A line of JSON with the characters json.dumps leaves raw but a line reader may break
    at (DEL, C1 controls, U+2028/U+2029, like ``str.splitlines``) escaped as ``\\uXXXX``:
    only strings can hold them, and there that is the same JSON."""
    if line.isprintable():
        return line
    return "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in line)


class _Clock:
    """The time prefix of a line: formatted once a second, completed once a millisecond."""

    __slots__ = ("_layout", "_millisecond", "_prefix", "_second", "_stamp", "_suffix", "_zone")

    def __init__(self, utc: bool) -> None:
        self._zone = time.gmtime if utc else time.localtime
        # ISO 8601 in JSON (as JsonFormatter); logging's asctime in text (as logging.Formatter).
        self._layout = "%Y-%m-%dT%H:%M:%S." if utc else "%Y-%m-%d %H:%M:%S,"
        self._suffix = "Z" if utc else ""
        self._second = self._millisecond = -1
        self._prefix = self._stamp = ""

    def stamp(self) -> str:
        # Under load many lines share a millisecond: one multiplication and a comparison each.
        millisecond = int(time.time() * 1000)
        if millisecond != self._millisecond:
            self._millisecond = millisecond
            second, fraction = divmod(millisecond, 1000)
            if second != self._second:
                self._second = second
                self._prefix = time.strftime(self._layout, self._zone(second))
            self._stamp = f"{self._prefix}{fraction:03d}{self._suffix}"
        return self._stamp


class LogStream(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that also takes pre-formatted request lines and writes them in batches."""

    def __init__(self, stream: TextIO, log_format: str, name: str = "mockserver") -> None:
        super().__init__(stream)
        self.json = log_format == "json"
        self.logger_name = name
        self._clock = _Clock(utc=self.json)
        # A deque: appended on the loop's thread, drained on any thread, no line lost between.
        self._queued: collections.deque[str] = collections.deque()
        self._timer_set = False
        self._rests: dict[tuple[str, str, str, int, str], str] = {}

    def request(self, view: RequestView, status: int, stub: str) -> None:
        """Queue the INFO line of a matched request (the caller checked the level)."""
        # All of a line but its time depends on what was asked and what answered, which
        # repeats: made once per distinct request, then one dict lookup.
        key = (view.method, view.path, view.query_string, status, stub)
        rest = self._rests.get(key)
        if rest is None:
            rest = self._rest(view, status, stub)
            if len(self._rests) >= MAX_REMEMBERED:
                self._rests.clear()
            self._rests[key] = rest
        if self.json:
            line = f'{{"time":"{self._clock.stamp()}",{rest}\n'
        else:
            line = f"{self._clock.stamp()} {rest}\n"
        queued = self._queued
        queued.append(line)
        if not self._timer_set:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop on this thread: nothing would come back to write
                self.flush()
                return
            self._timer_set = True
            loop.call_later(FLUSH_AFTER, self._due)
        elif len(queued) >= MAX_QUEUED:
            self.flush()

    def _rest(self, view: RequestView, status: int, stub: str) -> str:
        """The line after its time: as JsonFormatter or logging's text format would write it."""
        query = redacted_query_string(view.query_string)
        target = f"{view.path}?{query}" if query else view.path
        message = f"{view.method} {target} -> {status} {stub}"
        if self.json:
            rest = (
                f'"level":"info","logger":{encode_basestring(self.logger_name)},'
                f'"message":{encode_basestring(message)},'
                f'"method":{encode_basestring(view.method)},"path":{encode_basestring(view.path)},'
                f'"query":{encode_basestring(query)},"status":{status},'
                f'"stub":{encode_basestring(stub)}}}'
            )
            # A client's path or query: see printable_json.
            return rest if rest.isprintable() else printable_json(rest)
        if not message.isprintable():  # a client's path or query: see printable
            message = f"{view.method} {printable(target)} -> {status} {printable(stub)}"
        return f"INFO {self.logger_name}: {message}"

    def _due(self) -> None:
        self._timer_set = False
        self.flush()

    def _write_queued(self) -> None:
        queued = self._queued
        if queued:
            text = "".join([queued.popleft() for _ in range(len(queued))])
            self.stream.write(text)

    def emit(self, record: logging.LogRecord) -> None:
        # Called under the handler's lock: the queued lines go first, so the log keeps its order.
        try:
            self._write_queued()
        except (OSError, ValueError):  # stdout closed or gone: nothing left to tell it
            self._queued.clear()
        super().emit(record)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]  # created in Handler.__init__
            try:
                self._write_queued()
                self.stream.flush()
            except (OSError, ValueError):
                self._queued.clear()
