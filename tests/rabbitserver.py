"""Debian's rabbitmq-server, started by the tests as a private node on free ports.

The node runs as the current user from ``/usr/lib/rabbitmq/bin/rabbitmq-server`` (the
``/usr/sbin`` wrapper would switch to the ``rabbitmq`` user and write to /var/lib/rabbitmq),
with HOME, data, logs, configuration and the enabled-plugins file (none) in a temporary
directory, its own node name, and its own epmd on a free port, started here so that it is
ours to stop (the node would otherwise start a daemonised epmd that outlives it). ``stop()``
and ``start()`` again on the same ports stand for the broker going away and coming back.
`.ci/run` installs rabbitmq-server, so where it is missing the tests fail saying so.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest

from tests.services import end, free_port, wait_answering

RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
EPMD = shutil.which("epmd") or "/usr/lib/erlang/bin/epmd"
DEADLINE = 90.0  # a cold node on a loaded two-core machine takes 7-20 s
AMQP_HEADER = b"AMQP\x00\x00\x09\x01"


def answers_amqp(port: int) -> bool:
    """The broker answers the AMQP 0-9-1 header with a Connection.Start method frame."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(AMQP_HEADER)
            frame = sock.recv(16)
    except OSError:
        return False
    # frame type 1 (method), channel 0, then class 10 (connection) method 10 (start)
    return len(frame) >= 11 and frame[0] == 1 and frame[7:11] == b"\x00\x0a\x00\x0a"


class RabbitServer:
    """One private RabbitMQ node; ``url`` is ``amqp://guest:guest@127.0.0.1:PORT/%2F``."""

    def __init__(self) -> None:
        if not Path(RABBITMQ_SERVER).exists():
            pytest.fail(
                "rabbitmq-server is not installed: .ci/run installs Debian's rabbitmq-server "
                "(apt-get install rabbitmq-server)",
                pytrace=False,
            )
        self.port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.name = f"mockserver-{uuid.uuid4().hex[:10]}@localhost"
        self.directory = Path(tempfile.mkdtemp(prefix="mockserver-rabbit-"))
        for sub in ("home", "mnesia", "log"):
            (self.directory / sub).mkdir()
        (self.directory / "enabled_plugins").write_text("[].\n")
        (self.directory / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            # the tests' machines have little disk free; the broker must not block publishers
            "disk_free_limit.absolute = 1MB\n"
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.epmd: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def _environment(self) -> dict[str, str]:
        base = self.directory
        return {
            **os.environ,
            "HOME": str(base / "home"),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(base / "mnesia" / "plugins-expand"),
        }

    def start(self) -> Self:
        """Start the node (again, on the same ports) and wait until it answers AMQP."""
        environment = self._environment()
        if self.epmd is None or self.epmd.poll() is not None:
            self.epmd = subprocess.Popen(
                [EPMD, "-port", str(self.epmd_port), "-address", "127.0.0.1"],
                env=environment,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        output = open(self.directory / "startup.log", "ab")  # noqa: SIM115 - kept by the child
        with output:
            self.process = subprocess.Popen(
                [RABBITMQ_SERVER],
                env=environment,
                cwd=self.directory,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            wait_answering(
                self.process,
                lambda: answers_amqp(self.port),
                f"rabbitmq-server on port {self.port}",
                self._log_tail,
                DEADLINE,
            )
        except AssertionError as exc:
            self.stop()
            raise AssertionError(f"{exc}: {self._log_tail()}") from None
        return self

    def _log_tail(self) -> str:
        return (self.directory / "startup.log").read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        """Stop the node (the broker gone); epmd stays for a restart. Safe to call twice."""
        end(self.process, DEADLINE)
        self.process = None

    def close(self) -> None:
        self.stop()
        end(self.epmd, DEADLINE)
        self.epmd = None
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
