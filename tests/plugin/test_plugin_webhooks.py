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

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", got
    server.shutdown()
    server.server_close()


def until(condition, deadline=10.0):
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, "not within the deadline"
        time.sleep(0.02)


def test_the_call_is_seen(mockserver, receiver):
    url, got = receiver
    assert requests.post(os.environ["PAY_URL"] + "/pay", json={"callback": url + "/cb"}).ok
    until(lambda: got and mockserver.webhooks)
    assert got == [{"paid": True}]
    (call,) = mockserver.webhooks
    assert (call["stub"], call["status"], call["error"]) == ("pay", 204, None)


def test_the_next_test_starts_afresh(mockserver):
    assert mockserver.webhooks == []
"""


def test_a_test_sees_its_webhook_calls(project: Project, pytester: pytest.Pytester) -> None:
    project({"test_pay.py": TESTS}, stubs={"stubs/pay.yaml": PAY})
    result = pytester.runpytest("-p", "no:randomly")
    result.assert_outcomes(passed=2)
