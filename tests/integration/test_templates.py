"""template: true over real sockets: the DESIGN example, seeds, escapes and caps, literals."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import msgpack
import pytest

from mockserver import MockServer

from .admin_helpers import Admin, assert_error, serve, write_stubs

pytestmark = pytest.mark.timeout(60)

STUBS = """\
stubs:
  - id: user
    request: {method: POST, path: "/api/user/{user_id}"}
    response:
      status: 201
      template: true
      headers: {Location: "/api/user/{{ request.path_params.user_id }}"}
      json:
        id: "{{ request.path_params.user_id }}"
        q: "{{ request.query.q }}"
        qs: "{{ request.query_all.q }}"
        trace: "{{ request.headers['x-trace'] }}"
        session: "{{ request.cookies.sid }}"
        name: "{{ request.json.name }}"
        at: "{{ now() }}"
        order: "{{ uuid4() }}"
        n: "{{ request.json.count + 1 }}"
  - id: echo
    request: {method: GET, path: /echo}
    response:
      template: true
      headers: {X-Echo: "{{ request.query.v }}"}
      body: "{{ request.method }} {{ request.path }} {{ request.query.v }} {{ request.body }}"
  - id: escape
    request: {path: /escape}
    response: {template: true, json: {v: "{{ ''.__class__.__mro__ }}"}}
  - id: globals
    request: {path: /globals}
    response: {template: true, body: "{{ cycler.__init__.__globals__ }}"}
  - id: huge
    request: {path: /huge}
    response: {template: true, body: "{{ 'x' * 10**9 }}"}
  - id: loop
    request: {path: /loop}
    response:
      template: true
      body: "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
  - id: static
    request: {path: /static}
    response: {body: "{{ 7*7 }}"}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    root = write_stubs(tmp_path_factory.mktemp("stubs"), {"app.yaml": STUBS})
    with serve(root, seed=5) as server:
        yield server


@pytest.fixture
def admin(server: MockServer) -> Iterator[Admin]:
    with Admin(server.url) as admin:
        admin.ok("POST", "/reset")
        yield admin


def create(admin: Admin, **kwargs: Any) -> Any:
    answer = admin.mock(
        "POST",
        "/api/user/7?q=a&q=b",
        json={"name": "Ada", "count": 41},
        headers={"X-Trace": "t-9"},
        cookies={"sid": "s-1"},
        **kwargs,
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["Location"] == "/api/user/7"
    return answer.json()


def test_the_design_example_renders_every_context_value(admin: Admin) -> None:
    got = create(admin)
    at = datetime.fromisoformat(got.pop("at"))
    assert abs(at - datetime.now(UTC)) < timedelta(minutes=1)
    assert uuid.UUID(got.pop("order")).version == 4
    assert got == {
        "id": "7",
        "q": "a",
        "qs": ["a", "b"],
        "trace": "t-9",
        "session": "s-1",
        "name": "Ada",
        "n": 42,
    }


def test_a_messagepack_body_is_request_json_through_aiohttp(server: MockServer) -> None:
    async def main() -> Any:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                server.url + "/api/user/8",
                data=msgpack.packb({"name": "Bo", "count": 1}),
                headers={"Content-Type": "application/msgpack"},
            ) as response,
        ):
            assert response.status == 201
            return await response.json()

    got = asyncio.run(main())
    assert (got["id"], got["name"], got["n"]) == ("8", "Bo", 2)


def test_uuid4_follows_the_seed_from_each_reset(admin: Admin) -> None:
    first = [create(admin)["order"] for _ in range(3)]
    assert len(set(first)) == 3
    admin.ok("POST", "/reset")
    assert [create(admin)["order"] for _ in range(3)] == first


def test_request_values_stay_literal(admin: Admin) -> None:
    answer = admin.mock("GET", "/echo", params={"v": "{{ 7*7 }}"}, data="{% raw %}{{ 7*7 }}")
    assert answer.status_code == 200
    assert answer.text == "GET /echo {{ 7*7 }} {% raw %}{{ 7*7 }}"
    assert answer.headers["X-Echo"] == "{{ 7*7 }}"
    assert admin.mock("GET", "/static").text == "{{ 7*7 }}"  # no template: true, no render


@pytest.mark.parametrize(
    ("path", "stub", "template", "why"),
    [
        (
            "/escape",
            "escape",
            "json.v",
            "access to attribute '__class__' of 'str' object is unsafe",
        ),
        ("/globals", "globals", "body", "access to attribute '__init__'"),
        ("/huge", "huge", "body", "1,000,000,000 characters"),
        ("/loop", "loop", "body", "time limit"),
        ("/echo?v=a%0d%0aX-Injected:%201", "echo", "headers.X-Echo", "control characters"),
    ],
)
def test_a_refused_render_answers_500_naming_the_stub_and_is_journaled(
    admin: Admin, path: str, stub: str, template: str, why: str
) -> None:
    admin.ok("DELETE", "/requests")
    started = time.monotonic()
    answer = admin.mock("GET", path)
    assert time.monotonic() - started < 3
    assert answer.status_code == 500
    assert "X-Injected" not in answer.headers
    body = answer.json()
    assert (body["error"], body["stub"], body["template"]) == ("template failed", stub, template)
    assert why in body["detail"]
    (entry,) = admin.ok("GET", "/requests/unmatched")["requests"]
    assert f"stub {stub!r}, template {template}" in entry["error"]
    assert entry["status"] == 500
    started = time.monotonic()
    assert admin.mock("GET", "/static").text == "{{ 7*7 }}"  # the next client is served
    assert time.monotonic() - started < 1


def test_a_templated_stub_posted_through_the_admin_api(admin: Admin) -> None:
    stub = {
        "id": "posted",
        "request": {"path": "/posted/{n}"},
        "responses": [
            {"template": True, "json": {"double": "{{ request.path_params.n|int * 2 }}"}},
            {"template": True, "status": "{{ 400 + request.path_params.n|int }}"},
        ],
    }
    admin.ok("POST", "/stubs", 201, json=stub)
    try:
        assert admin.mock("GET", "/posted/21").json() == {"double": 42}
        assert admin.mock("GET", "/posted/4").status_code == 404
    finally:
        admin.ok("DELETE", "/stubs/posted")
    broken = {"request": {"path": "/b"}, "response": {"template": True, "body": "{% if %}"}}
    body = assert_error(admin.post("/stubs", json=broken), 422, "invalid stub")
    assert body["problems"][0]["key"] == "response.body"
    assert "template syntax error" in body["problems"][0]["message"]
