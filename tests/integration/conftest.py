"""Fixtures shared by the integration tests: stub directories on disk and free ports."""

from __future__ import annotations

import socket
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.rabbitserver import RabbitServer
from tests.redisserver import RedisServer


def find_free_port() -> int:
    """A port nothing listens on at this moment: bind port 0, read the number, release it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def free_port() -> Callable[[], int]:
    return find_free_port


@pytest.fixture
def make_stubs(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write ``{relative name: YAML text}`` into a fresh directory and return the directory."""
    created = 0

    def make(files: dict[str, str]) -> Path:
        nonlocal created
        created += 1
        root = tmp_path / f"stubs{created}"
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        root.mkdir(exist_ok=True)
        return root

    return make


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A private redis-server on a free port, stopped after the test (tests/redisserver.py)."""
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def rabbit_server() -> Iterator[RabbitServer]:
    """One private RabbitMQ node for the session (a node takes seconds to boot); tests use
    names of their own (``unique_name``). A test that stops the broker starts its own."""
    with RabbitServer() as server:
        yield server


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``unique_name("incoming")`` → ``incoming.<test>.<random>``: exchanges and queues of one
    test never meet another's on the shared node."""
    tag = f"{request.node.name[:40]}.{uuid.uuid4().hex[:8]}"
    return lambda base: f"{base}.{tag}"
