"""What the private services the tests start (Redis, RabbitMQ) share: a free port, a wait
until one answers (or its process exits), and a clean end."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable

from tests.waiting import wait_until


def free_port() -> int:
    """A port nothing listens on at this moment: bind port 0, read the number, release it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_answering(
    process: subprocess.Popen[bytes],
    answers: Callable[[], bool],
    what: str,
    log: Callable[[], str],
    timeout: float,
) -> None:
    """Wait until ``answers()`` (the service is up); fail at once, with ``log()``, if the
    process exits first, and at ``timeout`` if neither happens."""
    wait_until(lambda: answers() or process.poll() is not None, f"{what} to answer", timeout)
    if process.poll() is not None:
        raise AssertionError(f"{what} exited ({process.returncode}): {log()}")


def end(process: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """Terminate ``process`` (kill it if it will not go) and reap it; safe to call twice."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
