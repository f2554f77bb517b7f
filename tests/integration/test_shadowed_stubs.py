"""A recorded stub that answers in place of a hand-written one is said by a real ``serve``: in
its log at start and at each reload, and in the near-miss report a client gets."""

from __future__ import annotations

import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from ..console import MOCKSERVER, Console, clean_env
from ..waiting import write_until

pytestmark = pytest.mark.timeout(60)

HAND = """\
service: users
stubs:
  - id: get-user-1
    request: {method: GET, path: /api/user/1}
    response: {json: {name: hand}}
"""
RECORDED = """\
# Recorded by mockserver from http://users.internal on 2026-12-06 08:00:00 UTC.
service: users
stubs:
  - id: users-get-api-user-1
    request: {method: GET, path: /api/user/1}
    response: {json: {name: recorded}}
"""


def test_serve_says_which_file_wins_at_start_at_reload_and_in_the_near_miss_report(
    make_stubs: Callable[[dict[str, str]], Path],
) -> None:
    root = make_stubs({"users.yaml": HAND, "users.recorded.yaml": RECORDED})
    expected = (
        f"shadowed: GET /api/user/1: stub 'users-get-api-user-1' in {root}/users.recorded.yaml "
        f"answers; stub 'get-user-1' in {root}/users.yaml never does (equal priority, and "
        "users.recorded.yaml loads before users.yaml: files load in path order)"
    )
    args = ["serve", str(root), "--port", "0", "--watch"]
    with Console([MOCKSERVER, *args], env=clean_env()) as console:
        warned = console.next_line(lambda line: "shadowed:" in line)
        assert warned.endswith("WARNING mockserver.load: " + expected)
        admin = console.next_line(lambda line: line.startswith("  admin: "))
        url = admin.split()[-1].removesuffix("/__admin/health")
        assert requests.get(url + "/api/user/1", timeout=10).json() == {"name": "recorded"}

        missed = requests.delete(url + "/api/user/1", timeout=10)
        assert missed.status_code == 404
        notes = {m["stub"]: m.get("shadowed") for m in missed.json()["nearest"]}
        assert notes["get-user-1"] == (
            f"shadowed on GET /api/user/1 by stub 'users-get-api-user-1' in "
            f"{root}/users.recorded.yaml (stub #0), which answers first (equal priority, and "
            "users.recorded.yaml loads before users.yaml: files load in path order)"
        )
        assert notes["users-get-api-user-1"] is None
        # The text report in the log says it under the stub it concerns.
        console.next_line(lambda line: re.search(r"\d\. stub get-user-1 ", line) is not None)
        assert console.next_line(lambda line: "shadowed on" in line).strip() == notes["get-user-1"]

        # A reload says it again; giving the hand-written stub priority makes it answer.
        edited = HAND.replace("  - id: get-user-1\n", "  - id: get-user-1\n    priority: 1\n")
        write_until(
            root / "users.yaml",
            edited,
            lambda: requests.get(url + "/api/user/1", timeout=10).json() == {"name": "hand"},
            what="the reload with the priority",
        )
        again = console.next_line(lambda line: "shadowed:" in line)
        assert "stub 'get-user-1' in" in again.split("answers;")[0]
        assert "(priority 1 over 0)" in again
        console.process.send_signal(signal.SIGTERM)
        assert console.process.wait(timeout=30) == 0
