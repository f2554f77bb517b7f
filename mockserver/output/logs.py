"""Log lines for people and for log collectors: one line per request, as text or as JSON.

The server makes one call per request, and only when its level is enabled: INFO for an
answered request, WARNING for one that no stub matched (so a quiet log still shows what went
wrong). Under `serve` (``configure_logging``) a matched request's line is queued on the
``LogStream`` and written in batches (logstream.py says why); anywhere else (the pytest plugin,
an embedding program) it is a ``logging`` record whose single argument (``RequestLine``) is
turned into text or JSON fields only when a handler formats it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import replace
from typing import Any, Final, TextIO

from mockserver.core.report import RequestSummary, UnmatchedReport
from mockserver.core.request import RequestView
from mockserver.core.secretnames import redacted_query_string
from mockserver.output.logstream import LogStream, printable, printable_json, printable_values

__all__ = [
    "LOG_FORMATS",
    "JsonFormatter",
    "RequestLine",
    "announce",
    "configure_logging",
    "flush_log",
    "log_request",
    "printable",
]

LOG_FORMATS: Final = ("text", "json")
TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# An unmatched request's log carries the body's first 4 KiB: a 10 MiB body would drown the log.
LOGGED_BODY_CHARS: Final = 4096


# The handler configure_logging installed, when it did: matched requests are queued on it.
_stream: LogStream | None = None


class RequestLine:
    """What the log says about one request; formatted only if a handler emits it.

    As text, a matched request is ``GET /api/user/1 -> 200 get-user-1``; an unmatched one is
    the near-miss report (its first line ``No stub matched GET /path?query``, then the nearest
    stubs and how each differs). As JSON fields: method, path, query, status, stub, and for an
    unmatched request its body (the first 4 KiB), the hint and the nearest stubs.
    """

    __slots__ = ("fault", "report", "status", "stub", "view")

    def __init__(
        self,
        view: RequestView,
        status: int,
        stub: str | None,
        report: UnmatchedReport | None,
        fault: str | None = None,
    ) -> None:
        self.view = view
        self.status = status
        self.stub = stub
        self.report = report
        self.fault = fault

    def target(self) -> str:
        view = self.view
        query = redacted_query_string(view.query_string)  # ?token=... is not logged
        return f"{view.path}?{query}" if query else view.path

    def __str__(self) -> str:
        # As text, every value from the request is made printable: the report's own line
        # breaks stay, a client's cannot forge a line (JSON escapes them by itself).
        if self.report is not None:
            summary = RequestSummary.of(self.view, LOGGED_BODY_CHARS)
            report: UnmatchedReport = printable_values(replace(self.report, request=summary))
            return report.text()
        target, stub = printable(self.target()), printable(str(self.stub))
        if self.fault is not None:
            return f"{self.view.method} {target} -> fault {self.fault} ({stub})"
        return f"{self.view.method} {target} -> {self.status} {stub}"

    def fields(self) -> dict[str, Any]:
        """The request as JSON-ready fields for a log collector."""
        view = self.view
        fields: dict[str, Any] = {
            "message": f"{view.method} {self.target()} -> {self.status} {self.stub or 'unmatched'}",
            "method": view.method,
            "path": view.path,
            "query": redacted_query_string(view.query_string),
            "status": self.status,
            "stub": self.stub,
        }
        if self.fault is not None:
            fields["message"] = str(self)
            fields["fault"] = self.fault
        if self.report is not None:
            fields["body"] = RequestSummary.of(view, LOGGED_BODY_CHARS).body
            fields["hint"] = self.report.hint
            fields["nearest"] = [near.to_json() for near in self.report.nearest]
        return fields

    def detail(self) -> str:
        """More for DEBUG: the header names (never their values, which may be secrets)."""
        view = self.view
        names = ", ".join(view.headers) or "none"
        return f"{view.method} {self.target()}: headers {names}; body {len(view.body)} bytes"


def log_request(
    log: logging.Logger,
    view: RequestView,
    status: int,
    stub: str | None,
    report: UnmatchedReport | None,
    fault: str | None = None,
) -> None:
    """Log one request: at INFO when a stub answered it, at WARNING when none matched (the
    caller checked that level), and its detail at DEBUG."""
    stream = _stream
    if (
        stream is not None
        and report is None
        and fault is None
        and stub is not None
        and log.name == stream.logger_name
        and not log.isEnabledFor(logging.DEBUG)
    ):
        stream.request(view, status, stub)
        return
    line = RequestLine(view, status, stub, report, fault)
    if report is None:
        log.info("%s", line)
    else:
        log.warning("%s", line)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s", line.detail())


def request_level(report: UnmatchedReport | None) -> int:
    """The level a request is logged at: WARNING when no stub matched it, else INFO."""
    return logging.INFO if report is None else logging.WARNING


def flush_log() -> None:
    """Write the queued request lines now (before a line printed outside logging, and at stop)."""
    if _stream is not None:
        _stream.flush()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and fields.

    A request record adds method, path, query, status and stub (null when unmatched, with
    hint and nearest); an exception adds its traceback as ``exception``.
    """

    def format(self, record: logging.LogRecord) -> str:
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        entry: dict[str, Any] = {
            "time": f"{seconds}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        args = record.args
        if isinstance(args, tuple) and len(args) == 1 and isinstance(args[0], RequestLine):
            entry.update(args[0].fields())
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json_line(entry)


def json_line(entry: dict[str, Any]) -> str:
    """``entry`` as one line of JSON. json.dumps escapes C0 controls but leaves DEL, the C1
    controls and U+2028/U+2029 as they are, and a reader that splits lines the way Python's
    ``str.splitlines`` does would break the line there: those are escaped too (only strings
    can hold them, and ``\\uXXXX`` is JSON in a string)."""
    return printable_json(json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str))


class TextFormatter(logging.Formatter):
    """logging's text format, with every string argument of a record made printable: the
    format strings are ours, the arguments may be a client's (a path, a header value)."""

    def format(self, record: logging.LogRecord) -> str:
        args = record.args
        if isinstance(args, tuple) and any(isinstance(a, str) for a in args):
            record.args = tuple(printable(a) if isinstance(a, str) else a for a in args)
        return super().format(record)


def configure_logging(level: str, log_format: str = "text", stream: TextIO | None = None) -> None:
    """Send every log record at ``level`` or above to stdout, as text or one JSON per line."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
    # What our formats never show, the records need not gather: the thread, the process and
    # the caller's frame (the logging HOWTO's "Optimization" section); a tenth of each line.
    global _stream  # noqa: PLW0603  # one process, one log: set once, at start
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    handler = LogStream(stream or sys.stdout, log_format)
    formatter = JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # basicConfig leaves a root logger that already has handlers alone (pytest's, say): the
    # queue is used only when this handler is the one that writes.
    _stream = handler if handler in logging.getLogger().handlers else None


def announce(event: str, text: str, fields: dict[str, Any], log_format: str = "text") -> None:
    """A lifecycle line on stdout (started, stopped), whatever the log level.

    As text, ``text`` as it is; as JSON, one object like a log record's, with ``event``, the
    first line of ``text`` as its message, and ``fields``: a log collector then never meets a
    line it cannot parse.
    """
    flush_log()  # request lines queued before this one come first
    if log_format == "json":
        now = time.time()
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
        entry: dict[str, Any] = {
            "time": f"{seconds}.{int(now * 1000) % 1000:03d}Z",
            "level": "info",
            "logger": "mockserver",
            "message": text.splitlines()[0] if text else event,
            "event": event,
            **fields,
        }
        print(json_line(entry), flush=True)
    else:
        print(text, flush=True)
