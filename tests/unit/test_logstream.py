"""The batched request log: the same lines as the formatters, in order, and none lost."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import subprocess
import sys
import textwrap
import time

import pytest

from mockserver.core.request import RequestView
from mockserver.output.logs import TEXT_FORMAT, JsonFormatter, RequestLine
from mockserver.output.logstream import FLUSH_AFTER, MAX_QUEUED, LogStream

VIEW = RequestView("GET", "/api/ü/1", 'q="x"&a=1', (("Host", "h"),), b"")
TEXT_STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
JSON_STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


class CountingStream(io.StringIO):
    """A text stream that counts its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def handler(log_format: str) -> tuple[LogStream, CountingStream]:
    out = CountingStream()
    stream = LogStream(out, log_format)
    stream.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    return stream, out


def formatted_by_logging(log_format: str) -> str:
    """The line the plain logging path gives for the same request."""
    record = logging.LogRecord(
        "mockserver", logging.INFO, __file__, 1, "%s", (RequestLine(VIEW, 200, "s-ü", None),), None
    )
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    return formatter.format(record)


def test_a_queued_text_line_is_the_line_logging_would_write() -> None:
    stream, out = handler("text")
    stream.request(VIEW, 200, "s-ü")  # no loop running here: written at once
    written = out.getvalue()
    assert re.fullmatch(TEXT_STAMP + r" INFO mockserver: .*\n", written)
    expected = formatted_by_logging("text")
    assert written.split(" ", 2)[2] == expected.split(" ", 2)[2] + "\n"


def test_a_queued_json_line_is_the_object_the_json_formatter_would_write() -> None:
    stream, out = handler("json")
    stream.request(VIEW, 200, "s-ü")
    written = out.getvalue()
    assert written.endswith("\n")
    assert written.count("\n") == 1
    entry, expected = json.loads(written), json.loads(formatted_by_logging("json"))
    assert re.fullmatch(JSON_STAMP, entry.pop("time"))
    expected.pop("time")
    assert entry == expected
    assert list(entry) == list(expected)  # the same key order for a collector's eyes
    assert "ü" in written  # not escaped, as json.dumps(ensure_ascii=False) writes it


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_under_a_loop_lines_are_written_together_and_soon(log_format: str) -> None:
    stream, out = handler(log_format)

    async def burst() -> tuple[int, float]:
        for _ in range(100):
            stream.request(VIEW, 200, "s")
        queued_writes = out.writes
        began = time.monotonic()
        while out.getvalue().count("\n") < 100:
            assert time.monotonic() - began < 5, "the queued lines were never written"
            await asyncio.sleep(0.005)
        return queued_writes, time.monotonic() - began

    queued_writes, waited = asyncio.run(burst())
    assert queued_writes == 0  # nothing written per line
    assert out.writes == 1  # one write for the hundred
    assert waited < FLUSH_AFTER + 1.0  # a person tailing the log sees them at once


def test_a_long_burst_is_written_before_the_timer_so_memory_stays_bounded() -> None:
    stream, out = handler("text")

    async def burst() -> int:
        for _ in range(MAX_QUEUED):
            stream.request(VIEW, 200, "s")
        return out.getvalue().count("\n")

    assert asyncio.run(burst()) == MAX_QUEUED


def test_any_other_record_writes_the_queued_lines_first() -> None:
    stream, out = handler("text")
    log = logging.getLogger("mockserver.test_logstream")
    log.addHandler(stream)
    log.propagate = False
    try:

        async def then_fail() -> None:
            stream.request(VIEW, 200, "first")
            stream.request(VIEW, 200, "second")
            try:
                raise RuntimeError("handler crashed")
            except RuntimeError:
                log.exception("Error handling request")

        asyncio.run(then_fail())
    finally:
        log.removeHandler(stream)
        log.propagate = True
    text = out.getvalue()
    assert text.index("-> 200 first") < text.index("-> 200 second") < text.index("Error handling")
    assert text.rstrip().endswith("RuntimeError: handler crashed")


def test_a_process_that_crashes_still_writes_what_it_queued() -> None:
    script = textwrap.dedent(
        """
        import asyncio
        from mockserver.output.logs import configure_logging, log_request
        from mockserver import RequestView
        import logging
        configure_logging("info")
        log = logging.getLogger("mockserver")

        async def main():
            for n in range(3):
                log_request(log, RequestView("GET", f"/n/{n}", "", (), b""), 200, "s", None)
            raise SystemError("crash")

        asyncio.run(main())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert "SystemError: crash" in result.stderr
    assert [line.split(": ", 1)[1] for line in result.stdout.splitlines()] == [
        f"GET /n/{n} -> 200 s" for n in range(3)
    ]


def test_values_are_made_printable_and_json_stays_json() -> None:
    from mockserver.output.logstream import printable, printable_json

    assert printable("/api/ü/1") == "/api/ü/1"  # printable text is left alone
    assert printable("/a\n2026\x1b[2J\u2028") == "/a\\n2026\\x1b[2J\\u2028"
    value = "a\x7fb\x85c\u2028d\U000e0001e"  # DEL, NEL, LINE SEPARATOR, a tag character
    line = printable_json(json.dumps({"v": value}, ensure_ascii=False))
    assert line.isprintable()
    assert json.loads(line) == {"v": value}  # the same JSON, surrogate pairs where needed
