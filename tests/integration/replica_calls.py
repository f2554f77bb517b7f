"""Calls to replicas (real ``mockserver serve`` processes sharing one Redis) for the
test_state_* tests: an admin call, what a path answers, and the 1 s contract as a wait."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import requests

from tests.waiting import wait_until

# One file stub: what every replica serves from its files.
FILES = """
stubs:
  - id: hello
    request: {method: GET, path: /hello}
    response: {status: 200, body: "hello from a file"}
"""
# The contract (DESIGN.md "Staging at scale"): an admin write on one replica is served by all
# within this many seconds.
BOUND = 1.0
TIMEOUT = 5.0


def admin(base: str, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
    """``METHOD base/__admin/path``; fails unless it answers ``status``; the JSON it sent."""
    answer = requests.request(method, f"{base}/__admin{path}", timeout=TIMEOUT, **kwargs)
    assert answer.status_code == status, (method, path, answer.status_code, answer.text)
    return answer.json()


def body(base: str, path: str) -> str | None:
    """What ``GET base/path`` answers, None unless 200."""
    answer = requests.get(base + path, timeout=TIMEOUT)
    return answer.text if answer.status_code == 200 else None


def all_serve(bases: Sequence[str], path: str, wanted: str | None, what: str) -> None:
    """Every replica answers ``path`` with ``wanted`` (None: not 200) within BOUND seconds."""
    wait_until(lambda: all(body(b, path) == wanted for b in bases), what, timeout=BOUND)


def eventually(condition: Callable[[], object], what: str) -> None:
    """``condition`` holds within BOUND seconds."""
    wait_until(condition, what, timeout=BOUND)


def stub(path: str, text: str, **extra: Any) -> dict[str, Any]:
    """A runtime stub answering ``GET path`` with ``text``."""
    return {"request": {"method": "GET", "path": path}, "response": {"body": text}, **extra}
