"""Reloading stub files over real sockets: on request, on change (watch), under load, new ports."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver import MockServer

from .admin_helpers import Admin, assert_error, serve, wait_until, write_stubs


def app(body: str) -> str:
    return f"""
        service: app
        stubs:
          - id: hello
            request:
              method: GET
              path: /hello
            response:
              body: {body}
    """


BROKEN = """
    service: app
    stubs:
      - id: hello
        request:
          metod: GET
          path: /hello
        response:
          body: broken
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_stubs(tmp_path / "stubs", {"app.yaml": app("v1")})


@pytest.fixture
def server(root: Path, request: pytest.FixtureRequest) -> Iterator[MockServer]:
    with serve(root, **getattr(request, "param", {})) as server:
        yield server


@pytest.fixture
def admin(server: MockServer) -> Iterator[Admin]:
    with Admin(server.url) as admin:
        yield admin


def hello(admin: Admin) -> str:
    return admin.mock("GET", "/hello").text


def test_post_reload_picks_up_an_edited_file(root: Path, admin: Admin) -> None:
    admin.ok("POST", "/stubs", 201, json={"request": {"path": "/runtime"}, "response": {}})
    assert hello(admin) == "v1"
    write_stubs(root, {"app.yaml": app("v2"), "more.yaml": port_service(9, "more")})
    assert hello(admin) == "v1"  # nothing changes until asked
    assert admin.ok("POST", "/reload") == {"status": "reloaded", "services": 2, "stubs": 3}
    assert hello(admin) == "v2"
    assert admin.mock("GET", "/runtime").status_code == 200  # runtime stubs stay
    last = admin.ok("GET", "/health")["last_reload"]
    assert (last["ok"], last["problems"], last["message"]) == (True, [], None)
    assert isinstance(last["at"], float)


def test_a_broken_file_keeps_the_old_set_and_is_reported_until_fixed(
    root: Path, admin: Admin
) -> None:
    write_stubs(root, {"app.yaml": BROKEN})
    body = assert_error(admin.post("/reload"), 422)
    assert body["error"] == "reload failed; the previous stubs are still served"
    [problem] = body["problems"]
    assert problem["file"] == str(root / "app.yaml")
    assert (problem["line"], problem["stub"], problem["key"]) == (5, "'hello'", "request.metod")
    assert "did you mean 'method'" in problem["message"]
    assert "app.yaml:5:" in body["detail"]
    assert hello(admin) == "v1"
    last = admin.ok("GET", "/health")["last_reload"]
    assert last["ok"] is False
    assert "request.metod" in last["message"]
    assert last["problems"] == body["problems"]
    write_stubs(root, {"app.yaml": app("fixed")})
    admin.ok("POST", "/reload")
    assert hello(admin) == "fixed"
    last = admin.ok("GET", "/health")["last_reload"]
    assert (last["ok"], last["message"]) == (True, None)


@pytest.mark.parametrize("server", [{"watch": True}], indirect=True)
def test_watch_picks_up_changes_and_reports_a_broken_file(root: Path, admin: Admin) -> None:
    def reloaded_once() -> bool:
        # The watcher starts in the background: touch the file until it has reloaded once.
        write_stubs(root, {"app.yaml": app("v1")})
        return wait_for_reload(admin, 1.0)

    wait_until(reloaded_once, what="the watcher's first reload")
    write_stubs(root, {"app.yaml": app("v2")})
    wait_until(lambda: hello(admin) == "v2", what="the edit to be served")
    write_stubs(root, {"app.yaml": BROKEN})

    def reported() -> Any:
        # (a reload that caught the file half-written may fail first, with another message)
        last = admin.ok("GET", "/health")["last_reload"]
        return not last["ok"] and "request.metod" in last["message"]

    wait_until(reported, what="the broken file to be reported")
    assert hello(admin) == "v2"
    write_stubs(root, {"app.yaml": app("v3")})
    wait_until(lambda: hello(admin) == "v3", what="the fixed file to be served")
    assert admin.ok("GET", "/health")["last_reload"]["ok"] is True


def wait_for_reload(admin: Admin, timeout: float) -> bool:
    try:
        wait_until(
            lambda: admin.ok("GET", "/health")["last_reload"]["at"],
            what="a reload",
            timeout=timeout,
        )
    except AssertionError:
        return False
    return True


def version(name: str, filler: int) -> dict[str, str]:
    """Two files; the /hammer stub moves between them, so a half-swapped set would miss it."""
    hammer = f"""
          - id: hammer-{name}
            request: {{method: GET, path: /hammer}}
            response: {{body: "{name}"}}
    """
    fill = "".join(
        f"""
          - id: fill-{name}-{n}
            request: {{method: GET, path: "/fill/{name}/{n}/{{x}}"}}
            response: {{body: fill}}
    """
        for n in range(filler)
    )
    first, second = (hammer, fill) if name == "A" else (fill, hammer)
    return {
        "a.yaml": "service: load\nstubs:\n" + first.strip("\n"),
        "b.yaml": "service: load\nstubs:\n" + second.strip("\n"),
    }


def test_reloads_under_load_serve_one_whole_set_or_the_other(tmp_path: Path) -> None:
    root = write_stubs(tmp_path / "load", version("A", 200))
    stop = threading.Event()
    done = [0] * 8

    def hammer(worker: int, url: str) -> list[tuple[int, str]]:
        seen = []
        with requests.Session() as session:
            while not stop.is_set():
                response = session.get(url, timeout=10)
                seen.append((response.status_code, response.text))
                done[worker] += 1
        return seen

    with serve(root) as server, Admin(server.url) as admin:
        url = server.url + "/hammer"
        with ThreadPoolExecutor(max_workers=len(done)) as pool:
            try:
                futures = [pool.submit(hammer, n, url) for n in range(len(done))]
                wait_until(lambda: all(done), what="every client to be running")
                for n in range(20):
                    name = "AB"[(n + 1) % 2]
                    write_stubs(root, version(name, 200))
                    assert admin.ok("POST", "/reload")["stubs"] == 201
                    assert admin.mock("GET", "/hammer").text == name
                before = list(done)
                wait_until(
                    lambda: all(d > b for d, b in zip(done, before, strict=True)),
                    what="every client to keep answering after the last reload",
                )
            finally:
                stop.set()
            answers = [answer for future in futures for answer in future.result()]
        assert admin.ok("GET", "/requests/unmatched")["requests"] == []
    statuses = {status for status, _ in answers}
    assert statuses == {200}, sorted(statuses)
    bodies = {body for _, body in answers}
    assert bodies == {"A", "B"}, bodies
    assert len(answers) > 100


def port_service(port: int, body: str) -> str:
    return f"""
        service: extra
        port: {port}
        stubs:
          - request: {{method: GET, path: /extra}}
            response: {{body: {body}}}
    """


def test_a_new_service_port_is_opened_by_reload(root: Path, server: MockServer) -> None:
    with pytest.raises(KeyError):
        server.url_for("extra")
    write_stubs(root, {"extra.yaml": port_service(9, "extra")})
    with Admin(server.url) as admin:
        assert admin.ok("POST", "/reload")["services"] == 2
        extra = server.url_for("extra")
        assert extra != server.url
        assert admin.mock("GET", "/extra").status_code == 404  # not on the main port
        [listed] = [s for s in admin.ok("GET", "/services")["services"] if s["name"] == "extra"]
        assert (listed["url"], listed["declared_port"]) == (extra, 9)
        assert listed["port"] == int(extra.rsplit(":", 1)[1])
    with Admin(extra) as on_extra:
        assert on_extra.mock("GET", "/extra").text == "extra"
        assert on_extra.ok("GET", "/health")["services"] == 2  # the admin API is there too


@pytest.mark.parametrize("server", [{"ephemeral_service_ports": False}], indirect=True)
def test_a_port_that_cannot_be_opened_fails_the_reload_and_keeps_the_old_set(
    root: Path, admin: Admin, server: MockServer
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        write_stubs(root, {"app.yaml": app("v2"), "extra.yaml": port_service(port, "extra")})
        body = assert_error(admin.post("/reload"), 422)
        assert body["problems"][0]["file"] == str(root / "extra.yaml")
        assert "already in use" in body["detail"]
        assert hello(admin) == "v1"
        assert [s["name"] for s in admin.ok("GET", "/services")["services"]] == ["app"]
        assert admin.ok("GET", "/health")["last_reload"]["ok"] is False
    admin.ok("POST", "/reload")  # the port is free now
    assert hello(admin) == "v2"
    assert server.url_for("extra") == f"http://127.0.0.1:{port}"
    with Admin(server.url_for("extra")) as extra:
        assert extra.mock("GET", "/extra").text == "extra"
