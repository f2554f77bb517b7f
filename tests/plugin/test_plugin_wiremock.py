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
