"""Issue 13 item 2 and its near-miss note: what a hostile large body costs a server, and what
each distinct unmatched path costs with 10,000 stubs.

    python -m benchmarks.match_budget [--tree DIR] [--skip-large]

``--tree`` runs the code of another checkout (``git worktree add /tmp/old REV``), side by side
with this one. Large bodies: `mockserver serve` on 127.0.0.1 with stubs whose body matchers
(json, json_subset, json_path ``$..name``) come near a POST of 550k objects, 5M zeros and 10 MB
of MessagePack nils; printed: the 404's time and size, and the longest an unrelated GET waited
meanwhile. Near misses: ``respond()`` in process, 100 distinct unmatched paths against 10,000
stubs; printed: CPU ms per request.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

STUBS = """\
stubs:
  - id: ok
    request: {method: GET, path: /ok}
    response: {body: ok}
  - id: big-json
    request: {method: POST, path: /big, body: {json: {a: 1}}}
  - id: big-subset
    request: {method: POST, path: /big, body: {json_subset: [{name: x}]}}
  - id: big-names
    request: {method: POST, path: /big, body: {json_path: {"$..name": zzz}}}
  - id: big-names-re
    request: {method: POST, path: /big, body: {json_path: {"$..name": {regex: "^z+$"}}}}
"""

NEAR_MISS = r"""
import sys, time
from mockserver import RequestView
from mockserver.core.respond import respond
from mockserver.core.store import StubStore
from mockserver.stubfiles.stubfile import combine, parse_service

stubs = []
for i in range(10000):
    if i % 2:
        request = {"method": "GET", "path": f"/api/v1/resource{i}/items/{{id}}"}
    else:
        request = {"method": "GET", "path": f"/api/v1/resource{i}/list", "query": {"page": "1"}}
    stubs.append({"id": f"s{i}", "request": request, "response": {"body": "x"}})
service, parsed, _ = parse_service({"stubs": stubs}, "t.yaml", "svc", lambda n: b"")
store = StubStore(combine([(service, parsed)]))
for k in range(5):
    respond(store, None, RequestView("GET", f"/warm/{k}", "", (), b""))
began = time.process_time()
for k in range(100):
    view = RequestView("GET", f"/api/v2/unknown{k}/x", "", (), b"")
    assert respond(store, None, view).status == 404
print(f"{(time.process_time() - began) * 10:.1f}")
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bodies() -> dict[str, tuple[bytes, str]]:
    import msgpack

    return {
        "550k objects": (
            json.dumps([{"name": "a"}] * 550_000, separators=(",", ":")).encode(),
            "application/json",
        ),
        "5M zeros": (
            json.dumps([0] * 5_000_000, separators=(",", ":")).encode(),
            "application/json",
        ),
        "10 MB MessagePack nils": (msgpack.packb([None] * 10_000_000), "application/msgpack"),
    }


def _ordinary(base: str, done: threading.Event, waited: list[float]) -> None:
    """GET /ok again and again until ``done``, noting how long each waited."""
    import requests

    with requests.Session() as client:
        while not done.is_set():
            began = time.monotonic()
            client.get(base + "/ok", timeout=900)
            waited.append(time.monotonic() - began)


def large_bodies(env: dict[str, str]) -> None:
    import requests

    folder = Path(tempfile.mkdtemp())
    (folder / "big.yaml").write_text(STUBS)
    port = _free_port()
    command = [sys.executable, "-m", "mockserver", "serve", str(folder), "--port", str(port)]
    server = subprocess.Popen(
        command,
        env=env,
        cwd=tempfile.gettempdir(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(base + "/ok", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        for name, (body, content_type) in _bodies().items():
            waited: list[float] = []
            done = threading.Event()
            beside = threading.Thread(target=_ordinary, args=(base, done, waited))
            beside.start()
            began = time.monotonic()
            answer = requests.post(
                base + "/big", data=body, headers={"Content-Type": content_type}, timeout=900
            )
            took = time.monotonic() - began
            done.set()
            beside.join()
            print(
                f"  {name}: {answer.status_code} in {took:.2f} s, {len(answer.content):,} bytes; "
                f"an unrelated GET waited at most {max(waited, default=0):.2f} s"
            )
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", help="a checkout whose mockserver to measure instead")
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.tree:
        env["PYTHONPATH"] = str(Path(args.tree).resolve())
    print(f"tree: {args.tree or 'this one'}")
    if not args.skip_large:
        print("large bodies against json/json_subset/json_path stubs (a miss):")
        large_bodies(env)
    near = subprocess.run(
        [sys.executable, "-c", NEAR_MISS],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"10,000 stubs: {near.stdout.strip()} ms of CPU per distinct unmatched path")


if __name__ == "__main__":
    main()
