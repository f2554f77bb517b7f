"""mock_requests, mock_aiohttp and mock_httpx: the same stubs, handle and strictness, with no
socket."""

from __future__ import annotations

import pytest

from .conftest import Project

pytestmark = pytest.mark.timeout(60)

# The inner tests' helpers: one client per fixture, the same calls.
CLIENTS = """
import asyncio
import os
import socket

import aiohttp
import httpx
import requests


def url(path):
    return path if path.startswith("http://") else os.environ["USERS_URL"] + path


def call_requests(method, path, **kwargs):
    response = requests.request(method, url(path), timeout=5, **kwargs)
    return response.status_code, response.json()


def call_aiohttp(method, path, **kwargs):
    async def main():
        async with aiohttp.ClientSession() as session:
            async with session.request(method, url(path), **kwargs) as response:
                return response.status, await response.json()

    return asyncio.run(main())


def call_httpx(method, path, **kwargs):
    with httpx.Client(timeout=5) as client:
        response = client.request(method, url(path), **kwargs)
        return response.status_code, response.json()


def call_httpx_async(method, path, **kwargs):
    async def main():
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.request(method, url(path), **kwargs)
            return response.status_code, response.json()

    return asyncio.run(main())


def reason_httpx(path):
    with httpx.Client(timeout=5) as client:
        response = client.get(url(path))
    try:
        response.raise_for_status()
    except httpx.HTTPStatusError:
        return response.reason_phrase


reason_httpx_async = reason_httpx


def reason_requests(path):
    response = requests.get(url(path), timeout=5)
    try:
        response.raise_for_status()
    except requests.HTTPError:
        return response.reason


def reason_aiohttp(path):
    async def main():
        async with aiohttp.ClientSession() as session:
            async with session.get(url(path)) as response:
                try:
                    response.raise_for_status()
                except aiohttp.ClientResponseError as exc:
                    return exc.message

    return asyncio.run(main())


def listener():
    \"\"\"A real local server socket, to prove a request never connected to it.\"\"\"
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.setblocking(False)
    return sock


def never_connected(sock):
    try:
        sock.accept()[0].close()
    except BlockingIOError:
        return True
    return False
"""

BEHAVIOUR = """
import os

import pytest

from clients import *  # noqa: F403

call = call_{client}
reason = reason_{client}


def test_stubs_answer_on_invalid_hosts({fixture}):
    assert os.environ["USERS_URL"] == "http://users.mockserver.invalid"
    assert os.environ["CATALOG_URL"] == "http://catalog.mockserver.invalid"
    assert os.environ["USERS_API_URL"] == "http://users-api.mockserver.invalid"
    assert {fixture}.service("users").url == os.environ["USERS_URL"]
    assert call("GET", "/api/user/1") == (200, {{"id": "1", "name": "Simon"}})
    assert call("GET", "/api/user/7") == (404, {{"error": "user not found"}})
    assert call("POST", "/api/user", json={{"role": "member"}}) == (
        201, {{"id": "3", "role": "member"}}
    )
    users = {fixture}.service("users")
    users.assert_called("GET", "/api/user/{{id}}", times=2)
    users.assert_called("POST", "/api/user", body={{"json": {{"role": "member"}}}})
    assert [e["stub"] for e in {fixture}.requests] == [
        "get-user-1", "user-not-found", "create-user"
    ]


def test_a_stub_for_this_test({fixture}):
    {fixture}.service("users").stub(
        {{"request": {{"path": "/api/user/2"}}, "response": {{"json": {{"id": "2"}}}}}}
    )
    assert call("GET", "/api/user/2") == (200, {{"id": "2"}})


def test_an_error_status_raises_with_its_reason({fixture}):
    {fixture}.service("users").stub(
        {{"request": {{"path": "/down"}}, "response": {{"status": 503}}}}
    )
    assert reason("/down") == "Service Unavailable"


def test_the_next_test_starts_afresh({fixture}):
    assert {fixture}.requests == []
    assert call("GET", "/api/user/2") == (404, {{"error": "user not found"}})


def test_environment_restored_after():
    assert "USERS_URL" not in os.environ


@pytest.mark.mockserver(stubs="extra.yaml")
def test_marker_stubs({fixture}):
    assert call("GET", "/api/user/1") == (200, {{"id": "1", "name": "Replaced"}})


@pytest.mark.mockserver(strict=False)
def test_not_strict({fixture}):
    assert call("POST", "/api/user", json={{"role": "admin"}})[0] == 404
    assert {fixture}.unmatched[0]["nearest"][0]["stub"] == "create-user"


def test_strict({fixture}):
    call("POST", "/api/user", json={{"role": "admin"}})


def test_real_hosts_are_not_reached({fixture}):
    with listener() as sock:
        with pytest.raises(Exception) as raised:
            call("GET", "http://127.0.0.1:%d/api/user/1" % sock.getsockname()[1])
        assert never_connected(sock), "the request reached a real socket"
    assert {fixture}.requests == []
    print("raised", type(raised.value).__module__, type(raised.value).__name__)
"""

STUBS = {
    "stubs/catalog.yaml": "port: 8081\nstubs: []\n",
    "stubs/users-api.yaml": "stubs: []\n",
    "extra.yaml": """
    service: users
    stubs:
      - id: get-user-1
        request: {method: GET, path: /api/user/1}
        response: {json: {id: "1", name: Replaced}}
    """,
}


@pytest.mark.parametrize(
    ("fixture", "client", "escape"),
    [
        ("mock_requests", "requests", "requests_mock.exceptions NoMockAddress"),
        ("mock_aiohttp", "aiohttp", "aiohttp.client_exceptions ClientConnectionError"),
        ("mock_httpx", "httpx", "respx.models AllMockedAssertionError"),
        ("mock_httpx", "httpx_async", "respx.models AllMockedAssertionError"),
    ],
)
def test_socket_free_fixture(
    project: Project, pytester: pytest.Pytester, fixture: str, client: str, escape: str
) -> None:
    behaviour = BEHAVIOUR.format(fixture=fixture, client=client)
    project({**STUBS, "clients.py": CLIENTS, "test_offline.py": behaviour})
    result = pytester.runpytest("-s")
    result.assert_outcomes(passed=8, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_strict _*",
            "mockserver: 1 request matched no stub:",
            "No stub matched POST /api/user",
            '  body: {"role":*"admin"}',  # httpx sends compact JSON
            "  1. stub create-user [[]POST /api/user[]] from *users.yaml (stub #2)",
            '       body: $.role: expected "member", got "admin"',
        ]
    )
    result.stdout.fnmatch_lines([f"*raised {escape}*"])
    result.stdout.fnmatch_lines(["FAILED test_offline.py::test_strict - Failed: mockserver:*"])


@pytest.mark.parametrize(
    ("fixture", "library", "needs"),
    [
        ("mock_requests", "requests_mock", "requests-mock"),
        ("mock_aiohttp", "aioresponses", "aioresponses"),
        ("mock_httpx", "respx", "httpx and respx"),
    ],
)
def test_a_missing_library_fails_setup_with_one_line(
    project: Project,
    pytester: pytest.Pytester,
    fixture: str,
    library: str,
    needs: str,
) -> None:
    # Importing a name whose sys.modules entry is None raises the ImportError of an uninstalled
    # one (pytester restores sys.modules after the run).
    conftest = f"import sys\n\nsys.modules[{library!r}] = None\n"
    test = f"def test_it({fixture}):\n    raise AssertionError('ran')\n"
    project({"conftest.py": conftest, "test_missing.py": test})
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_it _*",
            f"mockserver: {fixture} needs {needs} (*): pip install 'mockserver[[]offline[]]'*",
            "=*",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")
