"""Cookie and deepObject parameters of a served OpenAPI document, sent by a real client
(requests) to a real server: a violation answers 400 with the violations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mockserver import MockServer, Settings
from tests.openapi_docs import PARAMS

VIOLATION = "request does not match the OpenAPI document"


@pytest.fixture
def base(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "params.yaml").write_text(PARAMS, encoding="utf-8")
    with MockServer(Settings(paths=(str(tmp_path),), port=0)) as server:
        yield server.url_for("params")


def test_cookie_and_deep_object_parameters_are_checked_when_served(base: str) -> None:
    with requests.Session() as client:
        client.cookies.set("session", "abcd")
        fine = client.get(base + "/items?filter[status]=active&filter[size]=2", timeout=5)
        assert fine.status_code == 200, fine.text
        client.cookies.set("page", "0")
        bad = client.get(base + "/items", params={"filter[status]": "lost"}, timeout=5)
    assert bad.status_code == 400
    assert bad.json() == {
        "error": VIOLATION,
        "violations": [
            {"in": "cookie", "name": "page", "message": "0 is less than the minimum of 1"},
            {
                "in": "query",
                "name": "filter",
                "message": "'lost' is not one of ['active', 'gone']",
            },
        ],
    }
    no_cookie = requests.get(base + "/items", timeout=5)
    assert no_cookie.status_code == 400
    assert no_cookie.json()["violations"] == [
        {"in": "cookie", "name": "session", "message": "a required parameter is missing"}
    ]
