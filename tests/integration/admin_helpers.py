"""Shared by the admin API tests: stub trees on disk, running servers, an admin HTTP session.

Imported by the test modules (not a conftest): a server per test, real sockets on port 0.
"""

from __future__ import annotations

import socket
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import requests

from mockserver import MockServer, Settings

from .. import waiting

T = TypeVar("T")

USERS = """
    service: users
    stubs:
      - id: get-user
        request: {method: GET, path: "/api/user/{user_id}"}
        response: {json: {from: file}}
      - id: important
        priority: 5
        request: {method: GET, path: /api/important}
        response: {body: file wins}
"""


def write_stubs(root: Path, files: dict[str, str]) -> Path:
    """Write ``{relative name: YAML text}`` under ``root`` (dedented) and return ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


def settings(*paths: Path | str, **changes: Any) -> Settings:
    values: dict[str, Any] = {"port": 0, "ephemeral_service_ports": True, **changes}
    return Settings(paths=tuple(str(p) for p in paths), **values)


@contextmanager
def serve(*paths: Path | str, **changes: Any) -> Iterator[MockServer]:
    """A MockServer on port 0 in a background thread, stopped on exit."""
    with MockServer(settings(*paths, **changes)) as server:
        yield server


class Admin:
    """A requests session on one port: ``admin.get("/stubs")`` calls ``/__admin/stubs``."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.base + "/__admin" + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self("DELETE", path, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        """Call, check the status, return the JSON body."""
        response = self(method, path, **kwargs)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return response.json()

    def mock(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A request to the mock itself (not /__admin) on this port."""
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.base + path, **kwargs)

    def stub_ids(self) -> list[str]:
        return [s["id"] for s in self.ok("GET", "/stubs")["stubs"]]

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Admin:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def assert_error(response: requests.Response, status: int, error: str | None = None) -> Any:
    """The response is a JSON ``{"error", "detail"}`` with ``status``; returns the body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body["error"], str)
    assert isinstance(body["detail"], str)
    assert body["detail"]
    if error is not None:
        assert body["error"] == error, body
    return body


def wait_until(condition: Callable[[], T | None], *, what: str, timeout: float = 20.0) -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    return waiting.wait_until(condition, what, timeout)


def raw_request(base_url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` byte for byte (no client normalises its path) and read the answer.

    The request must ask for ``Connection: close``; returns status, headers and body.
    """
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host.strip("[]"), int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body
