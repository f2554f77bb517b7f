"""Debian's redis-server, started by the tests on a free port with a private directory.

Never a system service and nothing persisted (no RDB snapshot, no AOF). ``stop()`` and
``start()`` again on the same port stand for Redis going away and coming back.
`.ci/run` installs redis-server, so where it is missing the tests fail saying so rather than
skip: a skip would hide a broken CI setup.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest

from tests.services import end, free_port, wait_answering

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
DEADLINE = 30.0


def _answers(port: int) -> bool:
    """Redis is up: PING answers +PONG, or -NOAUTH where a password is set."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


class RedisServer:
    """One redis-server process; ``url`` is ``redis://127.0.0.1:PORT/0``."""

    def __init__(self, password: str | None = None) -> None:
        if not Path(REDIS_SERVER).exists():
            pytest.fail(
                "redis-server is not installed: .ci/run installs Debian's redis-server "
                "(apt-get install redis-server)",
                pytrace=False,
            )
        self.port = free_port()
        self.password = password
        self.directory = Path(tempfile.mkdtemp(prefix="mockserver-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> Self:
        """Start it (again, on the same port) and wait until it answers PING."""
        command = [
            REDIS_SERVER,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        if self.password:
            command += ["--requirepass", self.password]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        log = self.directory / "redis.log"
        wait_answering(
            self.process,
            lambda: _answers(self.port),
            f"redis-server on port {self.port}",
            lambda: log.read_text(errors="replace")[-2000:] if log.exists() else "",
            DEADLINE,
        )
        return self

    def stop(self) -> None:
        """Stop it (Redis gone); safe to call twice."""
        end(self.process, DEADLINE)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
