"""``mockserver healthcheck``: the container's probe, as a subprocess against real servers."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mockserver import MockServer, Settings

from ..console import MOCKSERVER


def healthcheck(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}
    return subprocess.run(
        [MOCKSERVER, "healthcheck", *args],
        capture_output=True,
        text=True,
        env=clean | env,
        timeout=30,
        check=False,
    )


@pytest.fixture
def server(make_stubs: Callable[[dict[str, str]], Path]) -> Iterator[MockServer]:
    root = make_stubs({"one.yaml": "stubs:\n  - request: {path: /one}\n"})
    settings = Settings(paths=(str(root),), port=0, admin_token="needed-elsewhere")
    with MockServer(settings) as running:
        yield running


@pytest.fixture
def fake_health() -> Iterator[Callable[[int, bytes], str]]:
    """A server whose /__admin/health answers what a test says; returns its base URL."""
    servers: list[ThreadingHTTPServer] = []

    def start(status: int, body: bytes) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def port_of(server: MockServer) -> str:
    return server.url.rsplit(":", 1)[1]


def test_healthy_server_exits_0_with_one_line(server: MockServer) -> None:
    result = healthcheck("--port", port_of(server))
    # The server has a token and the probe none: it hears only that the server serves.
    assert (result.returncode, result.stdout, result.stderr) == (0, "ok: serving\n", "")
    # With the server's token (as the image's probe has it, from MOCKSERVER_ADMIN_TOKEN).
    told = healthcheck("--port", port_of(server), MOCKSERVER_ADMIN_TOKEN="needed-elsewhere")
    assert (told.returncode, told.stdout) == (0, "ok: 1 service, 1 stub\n")


def test_it_reads_host_and_port_as_serve_does(server: MockServer) -> None:
    # In the image MOCKSERVER_HOST is 0.0.0.0: the probe asks loopback.
    result = healthcheck(MOCKSERVER_PORT=port_of(server), MOCKSERVER_HOST="0.0.0.0")
    assert result.returncode == 0, result.stdout
    assert healthcheck(MOCKSERVER_URL=server.url).returncode == 0
    assert healthcheck("--url", server.url + "/__admin/health").returncode == 0


def test_nothing_listening_exits_1_with_the_reason() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the probe
    result = healthcheck("--port", str(port))
    assert result.returncode == 1
    assert result.stdout == (
        f"unhealthy: http://127.0.0.1:{port}/__admin/health: Connection refused\n"
    )


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (503, b'{"status": "starting"}', "HTTP 503, status 'starting'"),
        (200, b'{"status": "degraded"}', "HTTP 200, status 'degraded'"),
        (200, b"<html>not us</html>", "HTTP 200, no JSON status"),
    ],
)
def test_anything_but_ok_exits_1(
    fake_health: Callable[[int, bytes], str], status: int, body: bytes, reason: str
) -> None:
    url = fake_health(status, body)
    result = healthcheck("--url", url)
    assert result.returncode == 1
    assert result.stdout == f"unhealthy: {url}/__admin/health: {reason}\n"


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()  # accepts connections (the backlog), never answers
        port = listening.getsockname()[1]
        started = time.monotonic()
        result = healthcheck("--port", str(port), "--timeout", "0.5")
        took = time.monotonic() - started
    assert result.returncode == 1
    assert result.stdout.endswith("no answer within 0.5 s\n")
    assert took < 10


def test_a_bad_port_variable_is_a_usage_error() -> None:
    result = healthcheck(MOCKSERVER_PORT="eighty")
    assert result.returncode == 2
    assert (
        result.stderr == "mockserver: error: MOCKSERVER_PORT must be a port number, got 'eighty'\n"
    )
