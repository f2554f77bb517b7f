"""drift.py: which stubs can be replayed, and how a live answer differs from the recorded one."""

from __future__ import annotations

import base64
import gzip
from typing import Any

import pytest

from mockserver.recording.drift import (
    Difference,
    Expected,
    Observed,
    Replay,
    Result,
    body_differences,
    compare,
    expected_of,
    json_differences,
    replay_of,
    report_lines,
)

from .builders import stub_of

OK_JSON = Expected(200, "application/json", b'{"a":1}')


def test_json_differences_name_changed_missing_and_added_values_by_json_path() -> None:
    recorded = {"id": 1, "name": "Ada", "tags": ["a", "b"], "meta": {"x": 1, "it's": True}}
    now = {"id": "1", "name": "Ada", "tags": ["a"], "meta": {"x": 1.0, "it's": 1}, "new": None}
    assert json_differences(recorded, now) == [
        Difference("$.id", "changed", 1, "1"),
        Difference("$.tags[1]", "missing", recorded="b"),
        Difference("$.meta['it\\'s']", "changed", True, 1),  # true is not 1
        Difference("$.new", "added", now=None),
    ]  # 1 and 1.0 are the same JSON number


@pytest.mark.parametrize(
    ("recorded", "now", "where"),
    [
        ({"a": {"b": [1, {"c": 2}]}}, {"a": {"b": [1, {"c": 3}]}}, "$.a.b[1].c"),
        ([1], [1, 2], "$[1]"),
        ({"a b": 1}, {"a b": 2}, "$['a b']"),
        ({"a": [1]}, {"a": {"0": 1}}, "$.a"),  # an array became an object
        ("x", ["x"], "$"),
    ],
)
def test_json_paths_of_differences(recorded: Any, now: Any, where: str) -> None:
    assert [d.where for d in json_differences(recorded, now)] == [where]


def test_equal_json_has_no_differences_whatever_the_key_order() -> None:
    assert json_differences({"a": 1, "b": [True, None]}, {"b": [True, None], "a": 1}) == []


def test_bodies_compare_as_json_when_both_parse_else_byte_for_byte() -> None:
    assert body_differences(b'{"a": 1}', b'{"a":1}') == []  # formatting is not drift
    assert body_differences(b"same", b"same") == []
    (text,) = body_differences(b"hello", b"hello world")
    assert text.describe() == 'body: recorded 5 bytes "hello", now 11 bytes "hello world"'
    (binary,) = body_differences(b"\xff\x00", b"\xff\x01\x02")
    assert binary.describe() == "body: recorded 2 bytes of binary, now 3 bytes of binary"
    assert [d.where for d in body_differences(b'{"a":1}', b"<html>")] == ["body"]


def test_compare_reports_status_media_type_and_body() -> None:
    found = compare([OK_JSON], Observed(503, "text/html", b"<p>down</p>"))
    assert [d.describe() for d in found] == [
        "status: recorded 200, now 503",
        'media type: recorded "application/json", now "text/html"',
        'body: recorded 7 bytes "{\\"a\\":1}", now 11 bytes "<p>down</p>"',
    ]
    assert compare([OK_JSON], Observed(200, "application/json", b'{ "a" : 1 }')) == []
    # Two empty bodies: no media type to disagree about.
    assert compare([Expected(204, None, b"")], Observed(204, "application/octet-stream", b"")) == []


def test_a_sequence_agrees_when_any_answer_does_else_is_compared_with_the_last() -> None:
    sequence = [Expected(200, "application/json", b'{"n":%d}' % n) for n in (1, 2, 3)]
    assert compare(sequence, Observed(200, "application/json", b'{"n":2}')) == []
    assert compare(sequence, Observed(200, "application/json", b'{"n":9}')) == [
        Difference("$.n", "changed", 3, 9)
    ]


def test_an_exact_stub_replays_its_literal_request() -> None:
    stub = stub_of(
        {
            "request": {
                "method": "post",
                "path": "/a b/ü",
                "query": {"page": 2, "q": {"equals": "x y"}, "on": True},
                "headers": {"X-Tenant": "t1"},
                "cookies": {"sid": "abc"},
                "body": {"json": {"name": "Ada"}},
            },
            "response": {"status": 201},
        }
    )
    replay = replay_of(stub)
    assert replay == Replay(
        "POST",
        "/a b/ü",
        (("page", "2"), ("q", "x y"), ("on", "true")),
        (("X-Tenant", "t1"), ("Cookie", "sid=abc"), ("Content-Type", "application/json")),
        b'{"name":"Ada"}',
    )
    assert replay.target == "/a%20b/%C3%BC?page=2&q=x+y&on=true"
    text_body = replay_of(stub_of({"request": {"method": "PUT", "path": "/t", "body": "raw"}}))
    assert isinstance(text_body, Replay)
    assert (text_body.body, text_body.headers) == (b"raw", ())


@pytest.mark.parametrize(
    ("request_spec", "reason"),
    [
        ({"method": "GET", "path": "/u/{id}"}, "path template /u/{id}"),
        ({"method": "GET", "path_regex": "^/u"}, "path_regex ^/u"),
        ({"method": "GET"}, "matches any path"),
        ({"path": "/u"}, "matches any method"),
        ({"method": ["GET", "HEAD"], "path": "/u"}, "several methods (GET, HEAD)"),
        (
            {"method": "GET", "path": "/u", "query": {"p": {"regex": "^1"}}},
            "query p: matched by regex, not a literal value",
        ),
        (
            {"method": "GET", "path": "/u", "headers": {"Accept": {"contains": "json"}}},
            "header Accept: matched by contains, not a literal value",
        ),
        (
            {
                "method": "GET",
                "path": "/u",
                "query": {"p": {"equals": "a", "case_insensitive": True}},
            },
            "query p: matched by equals + case_insensitive, not a literal value",
        ),
        (
            {"method": "POST", "path": "/u", "body": {"json_subset": {"a": 1}}},
            "body: matched by json_subset, so no exact body to send",
        ),
        (
            {"method": "POST", "path": "/u", "body": [{"contains": "a"}, {"contains": "b"}]},
            "body: several matchers, so no single body to send",
        ),
    ],
)
def test_stubs_that_cannot_be_replayed_say_why(request_spec: dict[str, Any], reason: str) -> None:
    assert replay_of(stub_of({"request": request_spec})) == reason


@pytest.mark.parametrize(
    "stub",
    [
        {"request": {"method": "GET", "path": "/u"}, "response": {"fault": "connection_reset"}},
        {
            "request": {"method": "GET", "path": "/u"},
            "responses": [{"status": 200}, {"fault": "connection_reset"}],
        },
    ],
    ids=["response", "in-a-sequence"],
)
def test_a_stub_with_a_fault_is_not_replayed(stub: dict[str, Any]) -> None:
    assert replay_of(stub_of(stub)) == "fault: connection_reset"


def test_a_templated_stub_is_not_replayed() -> None:
    stub = {"request": {"method": "GET", "path": "/u"}, "response": {"template": True, "body": "x"}}
    assert replay_of(stub_of(stub)) == "template: true (its answer is made from each request)"


def test_expected_answers_are_the_sequence_with_bodies_decoded() -> None:
    sequence = stub_of(
        {
            "request": {"method": "GET", "path": "/s"},
            "responses": [{"json": {"n": 1}}, {"status": 404, "body": "gone"}],
        }
    )
    assert expected_of(sequence) == (
        Expected(200, "application/json", b'{"n":1}'),
        Expected(404, "text/plain", b"gone"),
    )
    coded = stub_of(
        {
            "request": {"method": "GET", "path": "/z"},
            "response": {
                "headers": {"Content-Encoding": "gzip", "Content-Type": "text/csv"},
                "body_base64": base64.b64encode(gzip.compress(b"a,b\n")).decode(),
            },
        }
    )
    assert expected_of(coded) == (Expected(200, "text/csv", b"a,b\n"),)


def test_the_report_lists_each_stub_under_its_service_and_counts() -> None:
    many = tuple(Difference(f"$.k{i}", "added", now=i) for i in range(23))
    results = [
        Result("a", "users", "GET /a", "agrees"),
        Result("b", "users", "GET /b", "drifted", many),
        Result("c", "users", "GET /c/{id}", "skipped", reason="path template /c/{id}"),
        Result("d", "orders", "GET /d", "failed", reason="upstream timed out: slow"),
    ]
    lines = report_lines(results, {"users": "http://u", "orders": "http://o"})
    assert lines[:4] == [
        "users -> http://u",
        "  ok       a  GET /a",
        "  DRIFTED  b  GET /b",
        "             $.k0: added (now 0)",
    ]
    assert lines[23:] == [
        "             ... and 3 more",
        "  skipped  c  GET /c/{id}: path template /c/{id}",
        "orders -> http://o",
        "  FAILED   d  GET /d: upstream timed out: slow",
        "4 stubs: 1 agree, 1 drifted, 1 skipped, 1 failed",
    ]
