"""Responses prepared once at load time, and the report sent when no stub matched."""

from __future__ import annotations

import json
from typing import Any

from mockserver.core.matching import NearMiss
from mockserver.core.report import UnmatchedReport, unmatched_report
from mockserver.core.request import RequestView

from .builders import index_of, stub_of


def prepared(response: dict[str, Any], files: dict[str, bytes] | None = None) -> Any:
    return stub_of({"response": response}, files=files).prepared


def header(out: Any, name: str) -> list[str]:
    """Every value of header ``name`` (any case) in a prepared response, in order."""
    return [value for key, value in out.headers if key.lower() == name.lower()]


def content_type(out: Any) -> list[str]:
    return header(out, "Content-Type")


# ---------------------------------------------------------------------------------------------
# Bodies and content types


def test_json_is_compact_utf8_with_application_json() -> None:
    out = prepared({"json": {"name": "Zoë", "tags": [1, True, None]}})
    assert out.body == '{"name":"Zoë","tags":[1,true,null]}'.encode()
    assert content_type(out) == ["application/json"]


def test_body_is_utf8_text_plain() -> None:
    out = prepared({"body": "héllo\n"})
    assert out.body == "héllo\n".encode()
    assert content_type(out) == ["text/plain; charset=utf-8"]


def test_body_base64_is_byte_exact_octet_stream() -> None:
    out = prepared({"body_base64": "AAEC/w0K"})
    assert out.body == b"\x00\x01\x02\xff\r\n"
    assert content_type(out) == ["application/octet-stream"]


def test_body_file_takes_its_type_from_the_extension() -> None:
    png = b"\x89PNG\r\n\x1a\n"
    out = prepared({"body_file": "img/logo.png"}, {"img/logo.png": png})
    assert (out.body, content_type(out)) == (png, ["image/png"])
    assert content_type(prepared({"body_file": "a.css"}, {"a.css": b"p{}"})) == ["text/css"]


def test_body_file_with_unknown_extension_is_octet_stream() -> None:
    out = prepared({"body_file": "blob.zzz"}, {"blob.zzz": b"\x00"})
    assert content_type(out) == ["application/octet-stream"]


def test_content_type_in_the_stub_wins() -> None:
    out = prepared({"json": {}, "headers": {"content-type": "application/problem+json"}})
    assert content_type(out) == ["application/problem+json"]


def test_header_lists_become_repeated_headers() -> None:
    out = prepared({"headers": {"Set-Cookie": ["a=1", "b=2"], "X-Count": 3}})
    assert header(out, "Set-Cookie") == ["a=1", "b=2"]
    assert header(out, "X-Count") == ["3"]


def test_status_is_kept() -> None:
    assert prepared({"status": 201, "json": {"id": "3"}}).status == 201


# ---------------------------------------------------------------------------------------------
# Delay and defaults


def test_fixed_delay_is_stored_as_a_range_of_one() -> None:
    assert prepared({"delay_ms": 250}).delay_ms == (250, 250)


def test_delay_range_is_stored() -> None:
    assert prepared({"delay_ms": {"min": 10, "max": 50}}).delay_ms == (10, 50)


def test_empty_response_is_200_with_no_body_and_no_type() -> None:
    out = stub_of({"request": {"path": "/a"}}).prepared
    assert (out.status, out.body, out.delay_ms) == (200, b"", (0, 0))
    assert content_type(out) == []


def test_empty_text_body_gets_no_content_type() -> None:
    assert content_type(prepared({"body": ""})) == []


# ---------------------------------------------------------------------------------------------
# The unmatched report

STUBS = (
    {"id": "get-user", "request": {"method": "GET", "path": "/api/user/{id}", "query": {"v": "1"}}},
    {"id": "create-user", "request": {"method": "POST", "path": "/api/user"}},
)


def report_for(request: RequestView) -> tuple[UnmatchedReport, list[NearMiss]]:
    index = index_of(*STUBS)
    near = index.near_misses(request)
    return unmatched_report(request, near, len(index)), near


def test_report_summarises_the_request() -> None:
    request = RequestView("GET", "/api/user/1", "v=2&w=a&w=b", [("Accept", "x")], b"hi")
    report = report_for(request)[0].to_json()
    assert report["error"] == "no stub matched this request"
    assert report["request"] == {
        "method": "GET",
        "path": "/api/user/1",
        "query": {"v": "2", "w": ["a", "b"]},
        "headers": {"accept": "x"},
        "body": "hi",
    }
    assert report["stubs_on_this_port"] == 2
    json.dumps(report)  # JSON-ready: the server sends it as the body


def test_report_names_the_nearest_stubs_and_their_first_difference() -> None:
    typed, near = report_for(RequestView("GET", "/api/user/1", "v=2"))
    report = typed.to_json()
    assert [n["stub"] for n in report["nearest"]] == ["get-user", "create-user"]
    nearest = report["nearest"][0]
    assert nearest["route"] == "GET /api/user/{id}"
    assert nearest["source"] == "test.yaml (stub #0)"
    assert nearest["first_difference"]["field"] == "query.v"
    assert report["hint"] == (
        'nearest stub \'get-user\' differs first in query.v: expected "1", got "2"'
    )
    assert len(near) == 2


def test_report_read_back_from_its_json_is_the_same_report() -> None:
    request = RequestView("GET", "/api/user/1", "v=2&w=a&w=b", [("Accept", "x")], b"hi")
    report, _ = report_for(request)
    wire = json.loads(json.dumps(report.to_json()))
    assert UnmatchedReport.from_json(wire) == report
    assert UnmatchedReport.from_json(wire).to_json() == wire


def test_report_with_no_stubs_says_so() -> None:
    typed = unmatched_report(RequestView("GET", "/x"), [], 0)
    report = typed.to_json()
    assert report["nearest"] == []
    assert report["hint"].startswith("no stubs are loaded on this port")
    assert "no stubs are loaded on this port" in typed.text()


def test_report_text_reads_like_the_data() -> None:
    report, _ = report_for(RequestView("GET", "/api/user/1", "v=2&w=a&w=b", body=b"hi"))
    text = report.text()
    lines = text.splitlines()
    assert lines[0] == "No stub matched GET /api/user/1?v=2&w=a&w=b"
    assert lines[1] == "  body: hi"
    assert lines[2] == "  1. stub get-user [GET /api/user/{id}] from test.yaml (stub #0)"
    assert lines[3:6] == [
        '       query.v: expected "1", got "2"',
        '         expected: equals "1"',
        '         actual:   "2"',
    ]
    assert "  2. stub create-user [POST /api/user] from test.yaml (stub #1)" in lines


def test_report_text_without_query_or_body() -> None:
    report = unmatched_report(RequestView("DELETE", "/x"), [], 4)
    assert report.text() == "No stub matched DELETE /x\n  no stub came near"
