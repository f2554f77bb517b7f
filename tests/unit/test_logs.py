"""The request log line: text for people, one JSON object per line for log collectors."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from mockserver.core.report import unmatched_report
from mockserver.core.request import RequestView
from mockserver.output.logs import JsonFormatter, RequestLine, configure_logging, log_request

SECRET = "Bearer top-secret-value"


def view(path: str = "/api/user/1", query: str = "", body: bytes = b"") -> RequestView:
    headers = (("Host", "users"), ("Authorization", SECRET))
    return RequestView("GET", path, query, headers, body)


def record(message: str, *args: object, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("mockserver", level, __file__, 1, message, args, None)


def test_a_matched_request_is_one_text_line() -> None:
    line = RequestLine(view(query="verbose=1"), 200, "get-user-1", None)
    assert str(line) == "GET /api/user/1?verbose=1 -> 200 get-user-1"


def test_a_fault_says_so_in_text_and_in_json() -> None:
    line = RequestLine(view(), 200, "flaky", None, "connection_reset")
    assert str(line) == "GET /api/user/1 -> fault connection_reset (flaky)"
    entry = json.loads(JsonFormatter().format(record("%s", line)))
    assert (entry["fault"], entry["stub"], entry["message"]) == (
        "connection_reset",
        "flaky",
        "GET /api/user/1 -> fault connection_reset (flaky)",
    )


def test_an_unmatched_request_logs_its_near_miss_report() -> None:
    request = view("/api/nothing", body=b"x" * 10_000)
    report = unmatched_report(request, [], 3)
    text = str(RequestLine(request, 404, None, report))
    assert text.startswith("No stub matched GET /api/nothing\n")
    assert "no stub came near" in text
    assert "... (10,000 characters in all, sha256 " in text  # the body is cut at 4 KiB


def test_json_has_the_request_fields_on_one_line() -> None:
    line = RequestLine(view(query="a=1&b=2"), 200, "get-user-1", None)
    out = JsonFormatter().format(record("%s", line))
    assert "\n" not in out
    entry = json.loads(out)
    assert entry.pop("time").endswith("Z")
    assert entry == {
        "level": "info",
        "logger": "mockserver",
        "message": "GET /api/user/1?a=1&b=2 -> 200 get-user-1",
        "method": "GET",
        "path": "/api/user/1",
        "query": "a=1&b=2",
        "status": 200,
        "stub": "get-user-1",
    }


def test_json_of_an_unmatched_request_carries_the_near_misses() -> None:
    request = view("/api/nothing", body=b'{"a":\n1}')
    report = unmatched_report(request, [], 3)
    out = JsonFormatter().format(record("%s", RequestLine(request, 404, None, report)))
    entry = json.loads(out)
    assert (entry["status"], entry["stub"], entry["nearest"]) == (404, None, [])
    assert entry["message"] == "GET /api/nothing -> 404 unmatched"
    assert entry["hint"] == "no stub came near"
    assert entry["body"] == '{"a":\n1}'
    assert out.count("\n") == 0


def test_json_of_any_other_record_and_of_an_exception() -> None:
    assert json.loads(JsonFormatter().format(record("reloaded: %d stubs", 3)))["message"] == (
        "reloaded: 3 stubs"
    )
    try:
        raise ValueError("boom")
    except ValueError:
        failed = record("it failed", level=logging.ERROR)
        failed.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(failed))
    assert entry["level"] == "error"
    assert entry["exception"].endswith("ValueError: boom")


def test_debug_detail_names_headers_but_never_their_values() -> None:
    detail = RequestLine(view(body=b"abc"), 200, "s", None).detail()
    assert detail == "GET /api/user/1: headers host, authorization; body 3 bytes"
    assert SECRET not in detail


def test_log_request_logs_one_info_record_and_a_debug_one_below(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("mockserver.test_logs")
    caplog.set_level(logging.INFO, logger=log.name)
    log_request(log, view(), 200, "get-user-1", None)
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "GET /api/user/1 -> 200 get-user-1")
    ]
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger=log.name)
    log_request(log, view(), 200, "get-user-1", None)
    assert [r.levelname for r in caplog.records] == ["INFO", "DEBUG"]


def test_configure_logging_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="text, json"):
        configure_logging("info", "xml", io.StringIO())
