"""xpath, form and multipart body matchers: each holds or fails with what differed, hostile XML
is refused quickly, bad shapes are located load errors, and the match budget stops them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver.core import bodymatchers
from mockserver.core.budget import BudgetExceeded, end_match_budget, start_match_budget
from mockserver.core.errors import Problem, Problems
from mockserver.core.matching import differences, request_holds
from mockserver.core.patterns import Pattern, Value
from mockserver.core.patternspec import parse_pattern
from mockserver.core.request import RequestView

from .builders import problems_of, stub_of, write

ORDER = b"""<?xml version="1.0" encoding="UTF-8"?>
<order id="7" xmlns:s="urn:shipping">
  <item sku="B-2"><name>Bolt</name><qty>10</qty></item>
  <item sku="A-1"><name>Anchor</name><qty>1</qty></item>
  <s:address>10 Downing St</s:address>
</order>"""


def pattern(raw: Any) -> Pattern:
    errors = Problems("<test>")
    built = parse_pattern(raw, ("body",), errors)
    assert errors.items == []
    assert built is not None
    return built


def body_request(body: bytes, content_type: str | None = None) -> RequestView:
    headers = [] if content_type is None else [("Content-Type", content_type)]
    return RequestView("POST", "/x", headers=headers, body=body)


def check(raw: Any, body: bytes, content_type: str | None = None) -> str | None:
    return pattern(raw).check(Value.of_body(body_request(body, content_type)))


def prepared(**kwargs: Any) -> RequestView:
    """A request body and Content-Type exactly as ``requests`` builds them (data=, files=)."""
    built = requests.Request("POST", "http://test.invalid/x", **kwargs).prepare()
    body = built.body.encode() if isinstance(built.body, str) else built.body or b""
    return RequestView("POST", "/x", headers=list(built.headers.items()), body=body)


# ---------------------------------------------------------------------------------------------
# xpath


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param({"/order/item/@sku": "A-1"}, id="attribute-any-node"),
        pytest.param({"/order/@id": 7}, id="number-literal-as-text"),
        pytest.param({"/order/item[2]/name": "Anchor"}, id="element-string-value"),
        pytest.param({"//item[qty > 5]/name/text()": {"regex": "^B"}}, id="predicate-regex"),
        pytest.param({"count(//item)": 2}, id="function-result"),
        pytest.param({"/order/item/name": {"contains": "anch", "case_insensitive": True}}, id="ci"),
        pytest.param({"/order/s:address": "10 Downing St", "namespaces": {"s": "urn:shipping"}}),
        pytest.param({"/order/missing": {"absent": True}}, id="absent-node"),
        pytest.param("/order/item", id="bare-path-must-select"),
    ],
)
def test_xpath_holds(raw: Any) -> None:
    assert check({"xpath": raw}, ORDER, "application/xml") is None


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ({"/order/item/@sku": "C-3"}, '/order/item/@sku: expected "C-3", got "B-2"'),
        ({"/order/nothing": "x"}, '/order/nothing selects nothing: expected "x", but it is absent'),
        ({"count(//item)": 3}, 'count(//item): expected "3", got "2"'),
        ({"/order/@id": {"regex": "^[0-6]$"}}, '/order/@id: "7" does not match regex ^[0-6]$'),
    ],
)
def test_xpath_misses_say_what_differed(raw: Any, why: str) -> None:
    assert check({"xpath": raw}, ORDER) == why


def test_namespaced_elements_need_their_namespace() -> None:
    # XPath 1.0 semantics (WireMock's too): an unprefixed name means "no namespace".
    body = b'<order xmlns="urn:orders"><id>7</id></order>'
    assert check({"xpath": {"/order/id": 7}}, body) == (
        '/order/id selects nothing: expected "7", but it is absent'
    )
    assert check({"xpath": {"/o:order/o:id": 7, "namespaces": {"o": "urn:orders"}}}, body) is None


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"", "the body is empty, expected XML"),
        (b"{}", "the body is not XML (not well-formed (invalid token): line 1, column 0)"),
        (b"<order><item></order>", "the body is not XML (mismatched tag: line 1, column 15)"),
    ],
)
def test_a_body_that_is_not_xml_is_a_miss_with_its_reason(body: bytes, why: str) -> None:
    assert check({"xpath": {"/order": "x"}}, body) == why


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]><lolz>&lol9;</lolz>"""


def external_entity(secret: Path) -> bytes:
    return (
        f'<?xml version="1.0"?><!DOCTYPE user [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        "<user>&xxe;</user>"
    ).encode()


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param(lambda _: BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(external_entity, id="external-entity-file"),
        pytest.param(
            lambda _: b'<!DOCTYPE user SYSTEM "http://127.0.0.1:9/evil.dtd"><user>x</user>',
            id="external-dtd",
        ),
        pytest.param(lambda _: b"<!DOCTYPE user><user>Ada</user>", id="bare-dtd"),
    ],
)
def test_dtds_and_entities_are_refused_quickly(hostile: Any, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    # /user/text() equals the secret only if the entity were read: a refusal must come first.
    matcher = pattern({"xpath": {"/user": {"not": {"contains": "lol"}}, "/user/text()": "x"}})
    started = time.perf_counter()
    why = matcher.check(Value.of_body(body_request(hostile(secret), "application/xml")))
    elapsed = time.perf_counter() - started
    assert why is not None
    assert why.startswith("the XML body has a DTD (<!DOCTYPE ")
    assert why.endswith(
        "DTDs and entities are refused (never expanded or fetched), so it counts as no match"
    )
    assert "TOP-SECRET" not in why
    assert elapsed < 0.1


# ---------------------------------------------------------------------------------------------
# form


def test_form_fields_hold_as_literals_or_matchers() -> None:
    request = prepared(data={"user": "ada", "password": "correct horse", "tag": ["a", "b"]})
    matcher = pattern({"form": {"user": "ada", "password": {"regex": ".{8,}"}, "tag": "b"}})
    assert matcher.check(Value.of_body(request)) is None


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (
            {"password": {"regex": ".{8,}"}},
            'form field password: "short" does not match regex .{8,}',
        ),
        ({"user": "bob"}, 'form field user: expected "bob", got "ada"'),
        ({"tag": "c"}, 'form field tag: expected "c", got "a"'),
        ({"remember": "on"}, 'form field remember: expected "on", but it is absent'),
        ({"remember": {"absent": True}, "user": "ada"}, None),
    ],
)
def test_form_misses_name_the_field(raw: Any, why: str | None) -> None:
    request = prepared(data={"user": "ada", "password": "short", "tag": ["a", "b"]})
    assert pattern({"form": raw}).check(Value.of_body(request)) == why


def test_a_body_sent_as_another_type_is_not_a_form() -> None:
    assert check({"form": {"user": "ada"}}, b'{"user": "ada"}', "application/json") == (
        "the body is not a form (application/x-www-form-urlencoded), its Content-Type is "
        '"application/json"'
    )


# ---------------------------------------------------------------------------------------------
# multipart

UPLOAD: Any = {
    "data": {"description": "the invoice for May", "note": ["one", "two"]},
    "files": {"file": ("a.pdf", b"%PDF-1.7\n\xff\xfe binary", "application/pdf")},
}


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param({"description": {"contains": "invoice"}}, id="part-body-matcher"),
        pytest.param({"note": "two"}, id="several-parts-one-name"),
        pytest.param({"description": {"contains": "INVOICE", "case_insensitive": True}}, id="ci"),
        pytest.param({"file": {"filename": "a.pdf", "body": {"contains": "%PDF"}}}, id="file"),
        pytest.param({"file": {"content_type": "application/pdf"}}, id="content-type"),
        pytest.param({"file": {"filename": {"regex": r"\.pdf$"}}}, id="filename-regex"),
    ],
)
def test_multipart_holds(raw: Any) -> None:
    assert pattern({"multipart": raw}).check(Value.of_body(prepared(**UPLOAD))) is None


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (
            {"description": {"contains": "receipt"}},
            'part description: "the invoice for May" does not contain "receipt"',
        ),
        ({"file": {"filename": "b.pdf"}}, 'part file: filename: expected "b.pdf", got "a.pdf"'),
        (
            {"photo": {"filename": "a.png"}},
            "no part named 'photo' (parts: description, file, note)",
        ),
        (
            {"description": {"filename": "x"}},
            'part description: filename: expected "x", but it is absent',
        ),
    ],
)
def test_multipart_misses_name_the_part(raw: Any, why: str) -> None:
    assert pattern({"multipart": raw}).check(Value.of_body(prepared(**UPLOAD))) == why


@pytest.mark.parametrize(
    ("body", "content_type", "why"),
    [
        (
            b"a=1",
            "application/x-www-form-urlencoded",
            "the body is not multipart/form-data, its Content-Type is "
            '"application/x-www-form-urlencoded"',
        ),
        (b"x", "multipart/form-data", "the multipart/form-data Content-Type names no boundary"),
        (
            b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx",
            "multipart/form-data; boundary=b",
            "the multipart body is malformed (Unexpected end of multipart stream (parser closed))",
        ),
    ],
)
def test_a_body_that_is_not_multipart_is_a_miss(body: bytes, content_type: str, why: str) -> None:
    assert check({"multipart": {"a": "x"}}, body, content_type) == why


def test_too_many_parts_are_refused() -> None:
    many = {"data": [("p", str(i)) for i in range(bodymatchers.MAX_PARTS + 1)]}
    built = requests.Request(
        "POST", "http://test.invalid/", files={"f": ("f", b"x")}, **many
    ).prepare()
    request = RequestView("POST", "/", headers=list(built.headers.items()), body=built.body or b"")
    why = pattern({"multipart": {"p": "1"}}).check(Value.of_body(request))
    assert why is not None
    assert why.startswith("the multipart body is refused: ")
    assert why.endswith(f"(at most {bodymatchers.MAX_PARTS} parts of 16 header lines each)")


def test_a_part_with_too_many_header_lines_is_refused() -> None:
    lines = "".join(f"X-H{i}: v\r\n" for i in range(bodymatchers.MAX_PART_HEADERS + 1))
    body = f'--b\r\nContent-Disposition: form-data; name="a"\r\n{lines}\r\nx\r\n--b--\r\n'
    why = check({"multipart": {"a": "x"}}, body.encode(), "multipart/form-data; boundary=b")
    assert why is not None
    assert why.startswith("the multipart body is refused: ")


@pytest.mark.parametrize(
    ("body", "value"),
    [(b"user=ada+lovelace", "ada lovelace"), (b"user=%C3%A9", "\u00e9"), (b"user=", "")],
)
def test_form_values_are_decoded(body: bytes, value: str) -> None:
    assert check({"form": {"user": value}}, body, "application/x-www-form-urlencoded") is None


# ---------------------------------------------------------------------------------------------
# budget, stubs, near misses, load errors


@pytest.mark.parametrize(
    ("raw", "request_of"),
    [
        ({"xpath": {"/order": "x"}}, lambda: body_request(ORDER)),
        ({"form": {"user": "ada"}}, lambda: prepared(data={"user": "ada"})),
        ({"multipart": {"file": "x"}}, lambda: prepared(**UPLOAD)),
    ],
)
def test_a_spent_budget_stops_the_reading(raw: Any, request_of: Any) -> None:
    matcher = pattern(raw)
    token = start_match_budget(0.0)
    try:
        with pytest.raises(BudgetExceeded):
            matcher.check(Value.of_body(request_of()))
    finally:
        end_match_budget(token)


def test_a_large_xml_body_stops_at_the_budget() -> None:
    items = b"".join(b'<item sku="%d"><n>x</n></item>' % i for i in range(100_000))
    request = body_request(b"<r>" + items + b"</r>")
    matcher = pattern({"xpath": {"//item/@sku": "99999"}})
    token = start_match_budget(0.1)
    started = time.perf_counter()
    try:
        with pytest.raises(BudgetExceeded):
            matcher.check(Value.of_body(request))
    finally:
        end_match_budget(token)
    assert time.perf_counter() - started < 0.5


def test_the_body_is_read_once_per_request_however_many_stubs_look() -> None:
    request = body_request(ORDER)
    first = pattern({"xpath": {"/order/@id": 7}})
    first.check(Value.of_body(request))
    reading = request.reading("xml", lambda _: pytest.fail("read twice"))
    assert pattern({"xpath": {"/order/@id": 7}}).check(Value.of_body(request)) is None
    assert reading is request.reading("xml", lambda _: None)


def test_a_stub_matches_and_explains_its_miss() -> None:
    stub = stub_of({"request": {"path": "/x", "body": {"xpath": {"/order/item/@sku": "Z-9"}}}})
    assert not request_holds(stub.request, body_request(ORDER))
    (difference,) = differences(stub, body_request(ORDER))
    assert difference.field == "body"
    assert difference.expected == 'xpath /order/item/@sku equals "Z-9"'
    assert difference.why == '/order/item/@sku: expected "Z-9", got "B-2"'
    assert request_holds(stub.request, body_request(ORDER.replace(b"B-2", b"Z-9")))


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        ('{xpath: {"/order[": 1}}', "request.body.xpath./order[", "invalid XPath '/order[': "),
        ('{xpath: {"/p:x": 1}}', "request.body.xpath./p:x", "prefix 'p' is not declared"),
        ("{xpath: [1]}", "request.body.xpath", "xpath takes a mapping of XPath to value"),
        (
            "{xpath: {namespaces: {s: 1}, /a: 1}}",
            "request.body.xpath.namespaces",
            "namespaces maps",
        ),
        ("{form: [user]}", "request.body.form", "form takes a mapping of field name to value"),
        ("{form: {user: {regx: a}}}", "request.body.form.user.regx", "unknown matcher 'regx'"),
        (
            "{multipart: {f: {filename: a, size: 1}}}",
            "request.body.multipart.f.size",
            "unknown part key 'size'; a part takes body, filename, content_type",
        ),
        (
            "{multipart: {f: [1]}}",
            "request.body.multipart.f",
            "expected a string or a matcher mapping",
        ),
    ],
)
def test_bad_shapes_are_located_load_errors(
    tmp_path: Path, body: str, key: str, message: str
) -> None:
    path = write(
        tmp_path, "svc.yaml", f"stubs:\n  - id: s\n    request: {{path: /x, body: {body}}}\n"
    )
    (problem,) = problems_of(path)
    assert (problem.stub, problem.key, problem.line) == ("'s'", key, 3)
    assert message in problem.message


def test_sha256_matches_a_body_by_its_bytes_exactly() -> None:
    import hashlib

    from mockserver.core.patterns import Value
    from mockserver.core.patternspec import parse_pattern
    from mockserver.core.request import RequestView

    body = bytes(range(256))
    errors = Problems("<test>")
    pattern = parse_pattern({"sha256": hashlib.sha256(body).hexdigest()}, ("b",), errors)
    assert errors.items == []
    assert pattern is not None
    assert pattern.check(Value.of_body(RequestView("POST", "/", "", (), body))) is None
    other = pattern.check(Value.of_body(RequestView("POST", "/", "", (), body[:-1])))
    assert other is not None
    assert "(255 bytes)" in other
    parse_pattern({"sha256": "ABC"}, ("b",), errors)
    message = "sha256 takes 64 lowercase hex digits (hashlib.sha256(...).hexdigest())"
    assert errors.items == [Problem("<test>", message, key="b.sha256")]
