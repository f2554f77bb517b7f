"""oasload, oasgenerate, oasvalidate: an OpenAPI document → stubs, generated bodies, and the
violations of requests, without a server."""

from __future__ import annotations

import json
import uuid
from functools import partial
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30ReadValidator, OAS31Validator

from mockserver.core.errors import StubFileError
from mockserver.core.model import Stub
from mockserver.core.request import RequestView
from mockserver.formats.openapi.generate import generate
from mockserver.formats.openapi.load import load_openapi, parse_openapi, read_openapi
from mockserver.formats.openapi.responses import response_misfits
from mockserver.formats.openapi.validate import BodyRule
from mockserver.stubfiles.documents import read_document
from mockserver.stubfiles.stubfile import parse_service
from tests.openapi_docs import PETSTORE, SHAPES_31


def load(text: str, name: str = "api") -> list[Stub]:
    data, marks = read_document(text, f"{name}.yaml", is_json=False)
    service, stubs, problems = parse_openapi(data, f"{name}.yaml", name, marks)
    assert not problems, [str(p) for p in problems]
    assert service is not None
    assert service.name == name
    return stubs


def problems_of(text: str) -> list[str]:
    data, marks = read_document(text, "api.yaml", is_json=False)
    service, stubs, problems = parse_openapi(data, "api.yaml", "api", marks)
    assert service is None
    assert stubs == []
    return [str(p) for p in problems]


def by_route(stubs: list[Stub]) -> dict[str, Stub]:
    return {s.describe_route(): s for s in stubs}


def request(
    method: str, path: str, query: str = "", body: Any = None, **headers: str
) -> RequestView:
    raw = b"" if body is None else json.dumps(body).encode()
    items = [(k.replace("_", "-"), v) for k, v in headers.items()]
    if body is not None:
        items.append(("Content-Type", "application/json"))
    return RequestView(method, path, query, tuple(items), raw)


def violations(stub: Stub, view: RequestView) -> list[dict[str, str]]:
    assert stub.check is not None
    return stub.check(view)


def test_every_petstore_operation_is_a_stub_with_its_template_and_chosen_status() -> None:
    stubs = by_route(load(PETSTORE, "petstore"))
    assert sorted(stubs) == ["DELETE /pets/{id}", "GET /pets", "GET /pets/{id}", "POST /pets"]
    assert stubs["GET /pets"].id == "findPets"
    assert stubs["DELETE /pets/{id}"].response.status == 204  # the first 2xx, not default
    assert stubs["DELETE /pets/{id}"].response.body == b""
    # "find pet by id" is no stub id (spaces): the stub gets a derived one.
    assert stubs["GET /pets/{id}"].id.startswith("petstore-get-pets-id-")


def test_an_example_is_served_as_written() -> None:
    stubs = by_route(load(PETSTORE))
    assert json.loads(stubs["GET /pets/{id}"].response.body) == {
        "id": 7,
        "name": "Rex",
        "tag": "dog",
    }
    shapes = by_route(load(SHAPES_31))
    # examples: the first of them.
    assert json.loads(shapes["POST /shapes"].response.body) == {"kind": "circle", "radius": 2.5}
    assert shapes["POST /shapes"].response.status == 201


def test_generated_bodies_fit_their_schemas_and_repeat() -> None:
    doc = yaml.safe_load(PETSTORE)
    stubs = by_route(load(PETSTORE))
    pets = json.loads(stubs["GET /pets"].response.body)
    schema = doc["paths"]["/pets"]["get"]["responses"]["200"]["content"]["application/json"]
    OAS30ReadValidator({**schema["schema"], "components": doc["components"]}).validate(pets)
    assert pets
    assert {"id", "name"} <= set(pets[0])
    again = by_route(load(PETSTORE))
    assert again["GET /pets"].response.body == stubs["GET /pets"].response.body


def test_generated_31_body_honours_formats_bounds_and_oneof() -> None:
    doc = yaml.safe_load(SHAPES_31)
    shapes = json.loads(by_route(load(SHAPES_31))["GET /shapes"].response.body)
    assert len(shapes) == 2  # minItems
    circle = shapes[0]
    assert circle["kind"] == "circle"  # oneOf: the first branch; const
    assert circle["radius"] > 0  # exclusiveMinimum
    uuid.UUID(circle["id"])
    assert circle["created"].endswith("Z")
    assert "@" in circle["owner"]
    assert circle["size"] == "small"  # the first enum value
    assert len(circle["tags"]) == 3
    assert all(len(t) >= 8 for t in circle["tags"])
    assert shapes[0]["id"] != shapes[1]["id"]  # uuids differ by position
    schema = {"$ref": "#/components/schemas/Circle", "components": doc["components"]}
    OAS31Validator(schema).validate(circle)


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "integer", "minimum": 10, "maximum": 20}, 10),
        ({"type": "integer", "maximum": -5}, -5),
        ({"type": "integer", "minimum": 3, "exclusiveMinimum": True}, 4),  # 3.0 flag
        ({"type": "number", "exclusiveMaximum": 1}, 0.5),  # 3.1 bound
        ({"type": "integer", "minimum": 5, "multipleOf": 4}, 8),
        ({"type": "string", "maxLength": 3}, "str"),
        ({"type": "string", "nullable": True}, "string"),
        ({"type": ["null", "boolean"]}, True),
        ({"type": "array", "items": {"type": "integer"}, "maxItems": 0}, []),
        ({"anyOf": [{"type": "boolean"}, {"type": "string"}]}, True),
        ({"enum": ["b", "a"]}, "b"),
        ({"type": "object", "required": ["x"]}, {"x": "string"}),
    ],
)
def test_generate_honours_the_schema(schema: dict[str, Any], expected: Any) -> None:
    assert generate(schema, lambda ref: {}) == expected


def test_a_self_referencing_schema_ends() -> None:
    tree = {"type": "object", "properties": {"name": {"type": "string"}, "child": {"$ref": "#/T"}}}
    value = generate({"$ref": "#/T"}, lambda ref: tree)
    assert value == {"name": "string"}


def test_parameters_are_read_in_their_styles_and_checked() -> None:
    stubs = by_route(load(PETSTORE))
    find = stubs["GET /pets"]
    assert violations(find, request("GET", "/pets", "limit=10&tags=a&tags=b")) == []
    assert violations(find, request("GET", "/pets", "limit=ten")) == [
        {"in": "query", "name": "limit", "message": "'ten' is not of type 'integer'"}
    ]
    one = stubs["GET /pets/{id}"]
    assert violations(one, request("GET", "/pets/12")) == []
    assert violations(one, request("GET", "/pets/rex")) == [
        {"in": "path", "name": "id", "message": "'rex' is not of type 'integer'"}
    ]


def test_header_and_enum_violations_come_together() -> None:
    shapes = by_route(load(SHAPES_31))
    found = violations(shapes["GET /shapes"], request("GET", "/shapes", "kind=triangle"))
    assert found == [
        {"in": "query", "name": "kind", "message": "'triangle' is not one of ['circle', 'square']"},
        {"in": "header", "name": "X-Request-Id", "message": "a required parameter is missing"},
    ]
    ok = request("GET", "/shapes", "kind=square", X_Request_Id=str(uuid.uuid4()))
    assert violations(shapes["GET /shapes"], ok) == []
    bad = request("GET", "/shapes", X_Request_Id="not-a-uuid")
    assert violations(shapes["GET /shapes"], bad)[0]["message"] == "'not-a-uuid' is not a 'uuid'"


def test_body_violations_name_json_pointers() -> None:
    add = by_route(load(PETSTORE))["POST /pets"]
    assert violations(add, request("POST", "/pets", body={"name": "Rex"})) == []
    assert violations(add, request("POST", "/pets", body={"tag": 5})) == [
        {"in": "body", "pointer": "", "message": "'name' is a required property"},
        {"in": "body", "pointer": "/tag", "message": "5 is not of type 'string'"},
    ]
    assert violations(add, request("POST", "/pets")) == [
        {"in": "body", "pointer": "", "message": "a request body is required"}
    ]
    # The operation takes a body alone: its stub calls the body's check itself, and the
    # petstore's body schema ($ref, allOf-free) is compiled for the fast path too.
    assert isinstance(add.check, partial)
    (rule,) = add.check.args
    assert isinstance(rule, BodyRule)
    built = rule.validators["application/json"]._built
    assert built is not None
    assert built[0] is not None
    text = RequestView("POST", "/pets", "", (("Content-Type", "text/plain"),), b"Rex")
    assert violations(add, text)[0]["message"].startswith("Content-Type text/plain is not one")


def test_a_oneof_miss_names_the_closest_branch() -> None:
    add = by_route(load(SHAPES_31))["POST /shapes"]
    square = request("POST", "/shapes", body={"kind": "square", "side": 0})
    assert violations(add, square) == [
        {"in": "body", "pointer": "/side", "message": "0 is less than the minimum of 1"}
    ]
    assert violations(add, request("POST", "/shapes", body={"kind": "circle", "radius": 1})) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("openapi: 2.0", "#/openapi: mockserver serves OpenAPI 3.0 and 3.1 documents"),
        ("swagger: '2.0'", "#/swagger: Swagger 2.0 is not served; convert it to OpenAPI 3"),
        ("paths: {}", "#/paths: the document has no paths to serve"),
        (
            "paths: {/a: {get: {responses: {'200': {$ref: 'other.yaml#/R'}}}}}",
            "#/paths/~1a/get/responses/200/$ref: $ref 'other.yaml#/R' points outside the document",
        ),
        (
            "paths: {/a: {get: {responses: {'200': {$ref: '#/components/responses/R'}}}}}",
            "names nothing in the document",
        ),
        (
            "paths: {/a: {get: {responses: {'404': {description: no}}}}}",
            "#/paths/~1a/get/responses: no 2xx or default response to serve",
        ),
    ],
)
def test_a_document_that_cannot_be_served_is_a_located_error(change: str, expected: str) -> None:
    version = "" if change.startswith(("openapi", "swagger")) else "openapi: 3.0.3\n"
    text = version + "info: {title: t, version: '1'}\n" + change + "\n"
    if not change.startswith("paths"):
        text += "paths: {/a: {get: {responses: {'200': {description: ok}}}}}\n"
    found = problems_of(text)
    assert len(found) == 1, found
    assert expected in found[0]
    assert found[0].startswith("api.yaml:")  # and a line


def test_load_openapi_refuses_a_stub_file(tmp_path: Any) -> None:
    stub_file = tmp_path / "s.yaml"
    stub_file.write_text("stubs: []\n")
    with pytest.raises(StubFileError, match="not an OpenAPI document"):
        load_openapi(str(stub_file))


NULLABLE_AND_RECURSIVE = """\
openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /nodes:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Node"}
      responses:
        "200": {description: ok}
  /notes:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                note: {type: string, nullable: true}
                size: {type: string, nullable: true, enum: [s, m]}
      responses:
        "200": {description: ok}
  /secrets:
    post:
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [id]
              properties:
                id: {type: integer, readOnly: true}
      responses:
        "200": {description: ok}
components:
  schemas:
    Node:
      type: object
      required: [name]
      properties:
        name: {type: string}
        children: {type: array, items: {$ref: "#/components/schemas/Node"}}
"""


def test_the_compiled_fast_path_never_decides_what_the_openapi_validator_would_not() -> None:
    stubs = by_route(load(NULLABLE_AND_RECURSIVE))
    nodes, notes = stubs["POST /nodes"], stubs["POST /notes"]
    # A recursive schema has no fast path: the OpenAPI validator alone, at every depth.
    deep = {"name": "a", "children": [{"name": "b", "children": [{"children": []}]}]}
    assert violations(nodes, request("POST", "/nodes", body=deep)) == [
        {
            "in": "body",
            "pointer": "/children/0/children/0",
            "message": "'name' is a required property",
        }
    ]
    assert violations(nodes, request("POST", "/nodes", body={"name": "a", "children": []})) == []
    # 3.0's nullable: null passes, but not into an enum that does not list it (3.0.3).
    assert violations(notes, request("POST", "/notes", body={"note": None, "size": "s"})) == []
    assert violations(notes, request("POST", "/notes", body={"size": None})) == [
        {"in": "body", "pointer": "/size", "message": "None is not one of ['s', 'm']"}
    ]
    # readOnly (3.0): a request need not send a required read-only property.
    secrets = stubs["POST /secrets"]
    assert violations(secrets, request("POST", "/secrets", body={})) == []


def test_specification_extensions_under_paths_are_not_paths() -> None:
    text = (
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\n"
        "paths:\n  x-owner: team-a\n  /a: {get: {responses: {'200': {description: ok}}}}\n"
    )
    assert [s.describe_route() for s in load(text)] == ["GET /a"]


UNQUOTED = """\
openapi: 3.1
info: {title: t, version: "1"}
paths:
  /things:
    get:
      responses:
        200:
          description: ok
          content:
            application/json:
              schema: {type: object, required: [id], properties: {id: {type: integer}}}
"""


def test_unquoted_yaml_numbers_read_as_the_text_they_are() -> None:
    (stub,) = load(UNQUOTED)
    assert stub.response.status == 200
    assert json.loads(stub.response.body) == {"id": 1}
    data, marks = read_document(UNQUOTED, "api.yaml", is_json=False)
    doc = read_openapi(data, "api.yaml", marks)
    _, mine, _ = parse_service(
        {
            "stubs": [
                {
                    "id": "t",
                    "request": {"method": "GET", "path": "/things"},
                    "response": {"json": {"id": "x"}},
                }
            ]
        },
        "stubs.yaml",
        "things",
        lambda p: b"",
    )
    assert [str(p) for p in response_misfits(doc, mine)] == [
        "stubs.yaml: stub 't': response.json: GET /things: "
        "response 200, body /id: 'x' is not of type 'integer'"
    ]
