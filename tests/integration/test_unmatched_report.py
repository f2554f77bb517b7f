"""The answer to a request no stub matched, over real HTTP: what arrived, what came near, why."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests

from mockserver import MockServer, Settings

SHOP = """
    service: shop
    stubs:
      - id: widgets-page-1
        request:
          method: GET
          path: /widgets
          query: {page: "1"}
        response: {json: {page: 1}}
      - id: delete-widgets
        request: {method: DELETE, path: /widgets}
        response: {status: 204}
      - id: create-widget
        request:
          method: POST
          path: /widgets
          headers: {Accept: {contains: json}}
          cookies: {session: {regex: "^s-[0-9]+$"}}
          body: {json: {name: bolt, size: 3}}
        response: {status: 201}
      - id: get-gadgets
        request: {method: GET, path: /gadgets}
        response: {json: []}
"""
EMPTY = """
    service: empty
    port: 65000
    stubs: []
"""
GOOD_POST: dict[str, Any] = {
    "json": {"name": "bolt", "size": 3},
    "headers": {"Accept": "application/json"},
    "cookies": {"session": "s-42"},
}


@pytest.fixture
def shop_stubs(make_stubs: Callable[[dict[str, str]], Path]) -> Path:
    return make_stubs({"shop.yaml": SHOP, "empty.yaml": EMPTY})


@pytest.fixture
def server(shop_stubs: Path) -> Iterator[MockServer]:
    settings = Settings(
        paths=(str(shop_stubs),), port=0, ephemeral_service_ports=True, near_misses=4
    )
    with MockServer(settings) as running:
        yield running


def unmatched(server: MockServer, method: str, target: str, **kwargs: Any) -> dict[str, Any]:
    response = requests.request(method, server.url + target, timeout=10, **kwargs)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    report: dict[str, Any] = response.json()
    assert report["error"] == "no stub matched this request"
    return report


def test_the_report_says_what_arrived(server: MockServer) -> None:
    report = unmatched(
        server,
        "PUT",
        "/widgets/9?tag=a&tag=b&page=2",
        data="plain text",
        headers={"X-Trace": "abc", "Content-Type": "text/plain"},
    )
    request = report["request"]
    assert (request["method"], request["path"]) == ("PUT", "/widgets/9")
    assert request["query"] == {"tag": ["a", "b"], "page": "2"}
    assert request["headers"]["x-trace"] == "abc"
    assert request["headers"]["content-type"] == "text/plain"
    assert request["body"] == "plain text"
    assert report["stubs_on_this_port"] == 4


def test_a_stub_differing_only_in_a_query_parameter_comes_first(server: MockServer) -> None:
    report = unmatched(server, "GET", "/widgets?page=2")
    ranked = [miss["stub"] for miss in report["nearest"]]
    assert ranked[0] == "widgets-page-1"
    assert len(ranked) == len(set(ranked)) == 4
    # The same path with another method is nearer than another path.
    assert ranked.index("delete-widgets") < ranked.index("get-gadgets")
    first = report["nearest"][0]
    assert first["route"] == "GET /widgets"
    assert first["service"] == "shop"
    assert first["source"].endswith("shop.yaml (stub #0)")
    assert first["differences"] == [first["first_difference"]]
    assert report["hint"] == (
        "nearest stub 'widgets-page-1' differs first in query.page: " + 'expected "1", got "2"'
    )


@pytest.mark.parametrize(
    ("method", "target", "kwargs", "stub", "field", "why"),
    [
        ("PATCH", "/gadgets", {}, "get-gadgets", "method", "expected GET, got PATCH"),
        ("GET", "/gadget", {}, "get-gadgets", "path", "expected /gadgets"),
        ("GET", "/gadgets/", {}, "get-gadgets", "path", "differs only in the trailing slash"),
        ("GET", "/widgets?page=2", {}, "widgets-page-1", "query.page", 'expected "1", got "2"'),
        (
            "POST",
            "/widgets",
            GOOD_POST | {"headers": {"Accept": "text/html"}},
            "create-widget",
            "headers.accept",
            '"text/html" does not contain "json"',
        ),
        (
            "POST",
            "/widgets",
            GOOD_POST | {"cookies": {"session": "x"}},
            "create-widget",
            "cookies.session",
            "the value differs (a secret: not shown)",  # cookies are secrets (issue 13)
        ),
        (
            "POST",
            "/widgets",
            GOOD_POST | {"json": {"name": "bolt", "size": 4}},
            "create-widget",
            "body",
            'expected JSON {"name": "bolt", "size": 3}, got {"name": "bolt", "size": 4}',
        ),
    ],
    ids=["method", "path", "trailing-slash", "query", "header", "cookie", "json-body"],
)
def test_the_first_difference_names_the_field_and_why(
    server: MockServer,
    method: str,
    target: str,
    kwargs: dict[str, Any],
    stub: str,
    field: str,
    why: str,
) -> None:
    report = unmatched(server, method, target, **kwargs)
    nearest = report["nearest"][0]
    assert nearest["stub"] == stub
    assert (nearest["first_difference"]["field"], nearest["first_difference"]["why"]) == (
        field,
        why,
    )
    assert report["hint"] == f"nearest stub {stub!r} differs first in {field}: {why}"


def test_the_good_post_does_match(server: MockServer) -> None:
    # The cases above differ from this request in one field each.
    response = requests.post(server.url + "/widgets", timeout=10, **GOOD_POST)
    assert response.status_code == 201


def test_a_long_body_is_echoed_once_cut_with_its_length_and_hash(server: MockServer) -> None:
    body = json.dumps({"name": "bolt", "size": 3, "notes": "n" * 50_000})
    report = unmatched(server, "POST", "/widgets", data=body, headers={"Accept": "json"})
    digest = hashlib.sha256(body.encode()).hexdigest()[:16]
    assert report["request"]["body"] == (
        f"{body[:4096]}... ({len(body):,} characters in all, sha256 {digest})"
    )
    assert report["nearest"][0]["stub"] == "create-widget"
    assert report["nearest"][0]["first_difference"]["field"] == "cookies.session"


def test_the_server_logs_the_report_as_text(
    server: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mockserver")
    unmatched(server, "GET", "/widgets?page=2")
    # The server logs before it answers, so the record is there once the answer is.
    texts = [r.getMessage() for r in caplog.records if r.name == "mockserver"]
    report = next(t for t in texts if t.startswith("No stub matched GET /widgets?page=2"))
    assert "1. stub widgets-page-1 [GET /widgets]" in report
    assert 'query.page: expected "1", got "2"' in report


def test_a_port_with_no_stubs_says_so(server: MockServer) -> None:
    response = requests.get(server.url_for("empty", "/anything"), timeout=10)
    assert response.status_code == 404
    report = response.json()
    assert report["stubs_on_this_port"] == 0
    assert report["nearest"] == []
    assert report["hint"].startswith("no stubs are loaded on this port")


def test_the_main_port_with_no_stubs_says_so(
    make_stubs: Callable[[dict[str, str]], Path],
) -> None:
    root = make_stubs({"only.yaml": "port: 65001\nstubs:\n  - request: {path: /x}\n"})
    settings = Settings(paths=(str(root),), port=0, ephemeral_service_ports=True)
    with MockServer(settings) as server:
        report = requests.get(server.url + "/x", timeout=10).json()
        assert (report["stubs_on_this_port"], report["nearest"]) == (0, [])
        assert report["hint"].startswith("no stubs are loaded on this port")
        assert requests.get(server.url_for("only", "/x"), timeout=10).status_code == 200


@pytest.mark.parametrize("status", [400, 501])
def test_the_unmatched_status_is_configurable(shop_stubs: Path, status: int) -> None:
    settings = Settings(
        paths=(str(shop_stubs),), port=0, ephemeral_service_ports=True, unmatched_status=status
    )

    async def scenario() -> None:
        async with MockServer(settings) as server, aiohttp.ClientSession() as session:
            async with session.get(server.url + "/widgets?page=2") as response:
                assert response.status == status
                report = await response.json()
            assert report["nearest"][0]["stub"] == "widgets-page-1"
            async with session.get(server.url + "/widgets?page=1") as response:
                assert response.status == 200

    asyncio.run(scenario())
