"""``response.fault``: the connection breaks as a real one does, for real clients, and the
same stubs give the same errors with no socket (requests-mock, aioresponses, respx)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import httpx
import pytest
import requests

from mockserver.core.config import Settings
from mockserver.formats.loader import load_paths
from mockserver.server.runner import MockServer
from mockserver.testing.offline import OfflineDouble, aioresponses_mock, requests_mock_mocker
from mockserver.testing.offline_httpx import respx_router

from .admin_helpers import serve, write_stubs

STUBS = """
service: flaky
stubs:
  - id: reset
    request: {path: /reset}
    response: {fault: connection_reset}
  - id: empty
    request: {path: /empty}
    response: {fault: empty_response}
  - id: malformed
    request: {path: /malformed}
    response: {fault: malformed_response}
  - id: truncated
    request: {path: /truncated}
    response: {fault: truncated_body, json: {items: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}}
  - id: slow-reset
    request: {path: /slow-reset}
    response: {fault: connection_reset, delay_ms: 50}
  - id: retry
    request: {path: /retry}
    responses:
      - {fault: connection_reset}
      - {json: {ok: true}}
  - id: ok
    request: {path: /ok}
    response: {json: {ok: true}}
"""

# What each client raises against a real server that breaks the connection so.
REQUESTS_RAISES = {
    "reset": requests.ConnectionError,
    "empty": requests.ConnectionError,
    "malformed": requests.ConnectionError,
    "truncated": requests.exceptions.ChunkedEncodingError,
}
AIOHTTP_RAISES = {
    "reset": aiohttp.ClientOSError,
    "empty": aiohttp.ServerDisconnectedError,
    "malformed": aiohttp.ClientResponseError,
    "truncated": aiohttp.ClientPayloadError,
}


HTTPX_RAISES = {
    "reset": (httpx.ReadError, "Connection reset by peer"),
    "empty": (httpx.RemoteProtocolError, "Server disconnected without sending a response."),
    "malformed": (httpx.RemoteProtocolError, "illegal status line: bytearray("),
    "truncated": (httpx.RemoteProtocolError, "without sending complete message body (received"),
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_stubs(tmp_path / "stubs", {"flaky.yaml": STUBS})


@pytest.fixture
def server(root: Path) -> Iterator[MockServer]:
    with serve(root) as running:
        yield running


async def _aiohttp_get(url: str) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.read()


@pytest.mark.parametrize("path", sorted(REQUESTS_RAISES))
def test_requests_meets_the_fault_and_the_server_goes_on(server: MockServer, path: str) -> None:
    with pytest.raises(REQUESTS_RAISES[path]):
        requests.get(f"{server.url}/{path}", timeout=5)
    assert requests.get(f"{server.url}/ok", timeout=5).json() == {"ok": True}
    (entry,) = [e for e in server.store.journal.entries() if e.path == f"/{path}"]
    assert (entry.stub_id, entry.fault, entry.error) == (path, f"{_fault(path)}", None)
    assert entry.as_dict()["fault"] == _fault(path)


@pytest.mark.parametrize("path", sorted(AIOHTTP_RAISES))
def test_aiohttp_meets_the_fault(server: MockServer, path: str) -> None:
    with pytest.raises(AIOHTTP_RAISES[path]):
        asyncio.run(_aiohttp_get(f"{server.url}/{path}"))


def test_a_reset_is_a_reset_not_a_close(server: MockServer) -> None:
    with pytest.raises(requests.ConnectionError) as caught:
        requests.get(f"{server.url}/reset", timeout=5)
    assert "Connection reset by peer" in str(caught.value)


def test_the_truncated_body_is_the_first_half_under_the_whole_length(server: MockServer) -> None:
    with requests.get(f"{server.url}/truncated", timeout=5, stream=True) as response:
        assert response.status_code == 200
        whole = int(response.headers["Content-Length"])
        received = response.raw.read(whole, decode_content=False)  # what arrived before close
    assert len(received) == whole // 2
    assert b'{"items":[1,2,3,4,5,6,7,8,9,10]}'.startswith(received)


def test_a_delay_then_a_fault_and_a_sequence_that_fails_once(server: MockServer) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/slow-reset", timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/retry", timeout=5)
    assert requests.get(f"{server.url}/retry", timeout=5).json() == {"ok": True}  # the retry


def test_with_no_socket_requests_raises_the_same(root: Path) -> None:
    double = OfflineDouble(load_paths([root]))
    base = double.urls["flaky"]
    with requests_mock_mocker(double):
        for path, raised in REQUESTS_RAISES.items():
            with pytest.raises(raised):
                requests.get(f"{base}/{path}", timeout=5)
        assert requests.get(f"{base}/ok", timeout=5).json() == {"ok": True}
    faults = [e.fault for e in double.store.journal.entries()]
    assert faults[:4] == [_fault(p) for p in REQUESTS_RAISES]


def test_with_no_socket_aiohttp_raises_the_same(root: Path) -> None:
    double = OfflineDouble(load_paths([root]))
    base = double.urls["flaky"]

    async def scenario() -> None:
        with aioresponses_mock(double):
            for path, raised in AIOHTTP_RAISES.items():
                with pytest.raises(raised):
                    await _aiohttp_get(f"{base}/{path}")
            assert await _aiohttp_get(f"{base}/ok") == b'{"ok":true}'

    asyncio.run(scenario())


@pytest.mark.parametrize("path", sorted(HTTPX_RAISES))
def test_httpx_meets_the_same_fault_with_and_without_a_socket(
    server: MockServer, root: Path, path: str
) -> None:
    raised, message = HTTPX_RAISES[path]
    with pytest.raises(raised, match=re.escape(message)):
        httpx.get(f"{server.url}/{path}", timeout=5).read()
    double = OfflineDouble(load_paths([root]))
    base = double.urls["flaky"]
    with respx_router(double), pytest.raises(raised, match=re.escape(message)):
        httpx.get(f"{base}/{path}", timeout=5).read()
    with respx_router(double):
        assert httpx.get(f"{base}/ok", timeout=5).json() == {"ok": True}
    assert [e.fault for e in double.store.journal.entries()] == [_fault(path), None]


def _fault(path: str) -> str:
    return {
        "reset": "connection_reset",
        "empty": "empty_response",
        "malformed": "malformed_response",
        "truncated": "truncated_body",
    }[path]


RATED = """
service: flaky
stubs:
  - id: sometimes
    request: {path: /sometimes}
    response: {json: {ok: true}, fault: {kind: empty_response, rate: 0.3}}
"""


def _outcomes_over_http(root: Path, seed: int, n: int) -> list[bool]:
    """For each of ``n`` requests: did it meet the fault?"""
    met = []
    with serve(root, seed=seed) as server, requests.Session() as session:
        for _ in range(n):
            try:
                met.append(session.get(f"{server.url}/sometimes", timeout=5).json() != {"ok": True})
            except requests.ConnectionError:
                met.append(True)
        journaled = [e.fault is not None for e in server.store.journal.entries()]
    assert journaled == met  # the journal marks exactly the requests that met it
    return met


def test_a_rate_breaks_that_share_and_a_seed_repeats_the_draws(tmp_path: Path) -> None:
    root = write_stubs(tmp_path / "stubs", {"flaky.yaml": RATED})
    first = _outcomes_over_http(root, seed=7, n=200)
    assert 30 <= sum(first) <= 90  # 0.3 of 200, drawn (fixed by the seed, so never flaky)
    assert _outcomes_over_http(root, seed=7, n=200) == first
    assert _outcomes_over_http(root, seed=8, n=200) != first

    # With no socket, the same seed draws the same: a test can pin which requests fail.
    double = OfflineDouble(load_paths([root]), Settings(seed=7))
    offline = []
    with requests_mock_mocker(double):
        for _ in range(200):
            try:
                requests.get(f"{double.urls['flaky']}/sometimes", timeout=5)
                offline.append(False)
            except requests.ConnectionError:
                offline.append(True)
    assert offline == first
