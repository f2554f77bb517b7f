"""mockserver.webhooks: a test sees its stubs' webhook calls, each test afresh."""

from __future__ import annotations

import pytest

from .conftest import Project

PAY = """
service: pay
stubs:
  - id: pay
    request: {method: POST, path: /pay}
    response: {status: 202, template: true}
    webhooks:
      - url: "{{ request.json.callback }}"
        json: {paid: true}
"""

TESTS = """
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests


@pytest.fixture
def receiver():
    got = []
    arrived = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()
            arrived.set()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", got, arrived
    server.shutdown()
    server.server_close()


def journaled(mockserver, arrived, deadline=10.0):
    # The delivery is journaled once the receiver's answer is read, just after it arrived.
    assert arrived.wait(deadline), "the webhook did not arrive"
    end = time.monotonic() + deadline
    while not (calls := mockserver.webhooks):
        assert time.monotonic() < end, "not journaled within the deadline"
        arrived.wait(0.005)  # set already: returns at once; the loop is bounded by the deadline
    return calls


def test_the_call_is_seen(mockserver, receiver):
    url, got, arrived = receiver
    assert requests.post(os.environ["PAY_URL"] + "/pay", json={"callback": url + "/cb"}).ok
    (call,) = journaled(mockserver, arrived)
    assert got == [{"paid": True}]
    assert (call["stub"], call["status"], call["error"]) == ("pay", 204, None)


def test_the_next_test_starts_afresh(mockserver):
    assert mockserver.webhooks == []
"""


def test_a_test_sees_its_webhook_calls(project: Project, pytester: pytest.Pytester) -> None:
    project({"test_pay.py": TESTS}, stubs={"stubs/pay.yaml": PAY})
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)
