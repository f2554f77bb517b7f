"""A VCR.py cassette in the stubs directory serves a pytest suite, as any stub file does."""

from __future__ import annotations

import pytest

from .conftest import Project

# As vcrpy 7 writes a cassette (requests, a JSON answer).
CASSETTE = """
interactions:
- request:
    body: null
    headers:
      Accept:
      - '*/*'
    method: GET
    uri: http://shop.example/api/item/7?view=full
  response:
    body:
      string: '{"id": 7, "name": "cup"}'
    headers:
      Content-Length:
      - '24'
      Content-Type:
      - application/json
    status:
      code: 200
      message: OK
version: 1
"""

TESTS = """
import os

import requests


def test_the_cassette_answers(mockserver):
    answer = requests.get(os.environ["SHOP_URL"] + "/api/item/7?view=full", timeout=5)
    assert answer.json() == {"id": 7, "name": "cup"}


def test_a_request_it_does_not_hold_fails_strictly(mockserver):
    requests.get(os.environ["SHOP_URL"] + "/api/item/8", timeout=5)
"""


def test_a_cassette_serves_a_suite(project: Project, pytester: pytest.Pytester) -> None:
    project({"test_shop.py": TESTS}, stubs={"stubs/shop.yaml": CASSETTE})
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*No stub matched GET /api/item/8*"])
