"""The admin API's stub routes over real sockets: add, list, get, replace, delete, reset."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mockserver import MockServer

from .admin_helpers import USERS, Admin, assert_error, serve, write_stubs

JSON = {"Content-Type": "application/json"}


def stub(path: str, body: str, **extra: Any) -> dict[str, Any]:
    return {"request": {"method": "GET", "path": path}, "response": {"body": body}, **extra}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_stubs(tmp_path / "stubs", {"users.yaml": USERS, "files/hello.txt": "hello\n"})


@pytest.fixture
def server(root: Path) -> Iterator[MockServer]:
    with serve(root) as server:
        yield server


@pytest.fixture
def admin(server: MockServer) -> Iterator[Admin]:
    with Admin(server.url) as admin:
        yield admin


def test_add_one_stub_lists_it_and_serves_it(admin: Admin) -> None:
    assert admin.mock("GET", "/added").status_code == 404
    added = admin.ok("POST", "/stubs", 201, json=stub("/added", "runtime", description="d"))
    [one] = added["stubs"]
    assert one["service"] == "users"
    assert (one["origin"], one["source"]) == ("admin", "<admin>")
    assert (one["hits"], one["priority"]) == (0, 0)
    assert one["request"] == {"method": "GET", "path": "/added"}
    assert (one["response"], one["description"]) == ({"body": "runtime"}, "d")
    served = admin.mock("GET", "/added")
    assert (served.status_code, served.text) == (200, "runtime")
    assert admin.ok("GET", f"/stubs/{one['id']}")["hits"] == 1
    listed = admin.ok("GET", "/stubs")["stubs"]
    assert [(s["id"], s["origin"]) for s in listed] == [
        ("get-user", "file"),
        ("important", "file"),
        (one["id"], "admin"),
    ]
    assert admin.ok("GET", "/health")["stubs"] == 3


def test_add_a_list_of_stubs(admin: Admin) -> None:
    batch = [stub("/one", "1", id="one"), stub("/two", "2")]
    added = admin.ok("POST", "/stubs", 201, json=batch)["stubs"]
    assert added[0]["id"] == "one"
    assert added[1]["id"] != "one"
    assert [admin.mock("GET", p).text for p in ("/one", "/two")] == ["1", "2"]


def test_a_batch_with_invalid_stubs_adds_nothing_and_names_each_problem(admin: Admin) -> None:
    before = admin.stub_ids()
    batch = [
        stub("/valid", "fine"),
        {"id": "typo", "request": {"metod": "GET"}, "response": {}},
        {"request": {"path": "/x"}, "response": {"status": 2000}},
    ]
    body = assert_error(admin.post("/stubs", json=batch), 422, "invalid stub")
    problems = [(p["stub"], p["key"]) for p in body["problems"]]
    assert problems == [("'typo'", "request.metod"), ("#2", "response.status")]
    assert "did you mean 'method'" in body["problems"][0]["message"]
    assert "request.metod" in body["detail"]
    assert "response.status" in body["detail"]
    assert admin.stub_ids() == before
    assert admin.mock("GET", "/valid").status_code == 404


def test_an_empty_list_or_a_non_stub_is_422(admin: Admin) -> None:
    assert_error(admin.post("/stubs", json=[]), 422, "invalid stub")
    body = assert_error(admin.post("/stubs", json=[5]), 422, "invalid stub")
    assert "must be a mapping" in body["problems"][0]["message"]


def test_a_duplicate_explicit_id_is_409_and_adds_nothing(admin: Admin) -> None:
    admin.ok("POST", "/stubs", 201, json=stub("/a", "a", id="mine"))
    body = assert_error(admin.post("/stubs", json=stub("/b", "b", id="mine")), 409)
    assert body["error"] == "duplicate stub id"
    assert "'mine'" in body["detail"]
    # taken by a file stub, and a batch where only the second stub clashes: nothing added
    assert_error(admin.post("/stubs", json=stub("/c", "c", id="get-user")), 409)
    batch = [stub("/fresh", "fresh", id="fresh"), stub("/d", "d", id="mine")]
    assert_error(admin.post("/stubs", json=batch), 409, "duplicate stub id")
    assert "fresh" not in admin.stub_ids()
    assert admin.mock("GET", "/fresh").status_code == 404
    assert admin.mock("GET", "/a").text == "a"
    # the same id twice in one batch is a problem of the batch itself
    twice = [stub("/e", "e", id="twice"), stub("/f", "f", id="twice")]
    body = assert_error(admin.post("/stubs", json=twice), 422)
    assert [p["key"] for p in body["problems"]] == ["id"]


def test_the_same_stub_twice_without_id_gives_two_stubs(admin: Admin) -> None:
    first = admin.ok("POST", "/stubs", 201, json=stub("/same", "x"))["stubs"][0]["id"]
    second = admin.ok("POST", "/stubs", 201, json=stub("/same", "x"))["stubs"][0]["id"]
    assert first != second
    ids = admin.stub_ids()
    assert first in ids
    assert second in ids
    assert admin.ok("DELETE", f"/stubs/{second}") == {"deleted": second}
    assert admin.mock("GET", "/same").text == "x"  # the first one still serves


def test_a_runtime_stub_overrides_a_file_stub_newest_first(admin: Admin) -> None:
    assert admin.mock("GET", "/api/user/1").json() == {"from": "file"}
    older = {"request": {"method": "GET", "path": "/api/user/1"}, "response": {"json": 1}}
    newer = {"request": {"method": "GET", "path": "/api/user/{id}"}, "response": {"json": 2}}
    admin.ok("POST", "/stubs", 201, json=older)
    assert admin.mock("GET", "/api/user/1").json() == 1
    assert admin.mock("GET", "/api/user/2").json() == {"from": "file"}
    admin.ok("POST", "/stubs", 201, json=newer)
    assert admin.mock("GET", "/api/user/1").json() == 2
    # a file stub of higher priority still wins
    admin.ok("POST", "/stubs", 201, json=stub("/api/important", "runtime"))
    assert admin.mock("GET", "/api/important").text == "file wins"
    admin.ok("POST", "/reset")
    assert admin.mock("GET", "/api/user/1").json() == {"from": "file"}


def test_get_put_delete_by_id(admin: Admin) -> None:
    got = admin.ok("GET", "/stubs/get-user")
    assert (got["id"], got["origin"], got["service"]) == ("get-user", "file", "users")
    assert got["source"].endswith("users.yaml")
    assert_error(admin.get("/stubs/nope"), 404, "no such stub")
    created = admin.ok("PUT", "/stubs/mine", 201, json=stub("/mine", "v1"))
    assert (created["id"], created["origin"]) == ("mine", "admin")
    assert admin.mock("GET", "/mine").text == "v1"
    replaced = admin.ok("PUT", "/stubs/mine", 200, json=stub("/mine", "v2", id="mine"))
    assert replaced["response"] == {"body": "v2"}
    assert admin.mock("GET", "/mine").text == "v2"
    assert admin.stub_ids().count("mine") == 1
    body = assert_error(admin.put("/stubs/mine", json=stub("/mine", "v3", id="other")), 422)
    assert "'other'" in body["detail"]
    assert_error(admin.put("/stubs/mine", json=[stub("/mine", "v3")]), 422, "invalid stub")
    assert_error(admin.put("/stubs/mine", json={"response": {"status": 1}}), 422)
    assert admin.mock("GET", "/mine").text == "v2"
    # PUT over a file stub replaces it
    over = admin.ok("PUT", "/stubs/get-user", json=stub("/api/user/{id}", "put"))
    assert (over["origin"], over["service"]) == ("admin", "users")
    assert admin.mock("GET", "/api/user/9").text == "put"
    assert admin.ok("DELETE", "/stubs/mine") == {"deleted": "mine"}
    assert_error(admin.delete("/stubs/mine"), 404, "no such stub")
    assert_error(admin.get("/stubs/mine"), 404, "no such stub")
    assert admin.mock("GET", "/mine").status_code == 404


def test_deleting_a_file_stub_then_reset_brings_it_back(admin: Admin) -> None:
    admin.ok("POST", "/stubs", 201, json=stub("/runtime", "r"))
    admin.mock("GET", "/api/user/1")
    assert admin.ok("DELETE", "/stubs/get-user") == {"deleted": "get-user"}
    gone = admin.mock("GET", "/api/user/1")
    assert gone.status_code == 404
    assert gone.json()["error"] == "no stub matched this request"
    assert_error(admin.delete("/stubs/get-user"), 404)
    assert_error(admin.get("/stubs/get-user"), 404)
    assert admin.ok("POST", "/reset") == {"status": "reset", "stubs": 2}
    assert admin.mock("GET", "/api/user/1").json() == {"from": "file"}
    assert admin.stub_ids() == ["get-user", "important"]
    assert admin.mock("GET", "/runtime").status_code == 404
    journal = admin.ok("GET", "/requests")
    assert [r["path"] for r in journal["requests"]] == ["/api/user/1", "/runtime"]


SHARED = {
    "alpha.yaml": "stubs: [{request: {path: /a}, response: {body: a}}]\n",
    "beta.yaml": "stubs: [{request: {path: /b}, response: {body: b}}]\n",
    "own.yaml": "port: 9\nstubs: [{request: {path: /o}, response: {body: o}}]\n",
}


def test_the_service_key_picks_a_service_when_several_share_the_port(tmp_path: Path) -> None:
    with serve(write_stubs(tmp_path, SHARED)) as server, Admin(server.url) as admin:
        body = assert_error(admin.post("/stubs", json=stub("/new", "n")), 422, "invalid stub")
        [problem] = body["problems"]
        assert problem["key"] == "service"
        assert "alpha, beta" in problem["message"]
        added = admin.ok("POST", "/stubs", 201, json=stub("/new", "n", service="beta"))
        assert added["stubs"][0]["service"] == "beta"
        assert admin.mock("GET", "/new").text == "n"
        bad = assert_error(admin.post("/stubs", json=stub("/x", "x", service="no/pe")), 422)
        assert bad["problems"][0]["key"] == "service"
        # on a port with one service, the stub belongs to it without being told
        with Admin(server.url_for("own")) as own:
            added = own.ok("POST", "/stubs", 201, json=stub("/o2", "o2"))
            assert added["stubs"][0]["service"] == "own"
            assert own.mock("GET", "/o2").text == "o2"
        assert admin.mock("GET", "/o2").status_code == 404


def test_body_file_is_read_inside_the_stubs_root_only(tmp_path: Path, admin: Admin) -> None:
    added = admin.ok("POST", "/stubs", 201, json=stub_file("/f", "files/hello.txt"))
    assert added["stubs"][0]["response"] == {"body_file": "files/hello.txt"}
    assert admin.mock("GET", "/f").content == b"hello\n"
    (tmp_path / "secret.txt").write_text("secret")
    (tmp_path / "stubs" / "link.txt").symlink_to(tmp_path / "secret.txt")
    escapes = ["../secret.txt", str(tmp_path / "secret.txt"), "link.txt", "files/../../secret.txt"]
    for path in escapes:
        body = assert_error(admin.post("/stubs", json=stub_file("/x", path)), 422, "invalid stub")
        assert [p["key"] for p in body["problems"]] == ["response.body_file"], path
    assert_error(admin.post("/stubs", json=stub_file("/x", "files/none.txt")), 422)
    assert admin.mock("GET", "/x").status_code == 404


def stub_file(path: str, body_file: str) -> dict[str, Any]:
    return {"request": {"path": path}, "response": {"body_file": body_file}}


WRITES = [("POST", "/stubs"), ("PUT", "/stubs/some-id"), ("POST", "/requests/count")]
# JSON escapes of lone surrogates: they parse, but are no text (RFC 7493 §2.1) and cannot be
# encoded back to UTF-8 for an id, a body or a header.
LONE_SURROGATES = [
    b'{"id": "a\\ud800"}',
    b'{"request": {"path": "/\\ud800"}, "response": {"body": "x"}}',
    b'{"response": {"body": "\\udfff"}}',
    b'{"response": {"headers": {"X-A": "\\ud800"}}}',
    b'{"description": "\\ud800", "request": {"query": {"\\udc00": "x"}}}',
]


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_malformed_json_is_400(admin: Admin, method: str, path: str) -> None:
    for text in (b'{"request": ', b"{bad}", b"", b"\xff\xfe{}", b"[1] 2", *LONE_SURROGATES):
        body = assert_error(admin(method, path, data=text, headers=JSON), 400)
        assert body["error"] == "malformed JSON"
    assert admin.stub_ids() == ["get-user", "important"]


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_a_body_not_sent_as_json_is_415(admin: Admin, method: str, path: str) -> None:
    valid = json.dumps(stub("/typed", "t")).encode()
    for headers in ({"Content-Type": "text/plain"}, {}, {"Content-Type": "application/jsonx"}):
        body = assert_error(admin(method, path, data=valid, headers=headers), 415)
        assert body["error"] == "unsupported media type"
    form = admin(method, path, data={"request": "x"})  # what a cross-site HTML form can send
    assert_error(form, 415)
    assert "application/x-www-form-urlencoded" in form.json()["detail"]
    assert admin.mock("GET", "/typed").status_code == 404
    # +json types are JSON too
    vendor = {"Content-Type": "application/vnd.test+json"}
    assert admin(method, path, data=b"{}", headers=vendor).status_code not in (400, 415, 500)


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_deeply_nested_json_is_a_4xx_and_the_server_stays_healthy(
    admin: Admin, method: str, path: str
) -> None:
    depth = 100_000
    for text in (
        "[" * depth + "]" * depth,
        '{"request": {"body": {"json": ' + "[" * depth + "]" * depth + "}}}",
        '{"a": ' * depth + "1" + "}" * depth,
    ):
        response = admin(method, path, data=text.encode(), headers=JSON)
        assert 400 <= response.status_code < 500, response.text[:200]
        assert_error(response, response.status_code)
    assert admin.ok("GET", "/health")["status"] == "ok"


@pytest.mark.parametrize("depth", [300, 900, 975])
def test_json_that_parses_but_nests_too_deeply_for_a_stub_is_422(admin: Admin, depth: int) -> None:
    """Within json.loads' reach but past what the stub parser can walk: 422, not 500."""
    nots = '{"not": ' * depth + '"x"' + "}" * depth
    deep_list = "[" * depth + "]" * depth
    bodies = {
        "/stubs": [
            '{"request": {"body": ' + nots + '}, "response": {}}',
            '{"request": {"path": "/deep"}, "response": {"json": ' + deep_list + "}}",
        ],
        "/requests/count": ['{"body": ' + nots + "}"],
    }
    for path, texts in bodies.items():
        for text in texts:
            response = admin.post(path, data=text.encode(), headers=JSON)
            assert response.status_code in (200, 201, 400, 422), response.text[:300]
            if response.status_code == 422:
                assert response.json()["problems"], response.text[:300]
    assert admin.ok("GET", "/health")["status"] == "ok"
    assert admin.get("/stubs").status_code == 200  # too deep for this client to decode


def test_put_many_replaces_by_id_all_or_none(admin: Admin) -> None:
    body = [
        {"id": "get-user", **stub("/api/user/{user_id}", "replaced")},
        {"id": "new-one", **stub("/new", "new")},
    ]
    stored = admin.ok("PUT", "/stubs", json=body)["stubs"]
    assert [(s["id"], s["origin"]) for s in stored] == [("get-user", "admin"), ("new-one", "admin")]
    assert admin.mock("GET", "/api/user/7").text == "replaced"
    assert admin.mock("GET", "/new").text == "new"
    # A bad stub in the batch: nothing of it is put.
    bad = [{"id": "fine", **stub("/fine", "fine")}, {"id": "broken", "request": {"nope": 1}}]
    assert_error(admin.put("/stubs", json=bad), 422, "invalid stub")
    assert_error(admin.put("/stubs", json=[stub("/no-id", "x")]), 422, "invalid stubs")
    assert admin.mock("GET", "/fine").status_code == 404
    admin.ok("POST", "/reset")
    assert admin.mock("GET", "/api/user/7").json() == {"from": "file"}
