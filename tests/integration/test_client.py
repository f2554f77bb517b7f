"""MockServerClient and AsyncMockServerClient against a real server, every method."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver import MockServer, MockServerError
from mockserver.testing.client import AdminError, AsyncMockServerClient, MockServerClient

from .admin_helpers import USERS, serve, write_stubs

TOKEN = "client-token"


def new_stub(path: str, body: str, **extra: Any) -> dict[str, Any]:
    return {"request": {"method": "GET", "path": path}, "response": {"body": body}, **extra}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_stubs(tmp_path / "stubs", {"users.yaml": USERS})


@pytest.fixture
def server(root: Path) -> Iterator[MockServer]:
    with serve(root, admin_token=TOKEN) as server:
        yield server


def get(server: MockServer, path: str) -> requests.Response:
    return requests.get(server.url + path, timeout=10)


def test_every_method_of_the_sync_client(server: MockServer, root: Path) -> None:
    with MockServerClient(server.url + "/", token=TOKEN) as admin:
        health = admin.health()
        assert (health["status"], health["stubs"], health["services"]) == ("ok", 2, 1)
        [users] = admin.services()
        assert (users["name"], users["url"], users["stubs"]) == ("users", server.url, 2)
        assert [s["id"] for s in admin.stubs()] == ["get-user", "important"]
        assert admin.get_stub("get-user")["origin"] == "file"

        one = admin.add_stub(new_stub("/one", "1", id="one"))
        assert (one["id"], one["origin"]) == ("one", "admin")
        two, three = admin.add_stubs([new_stub("/two", "2"), new_stub("/three", "3", id="3")])
        assert three["id"] == "3"
        assert [get(server, p).text for p in ("/one", "/two", "/three")] == ["1", "2", "3"]

        assert admin.put_stub("one", new_stub("/one", "1b"))["response"] == {"body": "1b"}
        assert admin.put_stub("four", new_stub("/four", "4"))["id"] == "four"
        assert (get(server, "/one").text, get(server, "/four").text) == ("1b", "4")
        admin.remove_stub(two["id"])
        assert get(server, "/two").status_code == 404

        get(server, "/api/user/1")
        requests.post(server.url + "/api/user/1", json={"a": 1}, timeout=10)
        entries = admin.requests()
        before, after = ["/one", "/two", "/three"], ["/one", "/four", "/two"]
        assert [e["path"] for e in entries] == [*before, *after, "/api/user/1", "/api/user/1"]
        assert [e["path"] for e in admin.requests(limit=2, offset=1)] == ["/two", "/three"]
        assert [e["method"] for e in admin.unmatched()] == ["GET", "POST"]
        assert admin.count(method="POST") == 1
        assert admin.count({"path": "/api/user/{id}"}) == 2
        assert admin.count({"path": "/api/user/{id}"}, method="GET") == 1
        assert admin.count() == 8
        admin.clear_requests()
        assert admin.requests() == []
        assert admin.get_stub("get-user")["hits"] == 1

        write_stubs(root, {"users.yaml": USERS.replace("file wins", "reloaded")})
        assert admin.reload() == {"status": "reloaded", "services": 1, "stubs": 5}
        assert get(server, "/api/important").text == "reloaded"
        admin.reset()
        assert [s["id"] for s in admin.stubs()] == ["get-user", "important"]
        assert get(server, "/four").status_code == 404


def test_admin_error_carries_status_error_detail_and_problems(server: MockServer) -> None:
    with MockServerClient(server.url, token=TOKEN) as admin:
        with pytest.raises(AdminError) as invalid:
            admin.add_stubs([new_stub("/ok", "ok"), {"request": {"metod": "GET"}}])
        error = invalid.value
        assert isinstance(error, MockServerError)
        assert (error.status, error.error) == (422, "invalid stub")
        assert "request.metod" in error.detail
        assert [(p["stub"], p["key"]) for p in error.problems] == [("#1", "request.metod")]
        assert error.body["problems"] == error.problems
        assert str(error).startswith("422 invalid stub: ")
        with pytest.raises(AdminError) as missing:
            admin.get_stub("nope")
        assert (missing.value.status, missing.value.error, missing.value.problems) == (
            404,
            "no such stub",
            [],
        )
        admin.add_stub(new_stub("/x", "x", id="x"))
        with pytest.raises(AdminError, match="409 duplicate stub id") as taken:
            admin.add_stub(new_stub("/x", "x", id="x"))
        assert taken.value.status == 409
        with pytest.raises(AdminError) as bad_count:
            admin.count(path_regex="(")
        assert bad_count.value.problems[0]["key"] == "request.path_regex"
        with pytest.raises(AdminError) as no_route:
            admin.remove_stub("")  # /__admin/stubs/ is /__admin/stubs, which takes no DELETE
        assert no_route.value.status == 405


def test_the_token_is_sent_and_needed(server: MockServer) -> None:
    with MockServerClient(server.url) as anonymous:
        assert anonymous.health()["status"] == "ok"
        with pytest.raises(AdminError) as refused:
            anonymous.stubs()
        assert (refused.value.status, refused.value.error) == (401, "unauthorized")
    with MockServerClient(server.url, token="wrong") as wrong, pytest.raises(AdminError):
        wrong.reset()
    with MockServerClient(server.url, token=TOKEN) as admin:
        assert admin.stubs()


def test_the_async_client_does_the_same(server: MockServer, root: Path) -> None:
    async def scenario() -> None:
        async with AsyncMockServerClient(server.url, token=TOKEN) as admin:
            assert (await admin.health())["stubs"] == 2
            assert [s["name"] for s in await admin.services()] == ["users"]
            assert len(await admin.stubs()) == 2
            assert (await admin.get_stub("important"))["priority"] == 5
            one = await admin.add_stub(new_stub("/one", "1"))
            [two] = await admin.add_stubs([new_stub("/two", "2", id="two")])
            assert (await admin.put_stub("two", new_stub("/two", "2b")))["response"]["body"] == "2b"
            await admin.remove_stub(one["id"])
            await asyncio.to_thread(get, server, "/two")
            await asyncio.to_thread(get, server, "/one")
            assert [e["path"] for e in await admin.requests()] == ["/two", "/one"]
            assert [e["path"] for e in await admin.requests(limit=1, offset=1)] == ["/one"]
            assert [e["path"] for e in await admin.unmatched()] == ["/one"]
            assert await admin.count(path="/two") == 1
            assert await admin.count({"method": "GET"}, path="/one") == 1
            await admin.clear_requests()
            assert await admin.requests() == []
            assert (await admin.reload())["status"] == "reloaded"
            await admin.reset()
            assert [s["id"] for s in await admin.stubs()] == ["get-user", "important"]
            with pytest.raises(AdminError) as invalid:
                await admin.add_stub({"response": {"status": 42}})
            assert invalid.value.status == 422
            assert invalid.value.problems[0]["key"] == "response.status"
            with pytest.raises(AdminError) as missing:
                await admin.remove_stub(two["id"])
            assert (missing.value.status, missing.value.error) == (404, "no such stub")
        async with AsyncMockServerClient(server.url) as anonymous:
            assert (await anonymous.health())["status"] == "ok"
            with pytest.raises(AdminError) as refused:
                await anonymous.stubs()
            assert refused.value.status == 401
        unused = AsyncMockServerClient(server.url)
        await unused.close()  # closing a client that never connected is fine

    asyncio.run(scenario())


def test_the_sync_client_survives_the_server_closing_an_idle_connection(root: Path) -> None:
    """A kept-alive connection the server has closed: the next call reconnects once."""
    with serve(root) as first:
        url = first.url
        port = int(url.rsplit(":", 1)[1])
        admin = MockServerClient(url)
        assert admin.health()["status"] == "ok"
        admin.add_stub(new_stub("/first", "first"))
    # The first server closed the idle connection the client kept; a new one on the same port.
    try:
        with serve(root, port=port) as second:
            assert second.url == url
            assert [s["id"] for s in admin.stubs()] == ["get-user", "important"]
            admin.add_stub(new_stub("/second", "second", id="second"))
            assert get(second, "/second").text == "second"
            assert admin.get_stub("second")["origin"] == "admin"
    finally:
        admin.close()
    with pytest.raises(ConnectionRefusedError):  # nothing listens now: the error is not swallowed
        admin.health()
    admin.close()


def test_base_urls_are_checked() -> None:
    for bad in ("ftp://host", "localhost:8080", "http://"):
        with pytest.raises(ValueError, match="base_url must be an http"):
            MockServerClient(bad)
        with pytest.raises(ValueError, match="base_url must be an http"):
            AsyncMockServerClient(bad)
