"""The journal over real sockets: order, paging, the bound, body caps, hits, unmatched, count."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .admin_helpers import USERS, Admin, assert_error, serve, write_stubs

JSON = {"Content-Type": "application/json"}

FILES = {
    "users.yaml": USERS,
    "echo.yaml": """
        service: echo
        stubs:
          - id: echo-any
            request: {path_regex: "^/echo/"}
            response: {body: ok}
          - id: create-user
            request:
              method: POST
              path: /api/user
              query: {dry_run: {absent: true}}
              body: {json_subset: {role: member}}
            response: {status: 201}
    """,
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_stubs(tmp_path / "stubs", FILES)


@pytest.fixture
def admin(root: Path, request: pytest.FixtureRequest) -> Iterator[Admin]:
    """An admin session on a server; ``@pytest.mark.parametrize("admin", [{settings}])``."""
    changes: dict[str, Any] = getattr(request, "param", {})
    # echo and users share the main port (neither declares one)
    with serve(root, **changes) as server, Admin(server.url) as admin:
        yield admin


def journal(admin: Admin, **params: Any) -> dict[str, Any]:
    return admin.ok("GET", "/requests", params=params)  # type: ignore[no-any-return]


def paths(entries: list[dict[str, Any]]) -> list[str]:
    return [e["path"] for e in entries]


def test_the_journal_keeps_requests_newest_last_with_limit_and_offset(admin: Admin) -> None:
    for n in range(5):
        admin.mock("GET", f"/echo/{n}", params={"n": str(n)}, headers={"X-N": str(n)})
    whole = journal(admin)
    assert paths(whole["requests"]) == [f"/echo/{n}" for n in range(5)]
    assert (whole["total"], whole["offset"], whole["journal_size"]) == (5, 0, 1000)
    seqs = [e["seq"] for e in whole["requests"]]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 5
    last = whole["requests"][-1]
    assert (last["method"], last["query"], last["headers"]["x-n"]) == ("GET", {"n": "4"}, "4")
    assert (last["matched"], last["stub"], last["service"], last["status"]) == (
        True,
        "echo-any",
        "echo",
        200,
    )
    assert paths(journal(admin, limit=2)["requests"]) == ["/echo/0", "/echo/1"]
    assert paths(journal(admin, offset=3)["requests"]) == ["/echo/3", "/echo/4"]
    assert paths(journal(admin, offset=1, limit=2)["requests"]) == ["/echo/1", "/echo/2"]
    assert journal(admin, offset=9)["requests"] == []
    assert journal(admin, limit=0)["requests"] == []
    for bad in ({"limit": "x"}, {"limit": "-1"}, {"offset": "-2"}, {"offset": "1.5"}):
        body = assert_error(admin.get("/requests", params=bad), 400)
        assert next(iter(bad)) in body["error"]


def test_admin_calls_are_not_journaled(admin: Admin) -> None:
    admin.ok("GET", "/stubs")
    new = {"service": "echo", "request": {"path": "/x"}, "response": {}}
    admin.ok("POST", "/stubs", 201, json=new)
    assert journal(admin)["requests"] == []


@pytest.mark.parametrize("admin", [{"journal_size": 50}], indirect=True)
def test_the_journal_is_bounded_and_keeps_the_newest(admin: Admin) -> None:
    for n in range(500):
        assert admin.mock("GET", f"/echo/{n}").status_code == 200
    kept = journal(admin)
    assert (kept["total"], kept["journal_size"]) == (50, 50)
    assert paths(kept["requests"]) == [f"/echo/{n}" for n in range(450, 500)]
    assert admin.ok("GET", "/health")["journal"] == {"size": 50, "max": 50}
    # the hit counter is not bounded by the journal
    [echo] = [s for s in admin.ok("GET", "/stubs")["stubs"] if s["id"] == "echo-any"]
    assert echo["hits"] == 500


@pytest.mark.parametrize("admin", [{"journal_body_cap": 16}], indirect=True)
def test_request_bodies_past_the_cap_are_cut_and_flagged(admin: Admin) -> None:
    admin.mock("POST", "/echo/long", data=b"0123456789" * 10)
    admin.mock("POST", "/echo/exact", data=b"x" * 16)
    binary = bytes(range(255, -1, -1))  # not UTF-8
    admin.mock("POST", "/echo/binary", data=binary)
    long, exact, raw = journal(admin)["requests"]
    assert (long["body"], long["body_size"], long["body_truncated"]) == (
        "0123456789012345",
        100,
        True,
    )
    assert (exact["body"], exact["body_size"], exact["body_truncated"]) == ("x" * 16, 16, False)
    assert raw["body_encoding"] == "base64"
    assert base64.b64decode(raw["body"]) == binary[:16]
    assert (raw["body_size"], raw["body_truncated"]) == (256, True)


@pytest.mark.parametrize("admin", [{"journal_size": 0}], indirect=True)
def test_hits_are_counted_with_the_journal_off_and_count_is_409(admin: Admin) -> None:
    for _ in range(3):
        assert admin.mock("GET", "/api/user/1").status_code == 200
    admin.mock("GET", "/nowhere")
    assert admin.ok("GET", "/stubs/get-user")["hits"] == 3
    assert admin.ok("GET", "/stubs/important")["hits"] == 0
    off = journal(admin)
    assert (off["requests"], off["total"], off["journal_size"]) == ([], 0, 0)
    assert admin.ok("GET", "/requests/unmatched")["requests"] == []
    assert admin.ok("GET", "/health")["journal"] == {"size": 0, "max": 0}
    body = assert_error(admin.post("/requests/count", json={"method": "GET"}), 409)
    assert body["error"] == "journal is off"
    assert "hits" in body["detail"]
    admin.ok("POST", "/reset")
    assert admin.ok("GET", "/stubs/get-user")["hits"] == 0


def test_delete_requests_empties_the_journal_and_keeps_hit_counts(admin: Admin) -> None:
    admin.mock("GET", "/api/user/1")
    admin.mock("GET", "/nowhere")
    assert admin.ok("DELETE", "/requests") == {"status": "cleared"}
    assert journal(admin)["requests"] == []
    assert admin.ok("GET", "/requests/unmatched")["requests"] == []
    assert admin.ok("POST", "/requests/count", json={})["count"] == 0
    assert admin.ok("GET", "/stubs/get-user")["hits"] == 1
    admin.mock("GET", "/api/user/2")
    assert paths(journal(admin)["requests"]) == ["/api/user/2"]


def test_unmatched_requests_have_their_nearest_stubs_and_first_difference(admin: Admin) -> None:
    admin.mock("GET", "/api/user/1")
    admin.mock("DELETE", "/api/user/1")
    admin.mock("POST", "/api/user", json={"role": "admin"})
    unmatched = admin.ok("GET", "/requests/unmatched")["requests"]
    assert [(e["method"], e["path"]) for e in unmatched] == [
        ("DELETE", "/api/user/1"),
        ("POST", "/api/user"),
    ]
    wrong_method, wrong_body = unmatched
    assert (wrong_method["matched"], wrong_method["stub"], wrong_method["status"]) == (
        False,
        None,
        404,
    )
    nearest = wrong_method["nearest"][0]
    assert (nearest["stub"], nearest["service"]) == ("get-user", "users")
    assert nearest["route"] == "GET /api/user/{user_id}"
    assert nearest["source"].endswith("users.yaml (stub #0)")
    assert nearest["first_difference"]["field"] == "method"
    assert nearest["first_difference"]["actual"] == "DELETE"
    assert nearest["differences"][0] == nearest["first_difference"]
    near_body = wrong_body["nearest"][0]
    assert near_body["stub"] == "create-user"
    assert near_body["first_difference"]["field"] == "body"
    assert "role" in near_body["first_difference"]["why"]
    # the whole journal marks the same entries unmatched
    entries = journal(admin)["requests"]
    assert [e["matched"] for e in entries] == [True, False, False]
    assert "nearest" not in entries[0]


def test_count_by_method_path_template_query_headers_and_body(admin: Admin) -> None:
    admin.mock("GET", "/api/user/1")
    admin.mock("GET", "/api/user/2", params={"verbose": "1"}, headers={"X-Team": "blue"})
    admin.mock("POST", "/api/user", json={"name": "Ada", "role": "member"})
    admin.mock("POST", "/api/user", params={"dry_run": "1"}, json={"name": "Bo", "role": "x"})
    admin.mock("DELETE", "/elsewhere")

    def count(pattern: dict[str, Any]) -> int:
        return admin.ok("POST", "/requests/count", json=pattern)["count"]  # type: ignore[no-any-return]

    assert count({}) == 5
    assert count({"method": "GET"}) == 2
    assert count({"method": ["POST", "DELETE"]}) == 3
    assert count({"path": "/api/user/{id}"}) == 2
    assert count({"method": "POST", "path": "/api/user/{id}"}) == 0
    assert count({"path": "/api/user/1"}) == 1
    assert count({"path_regex": "^/api/"}) == 4
    assert count({"query": {"verbose": "1"}}) == 1
    assert count({"query": {"dry_run": {"absent": True}}, "method": "POST"}) == 1
    assert count({"headers": {"x-team": {"regex": "^bl"}}}) == 1
    assert count({"body": {"json_subset": {"name": "Ada"}}}) == 1
    assert count({"body": {"json_path": {"$.role": {"any_of": ["member", "x"]}}}}) == 2
    assert count({"body": {"contains": "Bo"}, "query": {"dry_run": "1"}}) == 1
    assert count({"path": "/elsewhere"}) == 1  # unmatched requests count too


@pytest.mark.parametrize(
    ("pattern", "key"),
    [
        ({"metod": "GET"}, "request.metod"),
        ({"path": "/a", "path_regex": "^/a"}, "request.path_regex"),
        ({"path_regex": "("}, "request.path_regex"),
        ({"query": {"q": {"regx": "x"}}}, "request.query.q.regx"),
        ({"method": 5}, "request.method"),
        ([{"method": "GET"}], "request"),
        ("GET", "request"),
    ],
)
def test_an_invalid_count_pattern_is_422_with_its_key(admin: Admin, pattern: Any, key: str) -> None:
    body = assert_error(admin.post("/requests/count", json=pattern), 422, "invalid stub")
    assert body["problems"], body
    assert key in [p["key"] for p in body["problems"]], body["problems"]


@pytest.mark.parametrize("depth", [50, 400, 900])
def test_counting_deep_bodies_with_a_deep_pattern_is_never_a_500(admin: Admin, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    admin.mock("POST", "/echo/deep", data=nested.encode())
    pattern = '{"body": {"json_subset": ' + nested + "}}"
    response = admin.post("/requests/count", data=pattern.encode(), headers=JSON)
    if response.status_code == 200:
        assert response.json() == {"count": 1}
    else:
        assert_error(response, 422)
    assert admin.ok("GET", "/health")["status"] == "ok"
