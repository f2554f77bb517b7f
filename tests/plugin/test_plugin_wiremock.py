"""A WireMock root in the stubs directory serves a pytest suite, as any stub file does."""

from __future__ import annotations

import pytest

from .conftest import Project

# As WireMock's documentation writes a mapping, and its body in __files/.
MAPPING = """
{
    "request": {
        "method": "GET",
        "urlPath": "/api/receipts/7",
        "headers": {"Accept": {"contains": "json"}}
    },
    "response": {
        "status": 200,
        "headers": {"Content-Type": "application/json"},
        "bodyFileName": "receipt-7.json"
    }
}
"""

TESTS = """
import os

import requests


def test_the_mapping_answers(mockserver):
    answer = requests.get(
        os.environ["PAYMENTS_URL"] + "/api/receipts/7",
        headers={"Accept": "application/json"},
        timeout=5,
    )
    assert answer.json() == {"id": 7, "total": 12.5}
    assert mockserver.service("payments").url == os.environ["PAYMENTS_URL"]


def test_a_request_it_does_not_hold_fails_strictly(mockserver):
    requests.get(os.environ["PAYMENTS_URL"] + "/api/receipts/8", timeout=5)
"""


def test_a_wiremock_root_serves_a_suite(project: Project, pytester: pytest.Pytester) -> None:
    project(
        {"test_payments.py": TESTS},
        stubs={
            "stubs/payments/mappings/receipt.json": MAPPING,
            "stubs/payments/__files/receipt-7.json": '{"id": 7, "total": 12.5}',
        },
    )
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*No stub matched GET /api/receipts/8*"])


# WireMock's url: the path and the query as one text, as the server and the doubles read it.
SEARCH = """
{
    "request": {"method": "GET", "url": "/search?q=red%20shoes&page=2"},
    "response": {"status": 200, "jsonBody": {"found": 3}}
}
"""

OFFLINE = """
import os

import requests


def test_the_url_is_matched_without_a_socket(mock_requests):
    base = os.environ["SHOP_URL"]
    got = requests.get(base + "/search", params={"q": "red shoes", "page": 2}, timeout=5)
    assert got.json() == {"found": 3}
    encoded = requests.get(base + "/search?q=red%20shoes&page=2", timeout=5)
    assert encoded.json() == {"found": 3}


def test_a_parameter_more_is_not_the_mapping_s(mock_requests):
    base = os.environ["SHOP_URL"]
    requests.get(base + "/search?q=red%20shoes&page=2&sort=price", timeout=5)
"""


def test_a_wiremock_url_is_matched_by_the_socket_free_doubles(
    project: Project, pytester: pytest.Pytester
) -> None:
    project({"test_shop.py": OFFLINE}, stubs={"stubs/shop/mappings/search.json": SEARCH})
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*No stub matched GET /search?q=red*sort=price*"])
