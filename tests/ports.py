"""Free ports for the private services the tests start (Redis, RabbitMQ)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on at this moment: bind port 0, read the number, release it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
