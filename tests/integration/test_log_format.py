"""`serve` logs one line per request to stdout, as text or (MOCKSERVER_LOG_FORMAT=json) JSON."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from ..console import DEADLINE, MOCKSERVER
from ..waiting import wait_until

STUBS = {"svc.yaml": "stubs:\n  - id: one\n    request: {path: /one}\n    response: {body: '1'}\n"}


class Serving:
    """``mockserver serve`` as a subprocess; its stdout collected line by line."""

    def __init__(self, root: Path, port: int, **env: str) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}
        self.process = subprocess.Popen(
            [MOCKSERVER, "serve", str(root), "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=clean | {"PYTHONUNBUFFERED": "1"} | env,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = f"http://127.0.0.1:{port}"
        self.wait_for(lambda line: "admin:" in line or '"event":"started"' in line)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, wanted: Callable[[str], bool]) -> str:
        def found() -> str | None:
            line = next((line for line in list(self.lines) if wanted(line)), None)
            if line is None and self.process.poll() is not None and not self._reader.is_alive():
                pytest.fail("mockserver exited; output:\n" + "\n".join(self.lines))
            return line

        return wait_until(found, "a log line", DEADLINE)

    def stop(self) -> int:
        """SIGTERM, then the exit status; safe to call twice."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=DEADLINE)
        self._reader.join(timeout=DEADLINE)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return code


@pytest.fixture
def serve(
    make_stubs: Callable[[dict[str, str]], Path], free_port: Callable[[], int]
) -> Iterator[Callable[..., Serving]]:
    started: list[Serving] = []

    def start(**env: str) -> Serving:
        serving = Serving(make_stubs(STUBS), free_port(), **env)
        started.append(serving)
        return serving

    yield start
    for serving in started:
        serving.stop()


def test_json_one_line_per_request(serve: Callable[..., Serving]) -> None:
    server = serve(MOCKSERVER_LOG_FORMAT="json")
    assert requests.get(server.url + "/one?x=1", timeout=10).text == "1"
    assert requests.get(server.url + "/two", timeout=10).status_code == 404
    server.wait_for(lambda line: '"/two"' in line)
    assert server.stop() == 0
    entries = [json.loads(line) for line in server.lines if line.startswith("{")]
    requests_logged = [e for e in entries if "path" in e]
    assert [
        (e["path"], e["query"], e["status"], e["stub"], e["level"]) for e in requests_logged
    ] == [
        ("/one", "x=1", 200, "one", "info"),
        # A request no stub matched is what went wrong: a warning, seen in a quiet log too.
        ("/two", "", 404, None, "warning"),
    ]
    assert {e["level"] for e in entries if "path" not in e} == {"info"}
    # Every line is JSON, the start and the stop too: a collector never meets another kind.
    assert len(entries) == len(server.lines), server.lines
    started, stopped = entries[0], entries[-1]
    assert started["event"] == "started"
    assert started["message"].startswith("mockserver ")
    assert "1 service, 1 stub" in started["message"]
    assert started["services"] == [{"name": "svc", "url": server.url, "stubs": 1}]
    assert started["admin"] == server.url + "/__admin/health"
    assert started["watching"] is False
    assert "admin_token" not in started  # loopback: none generated
    assert (stopped["event"], stopped["message"]) == ("stopped", "mockserver: stopped")


def test_text_one_line_per_matched_request(serve: Callable[..., Serving]) -> None:
    server = serve()  # default: text at info
    requests.get(server.url + "/one", timeout=10)
    line = server.wait_for(lambda line: "/one" in line)
    assert line.endswith(" INFO mockserver: GET /one -> 200 one")


def test_at_warning_only_unmatched_requests_are_logged(serve: Callable[..., Serving]) -> None:
    server = serve(MOCKSERVER_LOG_LEVEL="warning")
    requests.get(server.url + "/one", timeout=10)
    requests.get(server.url + "/two", timeout=10)
    assert server.stop() == 0
    assert not [line for line in server.lines if "GET /one" in line]
    # What went wrong stays in a quiet log: the miss and its near-miss report.
    assert [line.split(" ", 2)[2] for line in server.lines if "GET /two" in line] == [
        "WARNING mockserver: No stub matched GET /two"
    ]


def test_a_bad_log_format_is_a_usage_error(make_stubs: Callable[[dict[str, str]], Path]) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}
    result = subprocess.run(
        [MOCKSERVER, "serve", str(make_stubs(STUBS))],
        capture_output=True,
        text=True,
        env=clean | {"MOCKSERVER_LOG_FORMAT": "xml"},
        timeout=DEADLINE,
        check=False,
    )
    assert result.returncode == 2
    assert (
        result.stderr
        == "mockserver: error: MOCKSERVER_LOG_FORMAT must be one of text, json, got 'xml'\n"
    )


@pytest.mark.parametrize(
    ("how", "log_format"),
    [(signal.SIGTERM, "text"), (signal.SIGINT, "text"), (signal.SIGTERM, "json")],
)
def test_no_request_line_is_lost_when_the_server_stops(
    serve: Callable[..., Serving], how: signal.Signals, log_format: str
) -> None:
    server = serve(MOCKSERVER_LOG_FORMAT=log_format)
    with requests.Session() as client:
        for n in range(300):
            assert client.get(f"{server.url}/one?n={n}", timeout=10).status_code == 200
    server.process.send_signal(how)  # at once: the last lines are still queued
    assert server.process.wait(timeout=DEADLINE) == 0  # one signal (a second one forces)
    server.stop()
    logged = [line for line in server.lines if "/one" in line]
    assert len(logged) == 300
    assert all(f"n={n}" in line for n, line in enumerate(logged))  # in order
    assert "stopped" in server.lines[-1]  # and before the last line


# What aiohttp cannot read: a chunk size that is not hex (refused before our handler runs),
# and a body whose chunked framing breaks after its first chunk (refused by our handler, 400).
BROKEN_REQUESTS = (
    b"POST /one HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
    b"POST /one HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3\r\nabc\r\nnot a chunk\r\n\r\n",
)


def test_a_request_aiohttp_cannot_read_is_a_400_and_no_traceback_in_serves_log(
    serve: Callable[..., Serving],
) -> None:
    server = serve()
    port = int(server.url.rsplit(":", 1)[1])
    for raw in BROKEN_REQUESTS:
        with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as sock:
            sock.sendall(raw)
            assert sock.recv(64).split(b" ")[1] == b"400", raw
    # A line logged after the broken requests were handled: whatever they logged is before it.
    assert requests.get(server.url + "/after", timeout=10).status_code == 404
    server.wait_for(lambda line: "/after" in line)
    assert server.stop() == 0
    noise = [line for line in server.lines if "Traceback" in line or "Error handling" in line]
    assert noise == [], "\n".join(server.lines)
