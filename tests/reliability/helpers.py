"""Shared by the reliability tests: raw sockets that read HTTP framing, the console script as a
subprocess, and what the process holds (RSS, open files)."""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from .. import console, waiting
from ..console import DEADLINE, MOCKSERVER, clean_env

# The stub file most reliability tests serve starts so; each adds the stubs it needs.
APP_STUBS = """\
service: app
stubs:
  - id: ok
    request: {method: GET, path: /ok}
    response: {body: ok}
  - id: upload
    request: {method: POST, path: /upload}
    response: {body: stored}
"""


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@dataclass
class Answer:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes


class Raw:
    """One TCP connection that sends bytes as given and reads answers by their framing."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def answer(self, *, head: bool = False) -> Answer:
        """The next response; ``head`` for one that has no body whatever it declares."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                raise ConnectionError(f"closed before a whole head: {self.buffer[:200]!r}")
        raw_head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = raw_head.decode("latin-1").split("\r\n")
        _, status, reason = [*lines[0].split(" ", 2), ""][:3]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        code = int(status)
        length = 0 if head or code in (204, 304) else int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            if not self._fill():
                raise ConnectionError("closed before the whole body")
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return Answer(code, reason, headers, body)

    def closed_by_peer(self, within: float = DEADLINE) -> bool:
        """The server closes the connection (EOF or reset) within ``within`` seconds, with
        nothing more sent."""
        self.sock.settimeout(within)
        try:
            extra = self.sock.recv(1)
        except ConnectionResetError:
            return not self.buffer
        except TimeoutError:
            return False
        return extra == b"" and not self.buffer

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Raw:
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def exchange(port: int, request: bytes, *, head: bool = False) -> Answer:
    """Send one request on a fresh connection and read its answer."""
    with Raw(port) as raw:
        raw.send(request)
        return raw.answer(head=head)


def rss_bytes() -> int:
    """This process's resident memory, from /proc (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def open_fds() -> int:
    """File descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def wait_for(condition: Callable[[], object], what: str, timeout: float = DEADLINE) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    waiting.wait_until(condition, what, timeout)


_WITH_LIMIT = (
    "import os, resource, sys; "
    "resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), int(sys.argv[2]))); "
    "os.execv(sys.argv[3], sys.argv[3:])"
)


class Console(console.Console):
    """``mockserver ARGS`` as a subprocess whose output is read line by line as it comes."""

    def __init__(
        self,
        *args: str,
        cwd: Path | None = None,
        open_files: tuple[int, int] | None = None,
        **env: str,
    ) -> None:
        command = [MOCKSERVER, *args]
        if open_files is not None:  # start it with this (soft, hard) limit on open files
            command = [sys.executable, "-c", _WITH_LIMIT, *map(str, open_files), *command]
        super().__init__(command, cwd=cwd, env=clean_env(**env))

    def wait_for(self, pattern: str, timeout: float = DEADLINE) -> re.Match[str]:
        """The first new line matching ``pattern``; fails at the deadline or on exit."""
        line = self.next_line(lambda text: re.search(pattern, text), timeout)
        found = re.search(pattern, line)
        assert found is not None
        return found

    def port(self) -> int:
        """The main port, from the banner's admin line."""
        return int(self.wait_for(r"^  admin: http://[^:]+:(\d+)/").group(1))
