"""Recording fidelity, the pure parts (issue 16): what an exchange's key holds, the matchers
recordings write, Expires and reason phrases, and the report a recording ends with."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mockserver.core.errors import Problems
from mockserver.core.matching import values_reason
from mockserver.core.patternspec import parse_pattern
from mockserver.core.replayed import with_expires
from mockserver.recording.stubs import stubs_from_exchanges
from mockserver.recording.summary import recording_report
from mockserver.stubfiles.stubfile import parse_service

from .test_recording import JSON, exchange


def loaded(stubs: list[dict[str, Any]]) -> list[str]:
    """The problems the stub-file parser finds in the recorded stubs (none expected)."""
    _, _, problems = parse_service({"stubs": stubs}, "<t>", "svc", lambda _: b"", {})
    return [p.message for p in problems]


def test_answers_chosen_by_a_varied_on_header_are_stubs_matched_on_it() -> None:
    vary = (*JSON, ("Vary", "Accept, Accept-Encoding"))
    stubs = stubs_from_exchanges(
        "svc",
        [
            exchange(request_headers=(("Accept", "text/html"),), headers=vary, body=b'"html"'),
            exchange(
                request_headers=(("Accept", "application/json"),), headers=vary, body=b'"json"'
            ),
            exchange(request_headers=(("Accept", "text/html"),), headers=vary, body=b'"html"'),
            exchange(headers=vary, body=b'"none"'),
        ],
    )
    # Accept-Encoding is negotiated by the replay, never matched; Vary is kept.
    assert [s["request"].get("headers") for s in stubs] == [
        {"Accept": "text/html"},
        {"Accept": "application/json"},
        {"Accept": {"absent": True}},
    ]
    assert [s["response"]["json"] for s in stubs] == ["html", "json", "none"]
    assert stubs[0]["response"]["headers"]["Vary"] == "Accept, Accept-Encoding"
    assert loaded(stubs) == []


def test_cookies_and_secret_headers_vary_by_name_or_presence_never_by_value() -> None:
    vary = (*JSON, ("Vary", "Cookie, Authorization"))
    stubs = stubs_from_exchanges(
        "svc",
        [
            exchange(request_headers=(("Cookie", "theme=dark; sid=1"),), headers=vary, body=b"1"),
            exchange(request_headers=(("Cookie", "theme=light; sid=2"),), headers=vary, body=b"1"),
            exchange(request_headers=(("Authorization", "Bearer x"),), headers=vary, body=b"2"),
        ],
    )
    assert [(s["request"].get("headers"), s["request"].get("cookies")) for s in stubs] == [
        (
            {"Authorization": {"absent": True}},
            {"theme": {"absent": False}, "sid": {"absent": False}},
        ),
        ({"Cookie": {"absent": True}, "Authorization": {"absent": False}}, None),
    ]
    assert loaded(stubs) == []


def test_head_is_a_stub_of_its_own_that_comes_before_the_get() -> None:
    stubs = stubs_from_exchanges(
        "svc", [exchange(body=b"1"), exchange(method="HEAD", body=b"1"), exchange(body=b"2")]
    )
    assert [(s["request"]["method"], s.get("priority")) for s in stubs] == [
        ("GET", None),
        ("HEAD", 1),
    ]
    assert len(stubs[0]["responses"]) == 2  # the HEAD took no turn of the GET's sequence


def test_a_repeated_query_name_is_matched_as_a_multiset() -> None:
    (stub,) = stubs_from_exchanges(
        "svc",
        [
            exchange(query=(("x", "1"), ("x", "2"), ("y", "3"))),
            exchange(query=(("x", "2"), ("y", "3"), ("x", "1"))),
        ],
    )
    assert stub["request"]["query"] == {"x": {"values": ["1", "2"]}, "y": "3"}
    errors = Problems("<test>")
    pattern = parse_pattern({"values": ["1", "2"]}, ("q",), errors)
    assert pattern is not None
    assert errors.items == []
    assert values_reason(["2", "1"], pattern) is None
    for other in (["1", "999"], ["1"], ["1", "2", "2"], None):
        assert values_reason(other, pattern) is not None, other


def test_an_answer_in_another_coding_only_is_one_answer_offered_coded() -> None:
    text = b"the same text " * 40
    plain = exchange(headers=(("Content-Type", "text/plain"),), body=text)
    coded = exchange(
        request_headers=(("Accept-Encoding", "gzip"),),
        headers=(("Content-Type", "text/plain"), ("Content-Encoding", "gzip")),
        body=gzip.compress(text),
    )
    (stub,) = stubs_from_exchanges("svc", [plain, coded, plain])
    assert stub["response"]["gzip"] is True


def test_a_coding_the_recorder_cannot_decode_is_sent_only_to_clients_accepting_it() -> None:
    headers = (("Content-Type", "text/plain"), ("Content-Encoding", "x-squash"))
    (stub,) = stubs_from_exchanges("svc", [exchange(headers=headers, body=b"zyx")])
    assert stub["request"]["headers"] == {"Accept-Encoding": {"accepts_coding": "x-squash"}}
    assert stub["response"]["headers"]["Content-Encoding"] == "x-squash"
    errors = Problems("<test>")
    pattern = parse_pattern({"accepts_coding": "x-squash"}, ("h",), errors)
    assert pattern is not None
    for accepted in ("x-squash", "gzip, x-squash;q=0.5", "*"):
        assert values_reason([accepted], pattern) is None, accepted
    for refused in ("gzip", "x-squash;q=0", None):
        assert values_reason([refused] if refused else None, pattern) is not None, refused


def test_expires_is_kept_relative_to_date_and_a_custom_reason_is_kept() -> None:
    headers = (
        *JSON,
        ("Date", "Tue, 29 Jun 2021 21:32:25 GMT"),
        ("Expires", "Tue, 29 Jun 2021 22:32:25 GMT"),
    )
    (stub,) = stubs_from_exchanges("svc", [exchange(headers=headers, reason="Custom")])
    assert (stub["response"]["expires_in"], stub["response"]["reason"]) == (3600, "Custom")
    assert "Expires" not in stub["response"]["headers"]
    (usual,) = stubs_from_exchanges(
        "svc", [exchange(headers=(*JSON, ("Expires", "0")), reason="OK")]
    )
    assert usual["response"]["headers"]["Expires"] == "0"  # no date: expired, as it is
    assert "reason" not in usual["response"]
    assert loaded([stub]) == loaded([usual]) == []
    moment = datetime(2030, 1, 1, 12, 0, 0, 500_000, tzinfo=UTC)
    assert with_expires((), 90, moment) == (("Expires", "Tue, 01 Jan 2030 12:01:30 GMT"),)


@pytest.mark.parametrize(
    ("response", "message"),
    [
        ({"reason": "two\r\nlines"}, "reason is the status line's phrase"),
        ({"reason": 7}, "reason is the status line's phrase"),
        ({"expires_in": "1h"}, "expires_in is whole seconds"),
        ({"expires_in": 60, "headers": {"Expires": "0"}}, "not both"),
    ],
)
def test_reason_and_expires_in_are_checked(response: dict[str, Any], message: str) -> None:
    stub = {"request": {"path": "/"}, "response": response}
    assert any(message in problem for problem in loaded([stub])), loaded([stub])


def test_the_report_names_variants_sequences_and_semantics() -> None:
    vary = (*JSON, ("Vary", "Accept-Language"), ("ETag", '"t"'))
    stubs = stubs_from_exchanges(
        "svc",
        [
            exchange(
                "/hello",
                request_headers=(("Accept-Language", "de"),),
                headers=vary,
                body=b'"Hallo"',
            ),
            exchange(
                "/hello",
                request_headers=(("Accept-Language", "en"),),
                headers=vary,
                body=b'"Hello"',
            ),
            exchange("/count", body=b"1"),
            exchange("/count", body=b"2"),
        ],
    )
    assert recording_report(Path("out/svc.yaml"), stubs).splitlines() == [
        "svc.yaml: 3 stubs",
        "  variants: GET /hello by Accept-Language (2)",
        "  sequences (in order, then the last repeats): GET /count (2 answers)",
        "  ranges from the whole representation: GET /hello; GET /count",
        "  conditionals from its validators: GET /hello",
    ]


@pytest.mark.parametrize("reason", ["two\nlines", "emoji \U0001f600", "x" * 201])
def test_a_reason_no_status_line_can_carry_is_left_out_and_the_stub_kept(reason: str) -> None:
    (stub,) = stubs_from_exchanges("svc", [exchange(reason=reason)])
    assert "reason" not in stub["response"]
    assert loaded([stub]) == []


def test_the_report_reads_hand_written_stubs_as_the_replay_does() -> None:
    stubs = [
        {"request": {"path_regex": "^/api/"}},  # any method, no response: a 200
        {"request": {"method": ["GET", "HEAD"], "path": "/x"}, "response": {"status": 404}},
        {"request": {"method": ["POST", "GET"], "path": "/y"}},
        {"request": {"method": "POST", "path": "/f", "body": {"form": {"a": "1"}}}},
        {"request": {"method": "POST", "path": "/f", "body": {"form": {"a": "2"}}}},
        {"response": {"headers": {"X": "y"}, "expires_in": 60}},  # any request at all
    ]
    assert recording_report(Path("hand.yaml"), stubs).splitlines() == [
        "hand.yaml: 6 stubs",
        "  variants: POST /f by body (2)",
        "  ranges from the whole representation: ANY ~^/api/; POST|GET /y; ANY (any path)",
        "  Expires relative to each answer: ANY (any path)",
    ]
