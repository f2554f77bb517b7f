"""Namespaces over real sockets: parallel suites on one server never see each other's state."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mockserver import MockServer
from mockserver.testing.client import AdminError, MockServerClient

from . import admin_helpers
from .admin_helpers import Admin, assert_error, serve, wait_until, write_stubs

# The admin tests' users service, with a sequence and a resource.
USERS = (
    admin_helpers.USERS
    + """
      - id: counter
        request: {path: /count}
        responses: [{body: one}, {body: two}, {body: three}]
    resources:
      - path: /api/carts
        id_field: id
        items: [{id: "1", owner: Simon}]
"""
)
CATALOG = """
    port: 9100
    stubs: [{request: {path: /ping}, response: {body: pong}}]
"""


def runtime(path: str, body: str) -> dict[str, object]:
    return {"request": {"path": path}, "response": {"body": body}}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_stubs(tmp_path / "stubs", {"users.yaml": USERS, "catalog.yaml": CATALOG})


@pytest.fixture
def server(root: Path) -> Iterator[MockServer]:
    with serve(root) as server:
        yield server


def space(server: MockServer, name: str) -> Admin:
    return Admin(f"{server.url}/__ns/{name}")


def test_two_namespaces_and_the_default_keep_their_own_stubs_journal_and_reset(
    server: MockServer,
) -> None:
    with space(server, "a") as a, space(server, "b") as b, Admin(server.url) as default:
        a.ok("POST", "/reset")
        b.ok("POST", "/reset")
        a.ok("POST", "/stubs", 201, json=runtime("/x", "from a"))
        b.ok("POST", "/stubs", 201, json=runtime("/x", "from b"))
        assert a.mock("GET", "/x").text == "from a"
        assert b.mock("GET", "/x").text == "from b"
        assert default.mock("GET", "/x").status_code == 404
        assert a.mock("GET", "/api/user/1").json() == {"from": "file"}  # the files are shared
        a.mock("GET", "/only-a")
        # Each journal holds its own requests, their paths without the prefix.
        assert [e["path"] for e in a.ok("GET", "/requests")["requests"]] == [
            "/x",
            "/api/user/1",
            "/only-a",
        ]
        assert [e["path"] for e in b.ok("GET", "/requests")["requests"]] == ["/x"]
        assert [e["path"] for e in default.ok("GET", "/requests")["requests"]] == ["/x"]
        assert [e["path"] for e in a.ok("GET", "/requests/unmatched")["requests"]] == ["/only-a"]
        assert a.ok("POST", "/requests/count", json={"path": "/x"}) == {"count": 1}
        # A reset in b leaves a alone, and the default's reset leaves both alone.
        b.ok("POST", "/reset")
        default.ok("POST", "/reset")
        assert b.mock("GET", "/x").status_code == 404
        assert a.mock("GET", "/x").text == "from a"
        assert len(a.ok("GET", "/requests")["requests"]) == 4
        origins = {s["id"]: s["origin"] for s in a.ok("GET", "/stubs")["stubs"]}
        assert list(origins.values()).count("admin") == 1
        assert "admin" not in {s["origin"] for s in b.ok("GET", "/stubs")["stubs"]}


def test_sequences_and_resources_are_per_namespace(server: MockServer) -> None:
    with space(server, "a") as a, space(server, "b") as b, Admin(server.url) as default:
        a.ok("POST", "/reset")
        b.ok("POST", "/reset")
        assert [a.mock("GET", "/count").text for _ in range(2)] == ["one", "two"]
        assert b.mock("GET", "/count").text == "one"
        assert default.mock("GET", "/count").text == "one"
        created = a.mock("POST", "/api/carts", json={"owner": "Ada"})
        assert created.status_code == 201
        assert len(a.mock("GET", "/api/carts").json()) == 2
        assert len(b.mock("GET", "/api/carts").json()) == 1
        a.ok("POST", "/reset")
        assert a.mock("GET", "/count").text == "one"
        assert len(a.mock("GET", "/api/carts").json()) == 1


def test_services_are_listed_with_namespaced_urls_on_every_port(server: MockServer) -> None:
    with space(server, "ci-7") as a:
        services = {s["name"]: s for s in a.ok("GET", "/services")["services"]}
        catalog = services["catalog"]
        assert catalog["url"] == server.urls["catalog"] + "/__ns/ci-7"
        assert catalog["port"] == int(server.urls["catalog"].rsplit(":", 1)[1])
        assert services["users"]["url"] == server.url + "/__ns/ci-7"
        assert requests.get(catalog["url"] + "/ping", timeout=5).text == "pong"
        a.ok("POST", "/stubs", 201, json={**runtime("/new", "new"), "service": "catalog"})
        assert requests.get(catalog["url"] + "/new", timeout=5).text == "new"
        assert requests.get(server.urls["catalog"] + "/new", timeout=5).status_code == 404


def test_a_reload_reaches_every_namespace_and_is_asked_without_one(
    server: MockServer, root: Path
) -> None:
    with space(server, "a") as a, Admin(server.url) as default:
        a.ok("POST", "/stubs", 201, json=runtime("/mine", "mine"))
        write_stubs(root, {"users.yaml": USERS.replace("from: file", "from: reloaded")})
        assert_error(a.post("/reload"), 409, "reload is server-wide")
        default.ok("POST", "/reload")
        assert a.mock("GET", "/api/user/1").json() == {"from": "reloaded"}
        assert a.mock("GET", "/mine").text == "mine"  # its runtime stubs stay, as a reload keeps


def test_the_count_is_bounded_and_the_refusal_names_the_limit(root: Path) -> None:
    with serve(root, max_namespaces=2) as server, Admin(server.url) as default:
        for name in ("one", "two"):
            with space(server, name) as each:
                each.ok("POST", "/reset")
        with space(server, "three") as three:
            refused = three.post("/reset")
            body = assert_error(refused, 429, "too many namespaces")
            assert "as many namespaces as it may (--max-namespaces 2)" in body["detail"]
            assert int(refused.headers["Retry-After"]) > 0
            assert three.mock("GET", "/api/user/1").status_code == 404  # not created either
            with space(server, "two") as two:
                assert two.ok("DELETE", "/namespace") == {"deleted": "two"}
            three.ok("POST", "/reset")
        listed = default.ok("GET", "/namespaces")
        assert [n["name"] for n in listed["namespaces"]] == ["one", "three"]
        assert listed["max_namespaces"] == 2


def test_an_idle_namespace_expires_with_what_it_held(root: Path) -> None:
    with serve(root, namespace_ttl=0.5) as server, space(server, "idle") as idle:
        idle.ok("POST", "/stubs", 201, json=runtime("/kept", "kept"))
        assert idle.mock("GET", "/kept").text == "kept"
        with Admin(server.url) as default:  # listing from outside does not keep it alive

            def gone() -> bool:
                return not default.ok("GET", "/namespaces")["namespaces"]

            wait_until(gone, what="the idle namespace to expire", timeout=20)
        assert_error(idle.mock("GET", "/kept"), 404, "no such namespace")
        idle.ok("POST", "/reset")  # begins it again, empty
        assert idle.mock("GET", "/kept").status_code == 404


def test_bad_names_unknown_namespaces_and_the_default_namespace(server: MockServer) -> None:
    with Admin(server.url) as default:
        for name in ("-dash-first", "a" * 65, "sp ace", "%2E%2E"):
            body = assert_error(default.mock("GET", f"/__ns/{name}/x"), 400, "bad namespace")
            assert "1 to 64 letters" in body["detail"]
        assert_error(default.mock("GET", "/__ns/never/x"), 404, "no such namespace")
        assert_error(default.delete("/namespace"), 409, "the default namespace cannot end")
        assert default.ok("GET", "/namespaces")["namespaces"] == []  # nothing was created
        assert default.mock("GET", "/api/user/1").json() == {"from": "file"}


def test_with_a_token_only_its_holder_begins_a_namespace(root: Path) -> None:
    with serve(root, admin_token="tok") as server:
        with space(server, "x") as anonymous:
            assert_error(anonymous.post("/reset"), 401, "unauthorized")
            assert_error(anonymous.mock("GET", "/api/user/1"), 404, "no such namespace")
        with Admin(server.url, "tok") as default:
            assert default.ok("GET", "/namespaces")["namespaces"] == []


def test_the_admin_client_given_a_namespaced_url_works_in_the_namespace(
    server: MockServer,
) -> None:
    with MockServerClient(f"{server.url}/__ns/client") as client:
        client.reset()
        added = client.add_stub(runtime("/c", "c"))
        assert requests.get(f"{server.url}/__ns/client/c", timeout=5).text == "c"
        assert [r["stub"] for r in client.requests()] == [added["id"]]
        assert client.count(path="/c") == 1
        assert [n["name"] for n in client.namespaces()["namespaces"]] == ["client"]
        client.end_namespace()
        assert client.namespaces()["namespaces"] == []
        with pytest.raises(AdminError, match="409 reload is server-wide"):
            client.reload()


def test_the_log_line_names_the_namespace(
    server: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mockserver")
    with space(server, "logged") as a:
        a.ok("POST", "/reset")
        assert a.mock("GET", "/nowhere").status_code == 404
    assert "GET /__ns/logged/nowhere" in caplog.text
