"""Plain path parameters (``{type: integer}``, ``{type: string}``...) checked by a text test
instead of the validators: it must never pass what they refuse, and a request must get the
same violations either way."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mockserver.core.request import RequestView
from mockserver.formats.openapi.load import read_openapi
from mockserver.formats.openapi.plain import text_test
from mockserver.formats.openapi.validate import OperationCheck, _scalar

PLAIN = [
    {"type": "integer"},
    {"type": "integer", "format": "int32"},
    {"type": "integer", "format": "int64", "description": "an id", "x-note": 1},
    {"type": "string", "example": "abc"},
    {"type": "boolean", "default": True},
]
NOT_PLAIN = [
    {"type": "integer", "minimum": 1},
    {"type": "integer", "format": "int32", "nullable": True},
    {"type": "string", "format": "uuid"},
    {"type": "string", "pattern": "^a"},
    {"type": "boolean", "format": "int32"},
    {"type": "number"},
    {"$ref": "#/components/schemas/Id"},
    {"enum": ["a", "b"]},
]
VERSIONS = ["3.0.3", "3.1.0"]


def operation(schema: dict[str, Any], version: str) -> OperationCheck:
    param = {"name": "id", "in": "path", "required": True, "schema": schema}
    document = {
        "openapi": version,
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/things/{id}": {
                "get": {
                    "parameters": [param],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
        "components": {"schemas": {"Id": {"type": "integer"}}},
    }
    return read_openapi(document, "t.yaml").operations[0].check


def expected(check: OperationCheck, text: str) -> list[dict[str, str]]:
    """What the validators say of the parameter: the OpenAPI validator's first message."""
    param = check.params[0]
    assert param.validator is not None
    for error in param.validator.reasons(_scalar(text, param.kind)):
        return [{"in": "path", "name": "id", "message": error.message}]
    return []


CHECKS = {(v, i): operation(s, v) for v in VERSIONS for i, s in enumerate(PLAIN + NOT_PLAIN)}
SEGMENT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/?#"), min_size=1
)
NUMERAL = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from([str(2**31 - 1), str(2**31), str(-(2**31)), str(-(2**31) - 1)]),
    st.sampled_from([str(2**63 - 1), str(2**63), str(-(2**63)), str(-(2**63) - 1)]),
    st.sampled_from(["007", "-0", "٣", "1e3", "1.0", " 1", "1\n", "true", "false", "True"]),
)


@pytest.mark.parametrize("schema", PLAIN)
@pytest.mark.parametrize("version", VERSIONS)
def test_a_plain_schema_is_seen_as_plain(schema: dict[str, Any], version: str) -> None:
    validator = operation(schema, version).params[0].validator
    assert validator is not None
    assert validator.plain() == (schema["type"], schema.get("format", ""))


@pytest.mark.parametrize("schema", NOT_PLAIN)
@pytest.mark.parametrize("version", VERSIONS)
def test_any_other_keyword_leaves_the_verdict_to_the_validators(
    schema: dict[str, Any], version: str
) -> None:
    check = operation(schema, version)
    assert check.params[0].validator is not None
    assert check.params[0].validator.plain() is None
    assert text_test(check.params[0].validator, check.params[0].kind) is None


@settings(max_examples=400, deadline=None)
@given(
    version=st.sampled_from(VERSIONS),
    index=st.integers(0, len(PLAIN) + len(NOT_PLAIN) - 1),
    text=st.one_of(NUMERAL, SEGMENT),
)
@example(version="3.0.3", index=1, text=str(2**31))
@example(version="3.1.0", index=2, text=str(2**63))
@example(version="3.0.3", index=0, text="1" * 5000)  # more digits than int() reads
@example(version="3.0.3", index=7, text="0")  # uuid: no Draft 4 format, the OpenAPI checker's
def test_the_text_test_agrees_with_the_validators(version: str, index: int, text: str) -> None:
    check = CHECKS[(version, index)]
    said = expected(check, text)
    # Served, the text test answers for plain schemas and the validators for the rest.
    assert check(RequestView("GET", "/things/" + text)) == said
    param = check.params[0]
    test = text_test(param.validator, param.kind) if param.validator is not None else None
    if test is not None and test(text):
        assert said == [], (text, said)  # never passes what the validators refuse
    elif test is not None and len(text) < 19:  # short texts: it decides them all
        assert said != [], text


@pytest.mark.parametrize("version", VERSIONS)
def test_int64_out_of_range_is_refused_by_the_fast_validator_too(version: str) -> None:
    # Not plain (minimum), so jsonschema-rs decides first: it knows no int64 on its own.
    check = operation({"type": "integer", "format": "int64", "minimum": 0}, version)
    assert check(RequestView("GET", f"/things/{2**63 - 1}")) == []
    big = 2**63
    assert check(RequestView("GET", f"/things/{big}")) == [
        {"in": "path", "name": "id", "message": f"{big} is not a 'int64'"}
    ]
    assert check.params[0].validator is not None
    assert check.params[0].validator.accepts(2**63 - 1)
    assert not check.params[0].validator.accepts(big)


@pytest.mark.parametrize("kind", ["integer", "number"])
def test_a_numeral_too_long_to_read_is_refused_not_raised(kind: str) -> None:
    check = operation({"type": kind, "minimum": 0}, "3.1.0")
    found = check(RequestView("GET", "/things/" + "9" * 5000))
    assert [v["message"].endswith(f"is not of type '{kind}'") for v in found] == [True]


def owners_check() -> OperationCheck:
    def param(name: str, kind: str) -> dict[str, Any]:
        return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}

    operation = {
        "parameters": [param("owner", "string"), param("id", "integer")],
        "responses": {"200": {"description": "ok"}},
    }
    document = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {"/owners/{owner}/pets/{id}": {"get": operation}},
    }
    return read_openapi(document, "t.yaml").operations[0].check


MISSING = "a required parameter is missing"


@pytest.mark.parametrize(
    ("path", "violations"),
    [
        ("/owners/ann/pets/2", []),
        ("/owners/ann/pets/2/", []),  # the trailing slash the path regex allows
        ("/owners/ann/pets/x", [("id", "'x' is not of type 'integer'")]),
        ("/owners/ann/cats/2", [("owner", MISSING), ("id", MISSING)]),  # not the template's
        ("/owners//pets/2", [("owner", MISSING), ("id", MISSING)]),
        ("/owners/ann/pets/2/more", [("owner", MISSING), ("id", MISSING)]),
    ],
)
def test_path_texts_are_read_from_the_template_segments_only(
    path: str, violations: list[tuple[str, str]]
) -> None:
    found = owners_check()(RequestView("GET", path))
    assert [(v["name"], v["message"]) for v in found] == violations
