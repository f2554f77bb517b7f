"""Issue 13, reliability and security round two: each defect the second probe found, fixed.

Each test is named after its defect, runs the probe's size against a real server, and is
bounded in time: what took tens of seconds (or closed every connection) is answered at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from mockserver import MockServer

from ..integration.admin_helpers import Admin, serve, write_stubs
from .helpers import APP_STUBS

STUBS = (
    APP_STUBS
    + """\
  - id: three-in-a-segment
    request: {method: GET, path: "/m3/{a}.{b}.{c}.json"}
    response: {body: three}
"""
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    root = write_stubs(tmp_path_factory.mktemp("stubs"), {"app.yaml": STUBS})
    with serve(root) as server:
        yield server


@pytest.fixture
def admin(server: MockServer) -> Iterator[Admin]:
    with Admin(server.url) as admin:
        admin.ok("DELETE", "/requests")
        yield admin


def timed_beside_an_unrelated_request(
    admin: Admin, send: Callable[[], None]
) -> tuple[float, float]:
    """Seconds the hostile request took, and the longest an ordinary one waited meanwhile."""
    waited: list[float] = []
    done = threading.Event()

    def ordinary() -> None:
        with requests.Session() as client:
            while not done.is_set():
                began = time.monotonic()
                assert client.get(admin.base + "/ok", timeout=30).text == "ok"
                waited.append(time.monotonic() - began)

    beside = threading.Thread(target=ordinary)
    beside.start()
    began = time.monotonic()
    try:
        send()
    finally:
        took = time.monotonic() - began
        done.set()
        beside.join(timeout=60)
    return took, max(waited, default=0.0)


def test_item_3_a_segment_with_several_parameters_does_not_backtrack(admin: Admin) -> None:
    # Before: the lazy groups backtracked with the cube of the length, 22 s of CPU for this.
    hostile = "/m3/" + "." * 1600 + "x"

    def send() -> None:
        assert admin.mock("GET", hostile).status_code == 404

    took, waited = timed_beside_an_unrelated_request(admin, send)
    assert took < 1.0
    assert waited < 1.0
    # And the template still captures what it should, shortest first as before.
    assert admin.mock("GET", "/m3/a.b.c.d.json").text == "three"
    assert admin.mock("GET", "/m3/a..json").status_code == 404  # {b} is never empty
