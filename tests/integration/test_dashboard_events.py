"""GET /__admin/events (the dashboard's live journal) read with aiohttp's client from a real
server: the recent entries, then each one as it is recorded, the clears, the token, the end."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests

from mockserver import MockServer
from mockserver.server.dashboard import events as dashboard_events
from mockserver.server.dashboard.events import FIELDS

from .. import waiting
from .admin_helpers import USERS, Admin, assert_error, serve, settings, write_stubs
from .test_workers import Served

TOKEN = "dash-token"
Event = tuple[str, Any]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MockServer]:
    """The users stubs served; the tests read its journal's listeners too."""
    with serve(write_stubs(tmp_path / "stubs", {"users.yaml": USERS})) as running:
        yield running


@asynccontextmanager
async def live(url: str) -> AsyncIterator[tuple[aiohttp.ClientSession, aiohttp.ClientResponse]]:
    """A session, and the events stream of the server at ``url`` opened in it."""
    async with aiohttp.ClientSession() as session, session.get(url + "/__admin/events") as response:
        yield session, response


async def events(response: aiohttp.ClientResponse) -> AsyncIterator[Event]:
    """The stream's events as (kind, data), comments skipped; a batch of rows (``entries``)
    as one ("entry", {field: value}) each, named by the fields the hello gave."""
    kind, data, fields = "message", [], FIELDS
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif not line and data:
            value = json.loads("\n".join(data))
            if kind == "hello":
                fields = tuple(value["fields"])
            if kind == "entries":
                for values in value:
                    yield "entry", dict(zip(fields, values, strict=True))
            else:
                yield kind, value
            kind, data = "message", []


async def take(stream: AsyncIterator[Event], count: int, timeout: float = 5.0) -> list[Event]:
    return [await asyncio.wait_for(anext(stream), timeout) for _ in range(count)]


def test_the_stream_opens_with_the_recent_entries_then_each_new_one_within_a_second(
    server: MockServer,
) -> None:
    requests.get(server.url + "/api/user/7", timeout=5)
    requests.get(server.url + "/nowhere?api_key=k", timeout=5)

    async def scenario() -> None:
        async with live(server.url) as (_, response):
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/event-stream"
            assert response.headers["Cache-Control"] == "no-store"
            stream = events(response)
            (hello, first, second) = await take(stream, 3)
            assert hello == ("hello", {"journal_size": 1000, "fields": list(FIELDS)})
            assert first[1]["stub"] == "get-user"
            assert (first[1]["status"], first[1]["service"]) == (200, "users")
            assert (second[1]["stub"], second[1]["status"]) == (None, 404)
            assert second[1]["path"] == "/nowhere"
            assert second[1]["query"] == "api_key=<redacted>", "the row redacts as the log"
            sent = time.monotonic()
            await asyncio.to_thread(requests.post, server.url + "/api/user/8", timeout=5)
            (new,) = await take(stream, 1)
            assert time.monotonic() - sent < 1.0
            assert new[0] == "entry"
            assert (new[1]["method"], new[1]["path"], new[1]["status"]) == (
                "POST",
                "/api/user/8",
                404,
            )
            assert new[1]["seq"] == second[1]["seq"] + 1

    asyncio.run(scenario())


def test_a_clear_and_a_reset_are_events_and_the_detail_route_has_the_whole_entry(
    server: MockServer,
) -> None:
    async def scenario() -> None:
        async with live(server.url) as (session, response):
            stream = events(response)
            assert (await take(stream, 1))[0][0] == "hello"
            await asyncio.to_thread(requests.get, server.url + "/api/user/1", timeout=5)
            (entry,) = await take(stream, 1)
            seq = entry[1]["seq"]
            async with session.get(f"{server.url}/__admin/requests/{seq}") as detail:
                whole = await detail.json()
            assert whole["stub"] == "get-user"
            assert whole["headers"]["host"]
            await asyncio.to_thread(requests.delete, server.url + "/__admin/requests")
            assert await take(stream, 1) == [("cleared", {})]
            await asyncio.to_thread(requests.post, server.url + "/__admin/reset")
            assert await take(stream, 1) == [("cleared", {})]
            async with session.get(f"{server.url}/__admin/requests/{seq}") as gone:
                assert gone.status == 404
                assert (await gone.json())["error"] == "no such request"

    asyncio.run(scenario())


def test_a_page_that_leaves_stops_listening(server: MockServer) -> None:
    journal = server.store.journal

    async def scenario() -> None:
        async with live(server.url) as (_, response):
            await take(events(response), 1)
            assert journal.listening == 1

    asyncio.run(scenario())
    waiting.wait_until(lambda: journal.listening == 0, "the stream to notice the page left", 5)


def test_stopping_the_server_ends_the_stream_at_once(tmp_path: Path) -> None:
    root = write_stubs(tmp_path / "stubs", {"users.yaml": USERS})
    server = MockServer(settings(root, shutdown_timeout=30)).start()

    async def scenario() -> float:
        async with live(server.url) as (_, response):
            stream = events(response)
            await take(stream, 1)
            began = time.monotonic()
            stopping = asyncio.create_task(asyncio.to_thread(server.stop))
            async for _ in stream:
                pass
            await stopping
            return time.monotonic() - began

    took = asyncio.run(scenario())
    assert took < 5, f"the stream held the stop {took:.1f} s (its timeout is 30 s)"


def test_the_stream_and_the_detail_need_the_token_and_the_page_does_not(tmp_path: Path) -> None:
    root = write_stubs(tmp_path / "stubs", {"users.yaml": USERS})
    with serve(root, admin_token=TOKEN) as server, Admin(server.url) as anonymous:
        for route in ("/events", "/requests/1", "/resources"):
            assert_error(anonymous.get(route), 401, "unauthorized")
        page = anonymous.get("/ui")
        assert page.status_code == 200
        assert page.headers["Content-Type"].startswith("text/html")
        csp = page.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert TOKEN not in page.text
        script = anonymous.get("/ui/app.js")
        assert script.status_code == 200
        assert script.headers["Content-Type"].startswith("text/javascript")
        assert anonymous.get("/ui/../stubs").status_code == 401  # normalised: not the page
        assert anonymous.get("/ui/nothing.js").status_code == 401  # only the page's files
        refused = assert_error(anonymous.post("/ui", json={}), 405, "method not allowed")
        assert "takes GET" in refused["detail"]
        assert anonymous("HEAD", "/ui").status_code == 200
        with Admin(server.url, TOKEN) as admin:
            assert admin.ok("GET", "/resources") == {"resources": []}


def test_the_page_in_a_namespace_calls_that_namespace(server: MockServer) -> None:
    page = requests.get(server.url + "/__ns/team-a/__admin/ui", timeout=5)
    assert page.status_code == 200
    assert 'data-base="/__ns/team-a/__admin"' in page.text
    assert 'src="/__ns/team-a/__admin/ui/app.js"' in page.text
    slash = requests.get(server.url + "/__admin/ui/", timeout=5)
    assert 'data-base="/__admin"' in slash.text


def test_under_workers_the_page_loads_and_its_live_routes_say_why_not(tmp_path: Path) -> None:
    root = write_stubs(tmp_path / "stubs", {"users.yaml": USERS})
    served = Served([str(root), "--port", "0"], {"MOCKSERVER_WORKERS": "2"})
    try:
        url = served.started()
        with Admin(url) as admin:
            assert admin.get("/ui").status_code == 200
            for route in ("/events", "/requests/1", "/resources"):
                body = assert_error(admin.get(route), 409, "one process's journal")
                assert "--workers" in body["detail"]
            assert admin.ok("GET", "/requests")["total"] == 0  # the merged journal still answers
    finally:
        served.close()


def test_past_the_bound_on_pages_one_more_is_refused(
    server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dashboard_events, "MAX_STREAMS", 1)

    async def scenario() -> None:
        async with live(server.url) as (session, response):
            await take(events(response), 1)
            async with session.get(server.url + "/__admin/events") as second:
                assert second.status == 429
                assert (await second.json())["error"] == "too many live streams"

    asyncio.run(scenario())
