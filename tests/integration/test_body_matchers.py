"""xpath, form and multipart stubs on a real server: bodies built by requests and aiohttp, the
near-miss report, the admin API (stubs and counts) and hostile XML."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from mockserver import MockServer

from .admin_helpers import Admin, assert_error, serve, write_stubs

STUBS = """
    service: docs
    stubs:
      - id: order
        request:
          method: POST
          path: /orders
          body:
            xpath:
              /o:order/o:item/@sku: A-1
              count(//o:item): {regex: "^[1-3]$"}
              namespaces: {o: "urn:orders"}
        response: {json: {kind: xml}}
      - id: login
        request:
          method: POST
          path: /login
          body: {form: {user: ada, password: {regex: ".{8,}"}}}
        response: {json: {kind: form}}
      - id: upload
        request:
          method: POST
          path: /upload
          body:
            multipart:
              description: {contains: invoice}
              file: {filename: a.pdf, body: {contains: "%PDF"}}
        response: {json: {kind: multipart}}
"""

ORDER = b"""<?xml version="1.0"?>
<order xmlns="urn:orders"><item sku="B-2"/><item sku="A-1"/></order>"""
XML = {"Content-Type": "application/xml"}
PDF = ("a.pdf", b"%PDF-1.7\n\x00\xff binary", "application/pdf")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MockServer]:
    with serve(write_stubs(tmp_path / "stubs", {"docs.yaml": STUBS})) as server:
        yield server


@pytest.fixture
def admin(server: MockServer) -> Iterator[Admin]:
    with Admin(server.url) as admin:
        yield admin


def first_difference(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 404, answer.text
    nearest = answer.json()["nearest"][0]
    return nearest["first_difference"]  # type: ignore[no-any-return]


def test_requests_bodies_match(admin: Admin) -> None:
    assert admin.mock("POST", "/orders", data=ORDER, headers=XML).json() == {"kind": "xml"}
    login = {"user": "ada", "password": "correct horse"}
    assert admin.mock("POST", "/login", data=login).json() == {"kind": "form"}
    upload = admin.mock("POST", "/upload", data={"description": "invoice 7"}, files={"file": PDF})
    assert upload.json() == {"kind": "multipart"}


def test_aiohttp_bodies_match(server: MockServer) -> None:
    async def main() -> list[Any]:
        form = aiohttp.FormData()
        form.add_field("description", "the invoice")
        form.add_field("file", PDF[1], filename=PDF[0], content_type=PDF[2])
        calls: list[tuple[str, dict[str, Any]]] = [
            ("/orders", {"data": ORDER, "headers": XML}),
            ("/login", {"data": {"user": "ada", "password": "12345678"}}),
            ("/upload", {"data": form}),
        ]
        async with aiohttp.ClientSession() as session:
            found = []
            for path, kwargs in calls:
                async with session.post(server.url + path, **kwargs) as response:
                    found.append(await response.json())
            return found

    assert asyncio.run(main()) == [{"kind": "xml"}, {"kind": "form"}, {"kind": "multipart"}]


@pytest.mark.parametrize(
    ("path", "kwargs", "expected", "why"),
    [
        (
            "/orders",
            {"data": ORDER.replace(b"A-1", b"C-3"), "headers": XML},
            'xpath /o:order/o:item/@sku equals "A-1", count(//o:item) regex ^[1-3]$',
            '/o:order/o:item/@sku: expected "A-1", got "B-2"',
        ),
        (
            "/orders",
            {"data": b"<order><item sku='A-1'/></order>", "headers": XML},
            "xpath ",
            '/o:order/o:item/@sku selects nothing: expected "A-1", but it is absent',
        ),
        (
            "/orders",
            {"json": {"order": 1}},
            "xpath ",
            "the body is not XML (not well-formed (invalid token): line 1, column 0)",
        ),
        (
            "/login",
            {"data": {"user": "ada", "password": "short"}},
            "form user equals",
            'form field password: "short" does not match regex .{8,}',
        ),
        (
            "/login",
            {"json": {"user": "ada"}},
            "form ",
            "the body is not a form (application/x-www-form-urlencoded), its Content-Type is "
            '"application/json"',
        ),
        (
            "/upload",
            {"data": {"description": "invoice"}, "files": {"file": ("b.pdf", b"%PDF")}},
            'multipart description contains "invoice", file filename equals "a.pdf" and body',
            'part file: filename: expected "a.pdf", got "b.pdf"',
        ),
        (
            "/upload",
            {"files": {"file": PDF}},
            "multipart ",
            "no part named 'description' (parts: file)",
        ),
    ],
)
def test_a_miss_says_what_differed(
    admin: Admin, path: str, kwargs: dict[str, Any], expected: str, why: str
) -> None:
    difference = first_difference(admin.mock("POST", path, **kwargs))
    assert difference["field"] == "body"
    assert difference["expected"].startswith(expected)
    assert difference["why"] == why


def test_an_entity_is_refused_and_nothing_is_read(admin: Admin, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE order [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<order xmlns="urn:orders"><item sku="&x;"/></order>'
    )
    answer = admin.mock("POST", "/orders", data=xxe.encode(), headers=XML)
    assert "TOP-SECRET" not in answer.text
    why = first_difference(answer)["why"]
    assert why.startswith("the XML body has a DTD (<!DOCTYPE order ...>): DTDs and entities")


def test_admin_stubs_and_counts_use_the_matchers(admin: Admin) -> None:
    stub = {
        "request": {"method": "POST", "path": "/soap", "body": {"xpath": {"//amount": "12.50"}}},
        "response": {"body": "paid"},
    }
    admin.ok("POST", "/stubs", 201, json=stub)
    answer = admin.mock("POST", "/soap", data=b"<pay><amount>12.50</amount></pay>", headers=XML)
    assert (answer.status_code, answer.text) == (200, "paid")
    admin.mock("POST", "/login", data={"user": "ada", "password": "correct horse"})
    admin.mock("POST", "/login", data={"user": "bob", "password": "correct horse"})
    admin.mock("POST", "/upload", data={"description": "invoice"}, files={"file": PDF})

    def count(body: Any) -> int:
        found = admin.ok("POST", "/requests/count", json={"method": "POST", "body": body})
        return found["count"]  # type: ignore[no-any-return]

    assert count({"form": {"password": {"contains": "horse"}}}) == 2
    assert count({"form": {"user": "bob"}}) == 1
    assert count({"xpath": {"/pay/amount": "12.50"}}) == 1
    assert count({"multipart": {"file": {"filename": "a.pdf"}}}) == 1
    bad = {"request": {"path": "/bad", "body": {"xpath": {"/a[": 1}}}}
    problem = assert_error(admin.post("/stubs", json=bad), 422, "invalid stub")["problems"][0]
    assert problem["key"] == "request.body.xpath./a["
    assert problem["message"].startswith("invalid XPath '/a[': ")
    wrong = admin.post("/requests/count", json={"body": {"multipart": {"f": {"size": 1}}}})
    assert "unknown part key 'size'" in assert_error(wrong, 422)["problems"][0]["message"]
