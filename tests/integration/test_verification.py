"""assert_called over a real server and a real client: in process, through the journal's own
entries (the body as its bytes); remotely, through the admin API's JSON."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from mockserver import MockServer, Settings
from mockserver.testing.client import MockServerClient
from mockserver.testing.handle import Backend, LocalBackend, MockServerHandle, RemoteBackend

UPLOADS = """
    service: files
    stubs:
      - id: upload
        request: {method: POST, path: /upload}
        response: {status: 201}
"""
# A PNG's signature and bytes that are no UTF-8 at all: the journal shows them as base64.
BINARY = b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x80binary"


@pytest.fixture
def server(make_stubs: Callable[[dict[str, str]], Path]) -> Iterator[MockServer]:
    settings = Settings(paths=(str(make_stubs({"files.yaml": UPLOADS})),), port=0)
    with MockServer(settings) as running:
        yield running


@pytest.fixture(params=["in process", "remote"])
def backend(request: pytest.FixtureRequest, server: MockServer) -> Iterator[Backend]:
    if request.param == "in process":
        yield LocalBackend(server.store, server)
        return
    with MockServerClient(server.url) as client:
        yield RemoteBackend(client)


def test_assert_called_matches_a_binary_request_body(backend: Backend) -> None:
    handle = MockServerHandle(backend)
    sent = requests.post(handle.url + "/upload", data=BINARY, timeout=10)
    assert sent.status_code == 201
    (entry,) = handle.requests
    assert entry["body_encoding"] == "base64"  # what the JSON of the journal carries

    digest = hashlib.sha256(BINARY).hexdigest()
    found = handle.assert_called("POST", "/upload", times=1, body={"sha256": digest})
    assert found == [entry]
    handle.service("files").assert_called("POST", "/upload", times=1, body={"sha256": digest})
    other = hashlib.sha256(BINARY + b"!").hexdigest()
    handle.assert_not_called("POST", "/upload", body={"sha256": other})
    with pytest.raises(AssertionError, match="expected POST /upload at least once"):
        handle.assert_called("POST", "/upload", body={"sha256": other})


def test_in_process_verification_matches_what_was_sent_not_what_is_shown(
    server: MockServer,
) -> None:
    """The journal's JSON redacts a secret-named header; verification in process still
    matches the value that was sent, as Journal.count does."""
    handle = MockServerHandle(LocalBackend(server.store, server))
    headers = {"Authorization": "Bearer abc"}
    requests.post(handle.url + "/upload", data=b"x", headers=headers, timeout=10)
    assert handle.requests[0]["headers"]["authorization"] == "<redacted>"
    handle.assert_called("POST", "/upload", times=1, headers={"Authorization": "Bearer abc"})
    handle.assert_not_called("POST", "/upload", headers={"Authorization": "Bearer other"})
