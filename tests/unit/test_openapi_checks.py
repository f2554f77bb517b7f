"""Cookie and deepObject parameters checked against their operation, and a real service's
answers checked against the document (``record`` / ``diff`` with ``--openapi``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mockserver.core.request import RequestView
from mockserver.formats.openapi.load import read_openapi
from mockserver.formats.openapi.responses import answer_check
from mockserver.stubfiles.documents import read_document
from tests.openapi_docs import PARAMS, PETSTORE


def check(query: str = "", cookie: str = "session=abcd") -> list[dict[str, str]]:
    doc = read_openapi(read_document(PARAMS, "p.yaml", is_json=False)[0], "p.yaml")
    headers = (("Cookie", cookie),) if cookie else ()
    return doc.operations[0].check(RequestView("GET", "/items", query, headers, b""))


def test_cookie_parameters_are_read_and_checked() -> None:
    assert check() == []
    assert check(cookie="session=abcd; page=2; ids=1,2,3") == []
    assert check(cookie="") == [
        {"in": "cookie", "name": "session", "message": "a required parameter is missing"}
    ]
    assert check(cookie="session=ab; page=0") == [
        {"in": "cookie", "name": "session", "message": "'ab' is too short"},
        {"in": "cookie", "name": "page", "message": "0 is less than the minimum of 1"},
    ]
    assert check(cookie="session=abcd; ids=1,x") == [
        {"in": "cookie", "name": "ids", "message": "'x' is not of type 'integer'"}
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("filter[status]=active&filter[size]=3", []),
        ("filter[status]=gone&filter[tag]=1&filter[tag]=2", []),
        ("", []),  # not required
        ("filter[status]=lost", ["'lost' is not one of ['active', 'gone']"]),
        ("filter[status]=active&filter[size]=big", ["'big' is not of type 'integer'"]),
        ("filter[size]=3", ["'status' is a required property"]),
        ("filter[status]=active&filter[tag]=x", ["'x' is not of type 'integer'"]),
        ("filter[status]=active&filter[colour]=red", ["Additional properties are not allowed"]),
        ("filter[status][deep]=lost", []),  # nesting: undefined by the specification
    ],
)
def test_deep_object_query_parameters_are_read_as_objects(query: str, expected: list[str]) -> None:
    found = check(query)
    assert [v["in"] for v in found] == ["query"] * len(expected)
    assert [v["name"] for v in found] == ["filter"] * len(expected)
    for violation, start in zip(found, expected, strict=True):
        assert violation["message"].startswith(start), violation


def pets_check() -> Any:
    data = read_document(PETSTORE, "pets.yaml", is_json=False)[0]
    return answer_check(read_openapi(data, "pets.yaml"))


def answer(
    method: str, path: str, status: int, body: Any, content_type: str | None = "application/json"
) -> list[str]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return pets_check()(method, path, status, content_type, raw)


def test_an_answer_that_fits_has_nothing_to_say() -> None:
    rex = {"id": 7, "name": "Rex", "tag": "dog"}
    assert answer("GET", "/pets/7", 200, rex) == []
    assert answer("GET", "/pets/7", 200, rex, "application/json; charset=utf-8") == []
    assert answer("HEAD", "/pets/7", 200, b"") == []  # HEAD is answered as the GET
    assert answer("GET", "/pets/7", 304, b"", None) == []  # a condition held: nothing to type


def test_each_way_an_answer_breaks_the_document_is_said() -> None:
    assert answer("GET", "/pets/7", 200, {"id": "7"}) == [
        "GET /pets/{id}: response 200, body /: 'name' is a required property",
        "GET /pets/{id}: response 200, body /id: '7' is not of type 'integer'",
    ]
    assert answer("DELETE", "/pets/7", 204, b"gone", "text/plain") == [
        "DELETE /pets/{id}: response 204 has no content, the service sends a body"
    ]
    assert answer("DELETE", "/pets/7", 500, {"code": 1, "message": "down"}) == []  # default
    assert answer("DELETE", "/pets/7", 500, {"code": "E1"}) == [
        "DELETE /pets/{id}: response default, body /: 'message' is a required property",
        "DELETE /pets/{id}: response default, body /code: 'E1' is not of type 'integer'",
    ]
    assert answer("GET", "/pets/7", 200, b"<p>Rex</p>", "text/html") == [
        "GET /pets/{id}: response 200 is application/json, the service sends Content-Type text/html"
    ]
    assert answer("GET", "/pets/7", 200, b"{}", None)[0].endswith("sends no Content-Type")
    assert answer("GET", "/pets/7", 200, b"{nope", "application/json") == [
        "GET /pets/{id}: response 200 is application/json, the service's body is not JSON"
    ]
    assert answer("GET", "/owners", 200, []) == ["the document has no operation GET /owners"]


def test_content_types_seen_are_remembered_boundedly_and_answered_alike() -> None:
    doc = read_openapi(read_document(PETSTORE, "p.yaml", is_json=False)[0], "p.yaml")
    add = next(op.check for op in doc.operations if op.method == "POST")
    assert add.body is not None
    body = json.dumps({"name": "Rex"}).encode()
    for i in range(200):  # a client can send any number of distinct Content-Types
        for kind, fits in ((f"application/json; n={i}", True), (f"text/x-{i}", False)):
            said = add(RequestView("POST", "/pets", "", (("Content-Type", kind),), body))
            assert (said == []) is fits, (kind, said)
    assert 0 < len(add.body.seen) <= 64  # 400 distinct ones sent
    said = add(RequestView("POST", "/pets", "", (("Content-Type", "text/x-199"),), body))
    assert said[0]["message"].startswith("Content-Type text/x-199 is not one")
