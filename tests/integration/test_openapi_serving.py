"""OpenAPI documents served by a real server to real clients: examples, generated bodies,
400 with the violations, ``serve --openapi`` over ordinary stubs, ``validate --openapi``."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests
import yaml
from openapi_schema_validator import OAS30ReadValidator

from mockserver import MockServer, Settings
from tests.console import MOCKSERVER, Console, clean_env, run_console
from tests.openapi_docs import PETSTORE, SHAPES_31

from .readme import console_examples, fenced_blocks

VIOLATION = "request does not match the OpenAPI document"

PETS_STUBS = """\
service: pets
stubs:
  - id: list-pets
    request: {method: GET, path: /pets}
    response: {json: [{id: 1, name: Rex}]}
  - id: add-pet
    request: {method: POST, path: /pets}
    response: {status: 201, json: {id: 2, name: Ada}}
"""


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    (tmp_path / "petstore.yaml").write_text(PETSTORE, encoding="utf-8")
    # 3.1 as JSON, to read both encodings.
    shapes = json.dumps(yaml.safe_load(SHAPES_31))
    (tmp_path / "shapes.json").write_text(shapes, encoding="utf-8")
    return tmp_path


def settings(*paths: Path, **changes: Any) -> Settings:
    return Settings(paths=tuple(str(p) for p in paths), port=0, **changes)


@pytest.fixture
def served(docs: Path) -> Iterator[MockServer]:
    with MockServer(settings(docs)) as server:  # a directory holding both documents
        yield server


def test_examples_and_generated_bodies_are_served(served: MockServer) -> None:
    base = served.url_for("petstore")
    rex = requests.get(base + "/pets/7", timeout=5)
    assert rex.status_code == 200
    assert rex.headers["Content-Type"].startswith("application/json")
    assert rex.json() == {"id": 7, "name": "Rex", "tag": "dog"}
    pets = requests.get(base + "/pets", params={"limit": 5, "tags": "a"}, timeout=5).json()
    doc = yaml.safe_load(PETSTORE)
    schema = doc["paths"]["/pets"]["get"]["responses"]["200"]["content"]["application/json"]
    OAS30ReadValidator({**schema["schema"], "components": doc["components"]}).validate(pets)
    gone = requests.delete(base + "/pets/7", timeout=5)
    assert gone.status_code == 204
    assert gone.content == b""
    made = requests.post(served.url_for("shapes") + "/shapes", json={"kind": "square", "side": 2})
    assert made.status_code == 201
    assert made.json() == {"kind": "circle", "radius": 2.5}  # the first of its examples


def test_the_rest_of_mockserver_works_on_them(served: MockServer) -> None:
    base = served.url_for("petstore")
    first = requests.get(base + "/pets/1", timeout=5)
    again = requests.get(base + "/pets/1", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    stubs = requests.get(served.url + "/__admin/stubs", timeout=5).json()["stubs"]
    assert {"findPets", "addPet", "deletePet", "listShapes"} <= {s["id"] for s in stubs}
    miss = requests.get(base + "/pet", timeout=5)
    assert miss.status_code == 404
    assert "/pets" in miss.text  # the near misses name the operations


def generated_bodies(docs: Path, seed: int) -> dict[str, bytes]:
    key = str(uuid.uuid4())
    with MockServer(settings(docs, seed=seed)) as server:
        base = server.url_for("shapes")
        return {
            "list": requests.get(base + "/shapes", headers={"X-Request-Id": key}).content,
            "one": requests.get(base + f"/shapes/{key}", timeout=5).content,
            "pets": requests.get(server.url_for("petstore") + "/pets", timeout=5).content,
        }


def test_generated_bodies_repeat_under_a_seed(docs: Path) -> None:
    first = generated_bodies(docs, seed=3)
    assert generated_bodies(docs, seed=3) == first
    shapes = json.loads(first["list"])
    assert len(shapes) == 2  # minItems
    assert all(s["kind"] == "circle" and s["radius"] > 0 for s in shapes)
    assert json.loads(first["one"])["created"] == "2026-01-01T00:00:00Z"


def test_a_request_that_breaks_the_document_gets_400_with_its_violations(
    served: MockServer,
) -> None:
    base = served.url_for("shapes")

    async def calls() -> list[tuple[int, Any]]:
        async with aiohttp.ClientSession() as session:
            answers = []
            for method, path, kwargs in [
                ("GET", "/shapes?kind=triangle", {}),
                ("GET", "/shapes/42", {}),
                ("POST", "/shapes", {"json": {"kind": "square", "side": 500}}),
                ("POST", "/shapes", {"data": b"side=1"}),
            ]:
                async with session.request(method, base + path, **kwargs) as response:
                    answers.append((response.status, await response.json()))
            return answers

    answers = asyncio.run(calls())
    assert [status for status, _ in answers] == [400] * 4
    assert answers[0][1] == {
        "error": VIOLATION,
        "violations": [
            {
                "in": "query",
                "name": "kind",
                "message": "'triangle' is not one of ['circle', 'square']",
            },
            {"in": "header", "name": "X-Request-Id", "message": "a required parameter is missing"},
        ],
    }
    assert answers[1][1]["violations"] == [
        {"in": "path", "name": "shapeId", "message": "'42' is not a 'uuid'"}
    ]
    assert answers[2][1]["violations"] == [
        {"in": "body", "pointer": "/side", "message": "500 is greater than the maximum of 100"}
    ]
    assert answers[3][1]["violations"][0]["in"] == "body"
    journal = requests.get(served.url + "/__admin/requests", timeout=5).json()["requests"]
    refused = [e for e in journal if e["status"] == 400]
    assert len(refused) == 4
    assert all(e["matched"] is False and VIOLATION in e["error"] for e in refused)
    assert "header X-Request-Id: a required parameter is missing" in refused[0]["error"]


def test_a_document_that_cannot_be_served_stops_serve_with_a_located_error(tmp_path: Path) -> None:
    doc = tmp_path / "api.yaml"
    doc.write_text(PETSTORE.replace("'#/components/schemas/NewPet'", "'pets.yaml#/NewPet'"))
    done = run_console("serve", "--port", "0", str(doc))
    assert done.returncode == 1
    assert re.search(
        r"api\.yaml:\d+:\d+: #/paths/~1pets/post/requestBody/.*/\$ref: \$ref",
        done.stdout + done.stderr,
    )
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("via", ["option", "env"])
def test_serve_openapi_checks_requests_to_ordinary_stubs(
    docs: Path, tmp_path: Path, via: str
) -> None:
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "pets.yaml").write_text(PETS_STUBS, encoding="utf-8")
    doc = str(docs / "petstore.yaml")
    args = ["--openapi", doc] if via == "option" else []
    env = clean_env(**({"MOCKSERVER_OPENAPI": doc} if via == "env" else {}))
    with Console([MOCKSERVER, "serve", "--port", "0", *args, str(stubs)], env=env) as shell:
        line = shell.next_line(lambda text: "pets" in text and "http://" in text)
        base = re.search(r"http://\S+", line)
        assert base is not None
        url = base.group(0)
        assert requests.get(url + "/pets?limit=2", timeout=5).json() == [{"id": 1, "name": "Rex"}]
        assert requests.head(url + "/pets?limit=2", timeout=5).status_code == 200
        bad = requests.get(url + "/pets?limit=two", timeout=5)
        assert bad.status_code == 400
        assert bad.json()["violations"] == [
            {"in": "query", "name": "limit", "message": "'two' is not of type 'integer'"}
        ]
        no_name = requests.post(url + "/pets", json={"tag": "cat"}, timeout=5)
        assert no_name.status_code == 400
        assert requests.post(url + "/pets", json={"name": "Ada"}, timeout=5).status_code == 201
        journal = requests.get(url + "/__admin/requests", timeout=5).json()["requests"]
        assert [e["status"] for e in journal] == [200, 200, 400, 400, 201]
        assert "stub list-pets" in journal[2]["error"]


def test_the_readme_example_prints_what_it_shows(docs: Path) -> None:
    (example_block,) = [
        examples
        for block in fenced_blocks("console")
        if (examples := console_examples(block))[0].command == "mockserver serve petstore.yaml"
    ]
    with MockServer(settings(docs / "petstore.yaml")) as server:
        for example in example_block[1:]:
            url = shlex.split(example.command)[-1].replace("localhost:8080", server.url[7:])
            answer = requests.get("http://" + url, timeout=5)
            assert answer.text.splitlines() == list(example.output)


MISFIT_STUBS = """\
service: pets
stubs:
  - id: list-pets
    request: {method: GET, path: /pets}
    response: {json: [{id: 1, name: Rex}]}
  - id: bad-list
    request: {method: GET, path: /pets, query: {limit: "1"}}
    response: {json: [{id: one, name: Rex}]}
  - id: get-pet
    request: {method: GET, path: "/pets/{pet}"}
    responses:
      - {json: {id: 1, name: Rex}}
      - {status: 404, json: {code: 404}}
  - id: elsewhere
    request: {method: GET, path: /elsewhere}
    response: {json: {}}
"""


def test_validate_openapi_names_each_misfit_with_its_place(docs: Path, tmp_path: Path) -> None:
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "pets.yaml").write_text(MISFIT_STUBS, encoding="utf-8")
    doc = str(docs / "petstore.yaml")
    done = run_console("validate", "--openapi", doc, str(stubs))
    assert done.returncode == 1
    file = str(stubs / "pets.yaml")
    assert done.stderr.splitlines() == [
        f"{file}:8:16: stub 'bad-list': response.json: GET /pets: "
        "response 200, body /0/id: 'one' is not of type 'integer'",
        f"{file}:13:23: stub 'get-pet': responses.1.json: GET /pets/{{id}}: "
        "response default, body /: 'message' is a required property",
        f"{file}:15:5: stub 'elsewhere': request: GET /elsewhere: no operation in {doc}",
        f"3 misfits between the stubs and {doc}",
    ]
    (stubs / "pets.yaml").write_text(MISFIT_STUBS.split("  - id: bad-list", maxsplit=1)[0])
    fits = run_console("validate", "--openapi", doc, str(stubs))
    assert (fits.returncode, fits.stderr) == (0, "")
    assert fits.stdout == f"ok: 1 file, 1 service, 1 stub; every response fits {doc}\n"
