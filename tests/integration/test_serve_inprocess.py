"""MockServer in-process over real sockets: the walk-through of docs/index.md, ports, admin,
limits."""

from __future__ import annotations

import asyncio
import gzip
import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
import requests

from mockserver import MockServer, MockServerError, Settings, __version__

from .readme import (
    REPO,
    ConsoleExample,
    assert_shown,
    console_examples,
    describe_png,
    docs_page,
    fenced_blocks,
    parse_curl,
    readme_urls,
)

STUBS = REPO / "stubs"
PNG = (STUBS / "files" / "product.png").read_bytes()
CONSOLE = fenced_blocks("console", docs_page("index.md"))
WALKTHROUGH = console_examples(CONSOLE[0])
REPORT_EXAMPLE = console_examples(CONSOLE[1])[0]
ADA = b'{"name": "Ada", "email": "ada@example.com", "role": "member"}'


def settings(*paths: Path | str, **changes: Any) -> Settings:
    values: dict[str, Any] = {"port": 0, "ephemeral_service_ports": True, **changes}
    return Settings(paths=tuple(str(p) for p in paths), **values)


@pytest.fixture(scope="module")
def bundled() -> Iterator[MockServer]:
    with MockServer(settings(STUBS)) as server:
        yield server


def check_answer(example: ConsoleExample, body: bytes) -> None:
    """``body`` is what the docs show the command printing, byte for byte."""
    if parse_curl(example.command).pipe == ("file", "-"):
        assert body == PNG
        assert [describe_png(body)] == list(example.output)
    else:
        assert body == "\n".join(example.output).encode()


def test_readme_walkthrough_is_parsed() -> None:
    targets = [parse_curl(e.command).target for e in WALKTHROUGH]
    assert targets == [
        "/api/user/1",
        "/api/user/7",
        "/api/users?name=SIMON&page=1",
        "/api/user",
        "/api/products/ABC-123/image.png",
        "/api/user/7",  # PUT: the templated stub
    ]
    assert all(e.output for e in WALKTHROUGH)


@pytest.mark.parametrize("example", WALKTHROUGH, ids=lambda e: parse_curl(e.command).target)
def test_readme_walkthrough_with_requests(bundled: MockServer, example: ConsoleExample) -> None:
    curl = parse_curl(example.command)
    url = readme_urls(bundled)[curl.port] + curl.target
    headers: dict[str, str | None] = {"Accept-Encoding": None, **curl.sent_headers()}
    response = requests.request(curl.method, url, headers=headers, data=curl.data, timeout=10)
    assert "Content-Encoding" not in response.headers
    check_answer(example, response.content)


def test_walkthrough_statuses_and_headers(bundled: MockServer) -> None:
    users, catalog = bundled.url_for("users"), bundled.url_for("catalog")
    one = requests.get(users + "/api/user/1", timeout=10)
    assert (one.status_code, one.headers["Content-Type"]) == (200, "application/json")
    assert one.headers["Cache-Control"] == "max-age=60"
    seven = requests.get(users + "/api/user/7", timeout=10)
    assert (seven.status_code, seven.json()) == (404, {"error": "user not found"})
    created = requests.post(
        users + "/api/user", data=ADA, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert created.status_code == 201
    assert created.headers["Location"] == "/api/user/3"
    image = requests.get(catalog + "/api/products/ABC-123/image.png", timeout=10)
    assert (image.status_code, image.headers["Content-Type"]) == (200, "image/png")
    assert image.headers["Content-Length"] == str(len(PNG))
    assert image.content == PNG


@pytest.mark.parametrize("query", ["name=SIMON", "name=sim&page=1", "name=SIMON&page=2", ""])
def test_the_bundled_search_never_answers_another_page_than_it_was_asked(
    bundled: MockServer, query: str
) -> None:
    answer = requests.get(bundled.url_for("users") + "/api/users?" + query, timeout=10).json()
    asked = parse_qs(query).get("page", ["1"])[0]
    assert answer.get("page", int(asked)) == int(asked), answer


def test_a_page_past_the_last_is_empty_or_unmatched(bundled: MockServer) -> None:
    users = bundled.url_for("users")
    assert requests.get(users + "/api/users?name=SIMON&page=2", timeout=10).json() == {
        "results": []
    }
    assert requests.get(users + "/api/users?page=2", timeout=10).status_code == 404


def test_readme_walkthrough_with_aiohttp_in_an_event_loop() -> None:
    async def scenario() -> None:
        async with MockServer(settings(STUBS)) as server, aiohttp.ClientSession() as session:
            urls = readme_urls(server)
            for example in WALKTHROUGH:
                curl = parse_curl(example.command)
                async with session.request(
                    curl.method,
                    urls[curl.port] + curl.target,
                    headers=curl.sent_headers(),
                    data=curl.data,
                    skip_auto_headers=("Accept-Encoding",),
                ) as response:
                    assert "Content-Encoding" not in response.headers
                    check_answer(example, await response.read())
            async with session.post(
                server.url_for("users", "/api/user"),
                data=ADA,
                headers={"Content-Type": "application/json"},
            ) as response:
                assert (response.status, response.headers["Location"]) == (201, "/api/user/3")

    asyncio.run(scenario())


def raw_exchange(url: str, request: bytes) -> bytes:
    """Send ``request`` as it is and read until the server closes the connection."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_head_on_a_get_stub_sends_the_headers_and_no_body(bundled: MockServer) -> None:
    get = requests.get(bundled.url_for("users", "/api/user/1"), timeout=10)
    raw = raw_exchange(
        bundled.url_for("users"),
        b"HEAD /api/user/1 HTTP/1.1\r\nHost: mock\r\nConnection: close\r\n\r\n",
    )
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    headers = dict(line.split(": ", 1) for line in head.decode().split("\r\n")[1:])
    assert headers["Content-Length"] == str(len(get.content))
    assert headers["Content-Type"] == "application/json"
    assert rest == b""


def test_readme_unmatched_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # the docs serve "stubs", so sources read stubs/users.yaml
    curl = parse_curl(REPORT_EXAMPLE.command)
    with MockServer(settings("stubs")) as server:
        url = readme_urls(server)[curl.port] + curl.target
        headers: dict[str, str | None] = {"Accept-Encoding": None, **curl.sent_headers()}
        response = requests.request(curl.method, url, headers=headers, data=curl.data, timeout=10)
    assert response.status_code == 404
    report = response.json()
    assert report["request"]["method"] == curl.method
    assert report["request"]["path"] == curl.target
    assert curl.data is not None
    assert report["request"]["body"] == curl.data.decode()
    # What the docs show is the real output, but for what "..." marks as left out.
    assert_shown(REPORT_EXAMPLE.output, response.text)


def test_a_delayed_stub_does_not_block_another_request(
    make_stubs: Callable[[dict[str, str]], Path], caplog: pytest.LogCaptureFixture
) -> None:
    root = make_stubs(
        {
            "svc.yaml": """
                stubs:
                  - id: slow
                    request: {method: GET, path: /slow}
                    response: {delay_ms: 1500, body: slow}
                  - id: fast
                    request: {method: GET, path: /fast}
                    response: {body: fast}
            """
        }
    )
    # At debug level the server logs each match before it waits out the delay: that line is
    # how this test knows the slow request is in the server before it sends the fast one.
    caplog.set_level(logging.DEBUG, logger="mockserver")

    async def scenario(server: MockServer) -> list[str]:
        loop = asyncio.get_running_loop()
        slow_matched = asyncio.Event()

        class Watch(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if "/slow" in record.getMessage():
                    loop.call_soon_threadsafe(slow_matched.set)

        done: list[str] = []
        watch = Watch(logging.DEBUG)
        logging.getLogger("mockserver").addHandler(watch)
        try:
            async with aiohttp.ClientSession() as session:

                async def fetch(name: str) -> None:
                    async with session.get(server.url_for("svc", f"/{name}")) as response:
                        assert await response.text() == name
                    done.append(name)

                slow = asyncio.create_task(fetch("slow"))
                await asyncio.wait_for(slow_matched.wait(), timeout=30)
                # One after another: had the server blocked, the slow answer would have come
                # before the first fast one and be in by the time the next is sent.
                for _ in range(3):
                    await fetch("fast")
                await slow
        finally:
            logging.getLogger("mockserver").removeHandler(watch)
        return done

    with MockServer(settings(root)) as server:
        assert asyncio.run(scenario(server)) == ["fast", "fast", "fast", "slow"]


def service_files(ports: dict[str, int]) -> dict[str, str]:
    """alpha and beta on ports of their own, gamma and delta on the main port; 2 stubs each."""
    files = {}
    for name in ("alpha", "beta", "gamma", "delta"):
        port = f"port: {ports[name]}\n" if name in ports else ""
        files[f"{name}.yaml"] = port + (
            "stubs:\n"
            f"  - request: {{method: GET, path: /{name}}}\n"
            f"    response: {{body: from {name}}}\n"
            f"  - request: {{method: GET, path: /{name}/2}}\n"
            f"    response: {{body: also from {name}}}\n"
        )
    return files


@pytest.mark.parametrize("ephemeral", [True, False], ids=["ephemeral", "declared"])
def test_each_service_is_served_on_its_own_port(
    make_stubs: Callable[[dict[str, str]], Path], free_port: Callable[[], int], ephemeral: bool
) -> None:
    declared = {"alpha": free_port(), "beta": free_port()}
    root = make_stubs(service_files(declared))
    with MockServer(settings(root, ephemeral_service_ports=ephemeral)) as server:
        urls = {name: server.url_for(name) for name in ("alpha", "beta", "gamma", "delta")}
        assert urls["gamma"] == urls["delta"] == server.url == server.url_for()
        assert len({urls["alpha"], urls["beta"], server.url}) == 3
        assert server.urls == urls
        if not ephemeral:
            assert urls["alpha"] == f"http://127.0.0.1:{declared['alpha']}"
            assert urls["beta"] == f"http://127.0.0.1:{declared['beta']}"
        for service, own in urls.items():
            for port_of, base in urls.items():
                response = requests.get(f"{base}/{service}", timeout=10)
                if base == own:
                    assert (response.status_code, response.text) == (200, f"from {service}")
                else:
                    assert response.status_code == 404, (service, port_of)
                    here = 4 if base == server.url else 2
                    assert response.json()["stubs_on_this_port"] == here

        services = requests.get(server.url + "/__admin/services", timeout=10).json()["services"]
        assert {s["name"]: (s["port"], s["url"], s["stubs"]) for s in services} == {
            name: (int(url.rsplit(":", 1)[1]), url, 2) for name, url in urls.items()
        }
        for base in set(urls.values()):  # the admin API answers on every port
            health = requests.get(base + "/__admin/health", timeout=10)
            assert health.status_code == 200
            expected = {"status": "ok", "version": __version__, "services": 4, "stubs": 8}
            assert {k: health.json()[k] for k in expected} == expected


def test_url_for_refuses_unknown_services_and_relative_paths(bundled: MockServer) -> None:
    assert bundled.url_for("users", "/api/user/1") == bundled.url + "/api/user/1"
    with pytest.raises(KeyError, match="no service 'nope'; services: catalog, users"):
        bundled.url_for("nope")
    with pytest.raises(ValueError, match="path must start with '/'"):
        bundled.url_for("users", "api")


def test_admin_errors_are_json(bundled: MockServer) -> None:
    unknown = requests.get(bundled.url + "/__admin/no-such-route", timeout=10)
    assert unknown.status_code == 404
    assert unknown.headers["Content-Type"].startswith("application/json")
    assert unknown.json()["error"] == "no such admin route"
    assert "GET /__admin/health" in unknown.json()["detail"]
    wrong = requests.delete(bundled.url + "/__admin/health", timeout=10)
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "GET"
    assert wrong.json()["error"] == "method not allowed"


LIMITED = {"up.yaml": "stubs:\n  - request: {method: POST, path: /upload}\n    response: {}\n"}


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"x" * 1000, {}, 200),
        (b"x" * 1001, {}, 413),
        (gzip.compress(b"x" * 1000), {"Content-Encoding": "gzip"}, 200),
        (gzip.compress(b"x" * 100_000), {"Content-Encoding": "gzip"}, 413),  # small on the wire
    ],
    ids=["at-limit", "over-limit", "gzip-at-limit", "gzip-over-limit"],
)
def test_the_body_limit_counts_decompressed_bytes(
    make_stubs: Callable[[dict[str, str]], Path], body: bytes, headers: dict[str, str], status: int
) -> None:
    with (
        MockServer(settings(make_stubs(LIMITED), max_body_bytes=1000)) as server,
        requests.Session() as session,
    ):
        response = session.post(server.url + "/upload", data=body, headers=headers, timeout=10)
        assert response.status_code == status
        if status == 413:
            assert response.json()["error"] == "request body too large"
            assert "1,000-byte limit" in response.json()["detail"]
        assert session.post(server.url + "/upload", data=b"small", timeout=10).ok


def test_a_gzip_request_body_is_decompressed_before_matching(bundled: MockServer) -> None:
    response = requests.post(
        bundled.url_for("users", "/api/user"),
        data=gzip.compress(ADA),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        timeout=10,
    )
    assert (response.status_code, response.content) == (201, b'{"id":"3","role":"member"}')


GOOD_GZIP = gzip.compress(ADA)


@pytest.mark.parametrize(
    "body",
    [
        b"this is not gzip at all",
        GOOD_GZIP[:10] + b"\xff" * 30,  # a gzip header, then no valid deflate block
        GOOD_GZIP[:-8] + b"\0\0\0\0" + GOOD_GZIP[-4:],  # a wrong CRC
    ],
    ids=["not-gzip", "bad-deflate", "bad-crc"],
)
def test_a_corrupt_gzip_body_gets_400_json(bundled: MockServer, body: bytes) -> None:
    with requests.Session() as session:  # one connection: the next request must still work
        response = session.post(
            bundled.url_for("users", "/api/user"),
            data=body,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
            timeout=10,
        )
        assert response.status_code == 400
        answer = response.json()
        assert answer["error"] == "malformed request body"
        assert "gzip" in answer["detail"]
        assert session.get(bundled.url_for("users", "/api/user/1"), timeout=10).ok


def test_stop_twice_is_harmless(make_stubs: Callable[[dict[str, str]], Path]) -> None:
    server = MockServer(settings(make_stubs(LIMITED)))
    server.stop()  # never started
    url = server.start().url
    assert requests.post(url + "/upload", timeout=10).status_code == 200
    server.stop()
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.post(url + "/upload", timeout=10)

    async def in_a_loop() -> None:
        async with MockServer(settings(make_stubs(LIMITED))) as server:
            await server.stop_async()
        await server.stop_async()

    asyncio.run(in_a_loop())


def test_a_port_in_use_gives_a_clear_error(
    make_stubs: Callable[[dict[str, str]], Path], free_port: Callable[[], int]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        plain = make_stubs(LIMITED)
        with pytest.raises(MockServerError) as main:
            MockServer(Settings(paths=(str(plain),), port=port)).start()
        assert str(main.value) == (
            f"cannot listen on 127.0.0.1:{port} (the main port): the address is already in use"
        )
        main_port = free_port()
        with_port = make_stubs({"svc.yaml": f"port: {port}\n" + LIMITED["up.yaml"]})
        server = MockServer(Settings(paths=(str(with_port),), port=main_port))
        with pytest.raises(MockServerError, match=rf":{port} \(port {port}\): the address is"):
            asyncio.run(server.start_async())
    server.stop()
    # The main port, bound before the service port failed, was released again.
    with MockServer(Settings(paths=(str(plain),), port=main_port)) as again:
        assert requests.post(again.url + "/upload", timeout=10).status_code == 200
