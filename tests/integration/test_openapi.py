"""GET /__admin/openapi.json describes what the server really does: real calls, checked answers.

Every route is called for every status its operation documents; each answer's status must be
documented for that operation and its body must validate (JSON Schema 2020-12) against the
documented schema, with "#/components/..." resolved against the document itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mockserver import MockServer
from mockserver.server.admin_routes import ROUTES
from mockserver.server.namespace_admin import NAMESPACE_ROUTES

from ..waiting import wait_until
from .admin_helpers import USERS, Admin, serve, write_stubs

TOKEN = "doc-token"
DOC_URI = "urn:mockserver:admin-openapi"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
JSON = {"Content-Type": "application/json"}


def pointer(*parts: str) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


class Checker:
    """Makes admin calls and checks each answer against the document."""

    def __init__(self, server: MockServer, root: Path, doc: dict[str, Any]) -> None:
        self.server, self.root, self.doc = server, root, doc
        resource = Resource.from_contents(doc, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(DOC_URI, resource)
        self.seen: set[tuple[str, str, int]] = set()
        self.rabbit_url = ""  # the session's RabbitMQ, for the route that needs one
        self.admin = Admin(server.url, TOKEN)
        self.anonymous = Admin(server.url)

    def close(self) -> None:
        self.admin.close()
        self.anonymous.close()

    def validate(self, location: str, instance: Any) -> None:
        validator = Draft202012Validator(
            {"$ref": f"{DOC_URI}#{quote(location)}"}, registry=self.registry
        )
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        assert not errors, f"{location}: " + "; ".join(
            f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]
        )

    def call(
        self, method: str, route: str, status: int, *, token: bool = True, **kwargs: Any
    ) -> requests.Response:
        """Call ``route`` ({id} filled from ``stub_id``), check the status and the answer."""
        stub_id = kwargs.pop("stub_id", "get-user")
        scenario = kwargs.pop("scenario", "todo")
        session = self.admin if token else self.anonymous
        if "json" in kwargs and status < 300:  # what the server takes, the document allows
            body = pointer("paths", "/__admin" + route, method.lower(), "requestBody", "content")
            self.validate(body + pointer("application/json", "schema"), kwargs["json"])
        target = route.replace("{id}", stub_id).replace("{name}", scenario)
        response = session(method, target, **kwargs)
        assert response.status_code == status, (method, route, response.text[:300])
        self.check(method, route, response)
        return response

    def check(self, method: str, route: str, response: requests.Response) -> None:
        operation = self.doc["paths"]["/__admin" + route][method.lower()]
        status = str(response.status_code)
        assert status in operation["responses"], f"{method} {route} answered {status}, undocumented"
        self.seen.add((method, route, response.status_code))
        content = operation["responses"][status].get("content")
        assert response.headers["Content-Type"].startswith("application/json")
        if content is None:
            return
        assert list(content) == ["application/json"]
        location = pointer(
            "paths", "/__admin" + route, method.lower(), "responses", status, "content"
        ) + pointer("application/json", "schema")
        self.validate(location, response.json())


def new_stub(path: str) -> dict[str, Any]:
    return {"request": {"method": "GET", "path": path}, "response": {"json": {"p": path}}}


BIG = {"response": {"body": "x" * 70_000}}  # over the server's 64 KiB max_body_bytes
BROKEN = "service: users\nstubs:\n  - request: {metod: GET}\n"


def journal_off_count(c: Checker) -> None:
    with serve(c.root, journal_size=0, admin_token=TOKEN) as off, Admin(off.url, TOKEN) as a:
        response = a.post("/requests/count", json={})
        assert response.status_code == 409
        c.check("POST", "/requests/count", response)


def some_traffic(c: Checker) -> None:
    c.admin.mock("GET", "/api/user/1")
    c.admin.mock("POST", "/api/user/1", data=b"\xff\xfe")  # unmatched, binary body
    c.admin.mock("GET", "/api/nowhere", params={"a": ["1", "2"]})
    flaky = {
        "id": "flaky",
        "request": {"path": "/api/flaky"},
        "response": {"fault": "empty_response"},
    }
    c.admin.ok("POST", "/stubs", 201, json=flaky)
    with pytest.raises(requests.ConnectionError):  # journaled with "fault"
        c.admin.mock("GET", "/api/flaky")


def with_broker(c: Checker, url: str, method: str, route: str, **kwargs: Any) -> None:
    """A call to a server of its own whose stub file names the broker at ``url``."""
    stubs = f"service: mq\namqp: {{url: '{url}'}}\n"
    root = write_stubs(c.root.parent / "mq", {"mq.yaml": stubs})
    with serve(root) as own, Admin(own.url) as admin:
        if "127.0.0.1:1/" not in url:
            wait_until(lambda: admin.ok("GET", "/health")["amqp"]["status"] == "up", "broker up")
        response = admin(method, route, **kwargs)
        c.check(method, route, response)


def published_message(c: Checker) -> None:
    """A stub's publish without a broker: journaled as not sent, listed."""
    stub = new_stub("/publish") | {"id": "pub"}
    stub["response"]["publish"] = [{"exchange": "x", "routing_key": "k", "body": "b"}]
    c.admin.ok("POST", "/stubs", 201, json=stub)
    c.admin.mock("GET", "/publish")
    wait_until(lambda: c.admin.ok("GET", "/messages")["messages"], "the message journaled")


def in_namespace(c: Checker, name: str, method: str, route: str) -> None:
    """A call under /__ns/<name>/, checked against the document's route."""
    with Admin(f"{c.server.url}/__ns/{name}", TOKEN) as namespaced:
        c.check(method, route, namespaced(method, route))


SCENARIOS: dict[tuple[str, str], Callable[[Checker], object]] = {
    ("GET", "/health"): lambda c: [c.call("GET", "/health", 200, token=t) for t in (True, False)],
    ("GET", "/services"): lambda c: [
        c.call("GET", "/services", s, token=s == 200) for s in (200, 401)
    ],
    ("GET", "/stubs"): lambda c: [c.call("GET", "/stubs", s, token=s == 200) for s in (200, 401)],
    ("POST", "/stubs"): lambda c: [
        c.call("POST", "/stubs", 201, json=new_stub("/a") | {"id": "a", "description": "d"}),
        c.call("POST", "/stubs", 201, json=[new_stub("/b"), new_stub("/c") | {"service": "users"}]),
        c.call("POST", "/stubs", 400, data=b"{", headers=JSON),
        c.call("POST", "/stubs", 401, token=False, json=new_stub("/d")),
        c.call("POST", "/stubs", 409, json=new_stub("/a") | {"id": "a"}),
        c.call("POST", "/stubs", 413, json=BIG),
        c.call("POST", "/stubs", 415, data=b"{}"),
        c.call("POST", "/stubs", 422, json=[new_stub("/e"), {"request": {"metod": "GET"}}]),
    ],
    ("GET", "/stubs/{id}"): lambda c: [
        c.call("GET", "/stubs/{id}", 200),
        c.call("GET", "/stubs/{id}", 401, token=False),
        c.call("GET", "/stubs/{id}", 404, stub_id="nope"),
    ],
    ("PUT", "/stubs/{id}"): lambda c: [
        c.call("PUT", "/stubs/{id}", 201, json=new_stub("/new"), stub_id="new"),
        c.call("PUT", "/stubs/{id}", 200, json=new_stub("/new") | {"id": "new"}, stub_id="new"),
        c.call("PUT", "/stubs/{id}", 200, json=new_stub("/api/user/{x}")),  # over a file stub
        c.call("PUT", "/stubs/{id}", 400, data=b"[", headers=JSON),
        c.call("PUT", "/stubs/{id}", 401, token=False, json=new_stub("/x")),
        c.call("PUT", "/stubs/{id}", 413, json=BIG),
        c.call("PUT", "/stubs/{id}", 415, data=b"{}", headers={"Content-Type": "text/json"}),
        c.call("PUT", "/stubs/{id}", 422, json={"response": {"status": 99}}),
    ],
    ("PUT", "/stubs"): lambda c: [
        c.call("PUT", "/stubs", 200, json=[new_stub("/api/user/{x}") | {"id": "get-user"}]),
        c.call("PUT", "/stubs", 400, data=b"[", headers=JSON),
        c.call("PUT", "/stubs", 401, token=False, json=[new_stub("/x") | {"id": "x"}]),
        c.call("PUT", "/stubs", 413, json=[BIG | {"id": "big"}]),
        c.call("PUT", "/stubs", 415, data=b"[]"),
        c.call("PUT", "/stubs", 422, json=[new_stub("/no-id")]),
    ],
    ("GET", "/namespaces"): lambda c: [
        in_namespace(c, "listed", "POST", "/reset"),
        c.call("GET", "/namespaces", 200),
        c.call("GET", "/namespaces", 401, token=False),
    ],
    ("DELETE", "/namespace"): lambda c: [
        in_namespace(c, "ended", "DELETE", "/namespace"),
        c.call("DELETE", "/namespace", 401, token=False),
        c.call("DELETE", "/namespace", 409),
    ],
    ("DELETE", "/stubs/{id}"): lambda c: [
        c.call("DELETE", "/stubs/{id}", 401, token=False),
        c.call("DELETE", "/stubs/{id}", 200),
        c.call("DELETE", "/stubs/{id}", 404),
    ],
    ("POST", "/reset"): lambda c: [c.call("POST", "/reset", s, token=s == 200) for s in (200, 401)],
    ("POST", "/reload"): lambda c: [
        c.call("POST", "/reload", 200),
        c.call("POST", "/reload", 401, token=False),
        (c.root / "users.yaml").write_text(BROKEN),
        c.call("POST", "/reload", 422),
        c.call("GET", "/health", 200),  # with last_reload's problems
    ],
    ("GET", "/requests"): lambda c: [
        some_traffic(c),
        c.call("GET", "/requests", 200),
        c.call("GET", "/requests", 200, params={"limit": 1, "offset": 1}),
        c.call("GET", "/requests", 400, params={"limit": "many"}),
        c.call("GET", "/requests", 401, token=False),
    ],
    ("DELETE", "/requests"): lambda c: [
        c.call("DELETE", "/requests", s, token=s == 200) for s in (200, 401)
    ],
    ("GET", "/requests/unmatched"): lambda c: [
        some_traffic(c),
        c.call("GET", "/requests/unmatched", 200),
        c.call("GET", "/requests/unmatched", 401, token=False),
    ],
    ("GET", "/scenarios"): lambda c: [
        with_a_scenario(c),
        c.call("GET", "/scenarios", 200),
        c.call("GET", "/scenarios", 401, token=False),
    ],
    ("PUT", "/scenarios/{name}"): lambda c: [
        with_a_scenario(c),
        c.call("PUT", "/scenarios/{name}", 200, json={"state": "added"}),
        c.call("PUT", "/scenarios/{name}", 404, scenario="nope", json={"state": "x"}),
        c.call("PUT", "/scenarios/{name}", 422, json={"state": ""}),
        c.call("PUT", "/scenarios/{name}", 415, data=b"{}"),
        c.call("PUT", "/scenarios/{name}", 400, data=b"{x", headers=JSON),
        c.call("PUT", "/scenarios/{name}", 401, token=False, json={"state": "x"}),
    ],
    ("POST", "/scenarios/reset"): lambda c: [
        c.call("POST", "/scenarios/reset", s, token=s == 200) for s in (200, 401)
    ],
    ("GET", "/webhooks"): lambda c: [
        c.call("GET", "/webhooks", s, token=s == 200) for s in (200, 401)
    ],
    ("POST", "/requests/count"): lambda c: [
        c.call("POST", "/requests/count", 200, json={"method": ["GET"], "path": "/a/{b}"}),
        c.call(
            "POST",
            "/requests/count",
            200,
            json={"query": {"q": {"regex": "x"}}, "body": {"contains": "x"}},
        ),
        c.call("POST", "/requests/count", 400, data=b"{x", headers=JSON),
        c.call("POST", "/requests/count", 401, token=False, json={}),
        journal_off_count(c),
        c.call("POST", "/requests/count", 413, json={"path": "/" + "x" * 70_000}),
        c.call("POST", "/requests/count", 415, data=b"{}"),
        c.call("POST", "/requests/count", 422, json={"metod": "GET"}),
    ],
    ("GET", "/messages"): lambda c: [
        published_message(c),
        *(c.call("GET", "/messages", s, token=s == 200) for s in (200, 401)),
    ],
    ("POST", "/messages/count"): lambda c: [
        c.call("POST", "/messages/count", 200, json={"exchange": "x", "routing_key": "k"}),
        c.call("POST", "/messages/count", 400, data=b"{x", headers=JSON),
        c.call("POST", "/messages/count", 401, token=False, json={}),
        c.call("POST", "/messages/count", 413, json={"exchange": "x" * 70_000}),
        c.call("POST", "/messages/count", 415, data=b"{}"),
        c.call("POST", "/messages/count", 422, json={"exchang": "x"}),
    ],
    ("POST", "/messages/publish"): lambda c: [
        with_broker(
            c, c.rabbit_url, "POST", "/messages/publish", json={"exchange": "", "body": "b"}
        ),
        c.call("POST", "/messages/publish", 400, data=b"{x", headers=JSON),
        c.call("POST", "/messages/publish", 401, token=False, json={}),
        c.call("POST", "/messages/publish", 409, json={"exchange": "x", "body": "b"}),
        c.call("POST", "/messages/publish", 413, json={"exchange": "x", "body": "x" * 70_000}),
        c.call("POST", "/messages/publish", 415, data=b"{}"),
        c.call("POST", "/messages/publish", 422, json={"exchange": "x", "bodyy": "b"}),
        with_broker(c, "amqp://127.0.0.1:1/", "POST", "/messages/publish", json={"exchange": "x"}),
    ],
    ("GET", "/openapi.json"): lambda c: [
        c.call("GET", "/openapi.json", s, token=s == 200) for s in (200, 401)
    ],
}


def with_a_scenario(c: Checker) -> None:
    """A runtime stub naming scenario "todo", so its routes have one to show and move."""
    stub = {"id": "todo-list", "request": {"path": "/todo"}, "scenario": {"name": "todo"}}
    c.admin.post("/stubs", json=stub)


@pytest.fixture
def checker(tmp_path: Path) -> Iterator[Checker]:
    root = write_stubs(tmp_path / "stubs", {"users.yaml": USERS})
    with serve(root, admin_token=TOKEN, max_body_bytes=64 * 1024) as server:
        with Admin(server.url, TOKEN) as admin:
            doc = admin.ok("GET", "/openapi.json")
        checker = Checker(server, root, doc)
        try:
            yield checker
        finally:
            checker.close()


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path.removeprefix("/__admin"))
        for path, item in doc["paths"].items()
        for method in item
        if method in METHODS
    }


def test_every_route_is_documented_and_nothing_else(checker: Checker) -> None:
    routes = {(method, path) for method, path, _ in ROUTES} | set(NAMESPACE_ROUTES)
    assert documented(checker.doc) == routes
    assert all(path.startswith("/__admin/") for path in checker.doc["paths"])
    assert set(SCENARIOS) == routes  # and every route is exercised below


def test_the_document_is_openapi_31_with_valid_schemas(checker: Checker) -> None:
    doc = checker.doc
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"]
    for name, schema in doc["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)  # raises SchemaError naming the problem
        assert name
    refs: list[str] = []

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            refs.extend(v for k, v in node.items() if k == "$ref")
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(doc)
    assert refs
    resolver = checker.registry.resolver(DOC_URI)
    for ref in refs:  # every reference points somewhere
        assert resolver.lookup(ref).contents is not None, ref


@pytest.mark.parametrize(
    ("method", "route"), sorted(SCENARIOS), ids=[f"{m} {p}" for m, p in sorted(SCENARIOS)]
)
def test_real_answers_match_the_documented_schemas(
    checker: Checker, method: str, route: str, request: pytest.FixtureRequest
) -> None:
    if route == "/messages/publish":  # a published message needs a broker
        checker.rabbit_url = request.getfixturevalue("rabbit_server").url
    SCENARIOS[(method, route)](checker)
    operation = checker.doc["paths"]["/__admin" + route][method.lower()]
    seen = {status for m, r, status in checker.seen if (m, r) == (method, route)}
    assert {str(s) for s in seen} == set(operation["responses"]), "documented but never seen"


def test_errors_outside_any_route_are_the_documented_error_shape(checker: Checker) -> None:
    error = pointer("components", "schemas", "Error")
    for method, path, status in (("PATCH", "/stubs", 405), ("GET", "/nope", 404)):
        response = checker.admin(method, path)
        assert response.status_code == status
        checker.validate(error, response.json())
    served = checker.admin.get("/openapi.json")
    assert json.loads(served.text) == checker.doc
