"""``webhooks:``: calls a stub makes after its answer, to a real receiver, journaled."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from aiohttp import web

from ..console import run_console
from ..waiting import wait_until
from .admin_helpers import Admin, serve, write_stubs


class Receiver:
    """A real aiohttp server, in a thread of its own, that keeps what each call brought and
    when it arrived."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        started = threading.Event()
        address: list[str] = []

        async def any_call(request: web.Request) -> web.Response:
            self.calls.append(
                {
                    "at": time.monotonic(),
                    "method": request.method,
                    "path": request.path_qs,
                    "headers": dict(request.headers),
                    "body": await request.read(),
                }
            )
            return web.Response(status=204)

        async def main() -> None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", any_call)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            address.append(f"http://127.0.0.1:{runner.addresses[0][1]}")
            self._stop = asyncio.Event()
            started.set()
            await self._stop.wait()
            await runner.cleanup()

        def run() -> None:
            try:
                self._loop.run_until_complete(main())
            finally:
                self._loop.close()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert started.wait(30), "the receiver did not start"
        self.url = address[0]

    def close(self) -> None:
        if self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(30)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def stubs(url: str) -> str:
    return f"""\
service: pay
stubs:
  - id: pay
    request: {{method: POST, path: /pay}}
    response: {{status: 202, json: {{accepted: true}}}}
    webhooks:
      - url: {url}/callbacks/paid?token=CALLBACK-SECRET
        delay_ms: 200
        headers: {{X-Signature: abc}}
        json: {{order: 42, status: paid}}
      - url: {url}/audit
        method: PUT
        body: paid
  - id: plain
    request: {{method: GET, path: /plain}}
    response: {{body: plain}}
"""


def test_a_stub_calls_its_webhooks_after_its_answer(tmp_path: Path, receiver: Receiver) -> None:
    root = write_stubs(tmp_path, {"pay.yaml": stubs(receiver.url)})
    with serve(root) as server, Admin(server.url) as admin:
        answer = requests.post(server.url + "/pay", json={"id": 42}, timeout=10)
        answered = time.monotonic()
        assert (answer.status_code, answer.json()) == (202, {"accepted": True})
        assert requests.get(server.url + "/plain", timeout=10).text == "plain"  # none here
        wait_until(lambda: len(receiver.calls) == 2, "both webhooks received", timeout=10)
        by_path = {c["path"].split("?")[0]: c for c in receiver.calls}
        paid, audit = by_path["/callbacks/paid"], by_path["/audit"]
        assert paid["method"] == "POST"
        assert paid["headers"]["X-Signature"] == "abc"
        assert paid["headers"]["Content-Type"] == "application/json"
        assert json.loads(paid["body"]) == {"order": 42, "status": "paid"}
        assert paid["at"] - answered > 0.15  # after the answer, and after its delay
        assert (audit["method"], audit["body"]) == ("PUT", b"paid")
        deliveries = wait_until(
            lambda: (d := admin.ok("GET", "/webhooks")["webhooks"]) and len(d) == 2 and d,
            "both deliveries journaled",
            timeout=10,
        )
        assert {(d["stub"], d["method"], d["status"], d["error"]) for d in deliveries} == {
            ("pay", "POST", 204, None),
            ("pay", "PUT", 204, None),
        }
        # A secret in the callback's query is not shown.
        shown = json.dumps(deliveries)
        assert "CALLBACK-SECRET" not in shown
        assert "token=<redacted>" in shown
        admin.ok("POST", "/reset")
        assert admin.ok("GET", "/webhooks") == {"webhooks": []}


def test_an_unreachable_destination_is_journaled_and_nothing_else_suffers(
    tmp_path: Path,
) -> None:
    gone = Receiver()
    url = gone.url
    gone.close()  # nobody listens there now
    root = write_stubs(tmp_path, {"pay.yaml": stubs(url)})
    with serve(root) as server, Admin(server.url) as admin:
        assert requests.post(server.url + "/pay", timeout=10).status_code == 202
        deliveries = wait_until(
            lambda: (d := admin.ok("GET", "/webhooks")["webhooks"]) and len(d) == 2 and d,
            "both failures journaled",
            timeout=20,
        )
        assert all(d["status"] is None and "ClientConnectorError" in d["error"] for d in deliveries)
        assert requests.get(server.url + "/plain", timeout=10).text == "plain"


@pytest.mark.parametrize(
    ("webhook", "message"),
    [
        (
            "{url: 'http://169.254.169.254/latest/meta-data'}",
            "is a link-local (cloud metadata) address",
        ),
        ("{url: 'http://[::ffff:169.254.169.254]/'}", "is refused"),
        ("{url: 'file:///etc/passwd'}", "url is an http(s) URL"),
        ("{url: 'http://x.test/', method: TRACE}", "method is one of"),
        ("{url: 'http://x.test/', json: {}, body: x}", "give json or body, not both"),
        ("{url: 'http://x.test/', headers: {'X-A': \"a\\nb\"}}", "control characters"),
        ("{uri: 'http://x.test/'}", "uri"),
    ],
)
def test_a_bad_webhook_is_a_located_load_error(tmp_path: Path, webhook: str, message: str) -> None:
    text = f"""\
service: pay
stubs:
  - id: pay
    request: {{path: /pay}}
    webhooks: [{webhook}]
"""
    root = write_stubs(tmp_path, {"pay.yaml": text})
    result = run_console("validate", str(root))
    assert result.returncode == 1, result.stderr
    assert "pay.yaml:5:" in result.stderr
    assert "stub 'pay': webhooks[0]" in result.stderr
    assert message in result.stderr, result.stderr


def test_a_templated_stub_renders_its_webhooks_for_each_request(
    tmp_path: Path, receiver: Receiver
) -> None:
    text = """\
service: pay
stubs:
  - id: pay
    request: {method: POST, path: "/pay/{order}"}
    response: {status: 202, template: true, json: {order: "{{ request.path_params.order }}"}}
    webhooks:
      - url: "{{ request.json.callback }}?order={{ request.path_params.order }}"
        headers: {X-Order: "{{ request.path_params.order }}"}
        json: {order: "{{ request.path_params.order }}", amount: "{{ request.json.amount }}"}
"""
    root = write_stubs(tmp_path, {"pay.yaml": text})
    with serve(root) as server, Admin(server.url) as admin:
        for order, amount in (("42", 10), ("43", 20)):
            sent = {"callback": receiver.url + "/paid", "amount": amount}
            assert requests.post(server.url + f"/pay/{order}", json=sent, timeout=10).json() == {
                "order": order
            }
        wait_until(lambda: len(receiver.calls) == 2, "both webhooks received", timeout=10)
        by_order = {c["headers"]["X-Order"]: c for c in receiver.calls}
        assert by_order["42"]["path"] == "/paid?order=42"
        assert json.loads(by_order["43"]["body"]) == {"order": "43", "amount": 20}  # type kept
        # A rendered URL is checked like a written one: a metadata address is never called.
        evil = {"callback": "http://169.254.169.254/latest", "amount": 1}
        assert requests.post(server.url + "/pay/44", json=evil, timeout=10).status_code == 202
        refused = wait_until(
            lambda: [d for d in admin.ok("GET", "/webhooks")["webhooks"] if d["error"]],
            "the refused call journaled",
            timeout=10,
        )
        assert "not sent:" in refused[0]["error"]
        assert "link-local" in refused[0]["error"]
        # No callback in the body: the URL renders without a host; journaled, never sent.
        assert requests.post(server.url + "/pay/45", json={}, timeout=10).status_code == 202
        hostless = wait_until(
            lambda: [d for d in admin.ok("GET", "/webhooks")["webhooks"] if "order=45" in d["url"]],
            "the hostless call journaled",
            timeout=10,
        )
        assert hostless[0]["error"] == "not sent: url is an http(s) URL, got '?order=45'"
    assert len(receiver.calls) == 2
