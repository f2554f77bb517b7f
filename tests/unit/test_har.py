"""har.py: HAR 1.2 entries → exchanges per origin, bodies as the recorder expects them."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from mockserver.formats.har import HarError, parse_har, service_name


def har(*entries: dict[str, Any]) -> str:
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "t"}, "entries": entries}})


def entry(
    url: str,
    *,
    method: str = "GET",
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
    content: dict[str, Any] | None = None,
    request: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "request": {"method": method, "url": url, "headers": [], **(request or {})},
        "response": {
            "status": status,
            "headers": [{"name": k, "value": v} for k, v in headers or []],
            "content": content or {"size": 0, "mimeType": "text/plain"},
        },
    }


@pytest.mark.parametrize(
    ("host", "port", "name"),
    [
        ("API.Example.com", None, "api.example.com"),
        ("api.example.com", 8443, "api.example.com-8443"),
        ("::1", 8080, "1-8080"),
        ("ünï.example", None, "n-.example"),
        ("-", None, "service"),
    ],
)
def test_service_names_from_hosts(host: str, port: int | None, name: str) -> None:
    assert service_name(host, port) == name


def test_entries_are_grouped_per_origin_with_the_origin_as_upstream() -> None:
    found = parse_har(
        har(
            entry("https://api.example.com/a?x=1&x=2&empty="),
            entry("https://api.example.com:443/b"),  # the default port is the same origin
            entry("http://api.example.com/c"),  # another scheme, another origin
            entry("http://[::1]:8080/d%20e"),
        )
    )
    recording = found.recording
    assert recording.upstreams == {
        "api.example.com": "https://api.example.com",
        "api.example.com-2": "http://api.example.com",
        "1-8080": "http://[::1]:8080",
    }
    first, second = recording.exchanges["api.example.com"]
    assert (first.path, first.query) == ("/a", (("x", "1"), ("x", "2"), ("empty", "")))
    assert second.path == "/b"
    assert recording.exchanges["1-8080"][0].path == "/d e"
    assert (found.count, found.skipped) == (4, [])


def test_one_service_for_all_has_no_upstream_when_origins_differ() -> None:
    text = har(entry("https://a.example/x"), entry("https://b.example/y"))
    assert parse_har(text, "app").recording.upstreams == {}
    assert parse_har(har(entry("https://a.example/x")), "app").recording.upstreams == {
        "app": "https://a.example"
    }


def test_bodies_decoded_in_the_har_are_coded_again_when_they_were_sent_coded() -> None:
    text = '{"a":1}'
    found = parse_har(
        har(
            entry(
                "https://x.example/gz",
                headers=[(":status", "200"), ("content-encoding", "br"), ("content-type", "a/b")],
                content={"size": 7, "mimeType": "a/b", "text": text},
            ),
            entry(
                "https://x.example/bin",
                content={"size": 3, "mimeType": "x/y", "text": "AP8B", "encoding": "base64"},
            ),
        )
    )
    coded, binary = found.recording.exchanges["x.example"]
    assert coded.response_headers == (("content-type", "a/b"), ("Content-Encoding", "gzip"))
    assert gzip.decompress(coded.response_body) == text.encode()
    assert binary.response_body == b"\x00\xff\x01"


def test_request_bodies_from_text_or_form_params() -> None:
    posted = {"mimeType": "application/json", "text": '{"user":"ada"}'}
    form = {
        "mimeType": "application/x-www-form-urlencoded",
        "params": [{"name": "a", "value": "1 2"}, {"name": "b", "value": "&"}],
    }
    raw = {"mimeType": "application/octet-stream", "text": base64.b64encode(b"\x01").decode()}
    found = parse_har(
        har(
            entry("https://x.example/j", method="post", request={"postData": posted}),
            entry("https://x.example/f", method="POST", request={"postData": form}),
            entry(
                "https://x.example/r",
                method="PUT",
                request={"postData": {**raw, "encoding": "base64"}},
            ),
        )
    )
    json_body, form_body, raw_body = found.recording.exchanges["x.example"]
    assert (json_body.method, json_body.request_body) == ("POST", b'{"user":"ada"}')
    assert form_body.request_body == b"a=1+2&b=%26"
    assert raw_body.request_body == b"\x01"


def test_entries_without_an_answer_or_a_body_are_left_out_with_the_reason() -> None:
    found = parse_har(
        har(
            entry("https://x.example/blocked", status=0),
            entry("wss://x.example/socket"),
            entry("https://x.example/lost", content={"size": 10, "mimeType": "text/plain"}),
            entry("https://x.example/empty", status=204),
        )
    )
    assert found.skipped == [
        "entry 0 (GET https://x.example/blocked): no response (status 0)",
        "entry 1 (GET wss://x.example/socket): not an http(s) URL",
        "entry 2 (GET https://x.example/lost): the HAR does not contain the response body",
    ]
    assert [e.path for e in found.recording.exchanges["x.example"]] == ["/empty"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        ("[]", "the HAR file must be an object"),
        ('{"log": {}}', "log.entries must be a list"),
        ('{"log": {"entries": [1]}}', r"log.entries\[0\] must be an object"),
        ('{"log": {"entries": [{"request": {}, "response": {}}]}}', "needs a method and a url"),
        (
            har(entry("https://x.example/", content={"text": "!!", "encoding": "base64"})),
            "text is not valid base64",
        ),
    ],
)
def test_what_is_not_a_har_log_is_a_har_error(text: str, message: str) -> None:
    with pytest.raises(HarError, match=message):
        parse_har(text)
