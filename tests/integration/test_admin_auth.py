"""The admin token over real sockets: every route, wrong tokens, path spellings, generation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mockserver import MockServer
from mockserver.server.admin_routes import ROUTES

from .admin_helpers import USERS, Admin, assert_error, raw_request, serve, write_stubs

TOKEN = "s3cret-token"

BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/stubs"): {"request": {"path": "/new"}, "response": {"body": "new"}},
    ("PUT", "/stubs/{id}"): {"request": {"path": "/put"}, "response": {"body": "put"}},
    ("PUT", "/stubs"): [{"id": "many", "request": {"path": "/many"}, "response": {"body": "m"}}],
    ("POST", "/requests/count"): {"method": "GET"},
    ("PUT", "/scenarios/{name}"): {"state": "added"},
    ("POST", "/messages/count"): {"exchange": "x"},
    ("POST", "/messages/publish"): {"exchange": "x", "body": "b"},
}
# With the token: a scenario no stub names is a 404 (past the token check, which is the point).
# A publish with no broker configured is a 409.
EXPECTED = {
    ("POST", "/stubs"): 201,
    ("PUT", "/scenarios/{name}"): 404,
    ("POST", "/messages/publish"): 409,
}
ROUTE_IDS = [f"{method} {path}" for method, path, _ in ROUTES]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_stubs(tmp_path / "stubs", {"users.yaml": USERS})


@pytest.fixture
def server(root: Path) -> Iterator[MockServer]:
    with serve(root, admin_token=TOKEN) as server:
        yield server


@pytest.fixture
def admin(server: MockServer) -> Iterator[Admin]:
    """With the token; some state to lose: a runtime stub, a journal entry."""
    with Admin(server.url, TOKEN) as admin:
        admin.ok("POST", "/stubs", 201, json={"id": "keep", "request": {"path": "/keep"}})
        assert admin.mock("GET", "/api/user/1").status_code == 200
        yield admin


def state(admin: Admin) -> tuple[Any, ...]:
    stubs = admin.ok("GET", "/stubs")["stubs"]
    return json.dumps(stubs, sort_keys=True), admin.ok("GET", "/requests")["total"]


def call(admin: Admin, method: str, route: str, **kwargs: Any) -> Any:
    body = BODIES.get((method, route))
    if body is not None:
        kwargs["json"] = body
    return admin(method, route.replace("{id}", "get-user"), **kwargs)


WRONG = [
    None,
    "Bearer wrong",
    f"Bearer {TOKEN}x",
    f"Bearer {TOKEN[:-1]}",
    f"Basic {TOKEN}",
    TOKEN,
    "Bearer",
    f"Token {TOKEN}",
    b"Bearer \xff\xfe",  # not UTF-8
]


@pytest.mark.parametrize(("method", "route"), [(m, p) for m, p, _ in ROUTES], ids=ROUTE_IDS)
def test_every_route_but_health_needs_the_token(
    server: MockServer, admin: Admin, root: Path, method: str, route: str
) -> None:
    write_stubs(root, {"users.yaml": USERS.replace("file wins", "reloaded")})  # for /reload
    before = state(admin)
    with Admin(server.url) as anonymous:
        for header in WRONG:
            headers = {} if header is None else {"Authorization": header}
            response = call(anonymous, method, route, headers=headers)
            if (method, route) == ("GET", "/health"):
                assert response.status_code == 200, header
                continue
            body = assert_error(response, 401, "unauthorized")
            assert "Authorization: Bearer" in body["detail"]
            assert response.headers["WWW-Authenticate"].startswith("Bearer "), header
    assert state(admin) == before, "a refused call changed something"
    expected = EXPECTED.get((method, route), 200)
    assert call(admin, method, route).status_code == expected
    with Admin(server.url) as lower:
        lower.session.headers["Authorization"] = f"bearer  {TOKEN}"
        assert call(lower, method, route).status_code != 401


def test_head_needs_the_token_except_on_health(server: MockServer) -> None:
    with Admin(server.url) as anonymous:
        assert anonymous("HEAD", "/health").status_code == 200
        assert anonymous("HEAD", "/stubs").status_code == 401


# Spellings of admin paths that a server could decode or normalise into /__admin.
VARIANTS = [
    ("GET", "/%5F%5Fadmin/stubs"),
    ("GET", "/%5f%5fadmin/requests"),
    ("GET", "/x/../__admin/stubs"),
    ("GET", "/__admin/./stubs"),
    ("GET", "//__admin/stubs"),
    ("GET", "/__admin//stubs"),
    ("GET", "/__admin/stubs/"),
    ("GET", "/__admin%2Fstubs"),
    ("GET", "/__admin/health/../stubs"),
    ("GET", "/__admin/health%2F..%2Fstubs"),
    ("GET", "/%2e%2e/__admin/stubs"),
    ("GET", "/__admin/stubs;x"),
    ("GET", "/__admin/./health/../services"),
    ("GET", "/__admin/openapi.json/."),
    ("POST", "/x/../__admin/reset"),
    ("POST", "/%5F%5Fadmin/reload"),
    ("DELETE", "/__admin/./requests"),
    ("DELETE", "/%5F%5Fadmin/stubs/keep"),
    ("DELETE", "/a/b/../../__admin/stubs/get-user"),
    ("POST", "/__admin/./stubs"),
    ("PUT", "/__admin//stubs/keep"),
]


@pytest.mark.parametrize(("method", "path"), VARIANTS, ids=[f"{m} {p}" for m, p in VARIANTS])
def test_spellings_of_admin_paths_never_reach_admin_without_the_token(
    server: MockServer, admin: Admin, method: str, path: str
) -> None:
    before = state(admin)
    body = json.dumps({"request": {"path": "/sneaky"}, "response": {}}).encode()
    request = (
        f"{method} {path} HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    status, headers, answer = raw_request(server.url, request)
    assert status in (401, 404), (status, answer[:300])
    if status == 401:
        assert json.loads(answer)["error"] == "unauthorized"
        assert headers["www-authenticate"].startswith("Bearer ")
    else:  # served as a mock path: the unmatched report, not an admin answer
        assert json.loads(answer)["error"] == "no stub matched this request"
    admin.ok("DELETE", "/requests")  # the 404 journaled a request
    assert state(admin)[0] == before[0]
    assert admin.mock("GET", "/keep").status_code == 200
    assert admin.mock("GET", "/sneaky").status_code == 404


def test_spellings_that_decode_to_admin_work_with_the_token(server: MockServer) -> None:
    auth = f"Authorization: Bearer {TOKEN}\r\n"
    for path in ("/%5F%5Fadmin/stubs", "/x/../__admin/stubs", "/__admin/./stubs"):
        request = f"GET {path} HTTP/1.1\r\nHost: mock\r\n{auth}Connection: close\r\n\r\n"
        status, _, answer = raw_request(server.url, request.encode())
        assert status == 200, (path, answer[:200])
        assert "stubs" in json.loads(answer)


def open_url(server: MockServer) -> str:
    return "http://127.0.0.1:" + server.url.rsplit(":", 1)[1]


def test_a_token_is_generated_on_a_non_loopback_host(root: Path) -> None:
    with serve(root, host="0.0.0.0") as server, serve(root, host="0.0.0.0") as other:
        assert server.admin_token_generated is True
        token = server.settings.admin_token
        assert token
        assert len(token) >= 24
        assert other.settings.admin_token != token
        with Admin(open_url(server)) as anonymous:
            assert anonymous.ok("GET", "/health")["status"] == "ok"
            assert_error(anonymous.get("/stubs"), 401, "unauthorized")
            assert_error(anonymous.post("/reset"), 401)
        with Admin(open_url(server), token) as admin:
            assert admin.ok("GET", "/stubs")["stubs"]
            assert admin.ok("POST", "/reset")["status"] == "reset"


@pytest.mark.parametrize(
    ("host", "token", "open_without_token"),
    [
        ("127.0.0.1", None, True),  # loopback: no token needed
        ("0.0.0.0", "mine", False),  # given: used, not replaced
    ],
    ids=["loopback", "given"],
)
def test_no_token_is_generated_when_one_is_given_or_on_loopback(
    root: Path, host: str, token: str | None, open_without_token: bool
) -> None:
    with serve(root, host=host, admin_token=token) as server:
        assert server.admin_token_generated is False
        assert server.settings.admin_token == token
        with Admin(open_url(server)) as anonymous:
            assert (anonymous.get("/stubs").status_code == 200) is open_without_token
        if token:
            with Admin(open_url(server), token) as admin:
                assert admin.get("/stubs").status_code == 200


def test_an_empty_token_is_no_token_so_one_is_generated(root: Path) -> None:
    """An unset ${VAR} in compose, or an empty Secret, must not open the admin API."""
    with serve(root, host="0.0.0.0", admin_token="") as server:
        assert server.admin_token_generated is True
        assert server.settings.admin_token
        with Admin(open_url(server)) as anonymous:
            assert_error(anonymous.get("/stubs"), 401, "unauthorized")


def test_admin_open_is_the_named_opt_out(root: Path) -> None:
    with serve(root, host="0.0.0.0", admin_open=True) as server:
        assert server.admin_token_generated is False
        with Admin(open_url(server)) as anonymous:
            assert anonymous.get("/stubs").status_code == 200
