"""The private Unix sockets of ``serve --workers``: where they are, who may call, a client.

They need no file: on Linux they are abstract Unix sockets (no path, so a read-only root with
no writable /tmp does not matter), named with a random part, and every call on them is refused
unless the caller runs as our user (SO_PEERCRED), the protection a 0700 directory gives a
socket file. Elsewhere they live in a 0700 temporary directory.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import struct
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp
from aiohttp import hdrs, web
from aiohttp.client_exceptions import UnixClientConnectorError
from yarl import URL

from mockserver.core.errors import HttpProblem, MockServerError

__all__ = [
    "RELAYED",
    "Handler",
    "Reply",
    "UnixClient",
    "error_reply",
    "private_place",
    "release_place",
    "unix_server",
    "worker_socket",
]

CALL_TIMEOUT: Final = 120.0  # reloading 10,000 stubs takes about a second; a hung worker, forever
RELAYED: Final[tuple[str, ...]] = (
    hdrs.CONTENT_TYPE,
    hdrs.ALLOW,
)  # the headers of an answer worth passing on


Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


def worker_socket(directory: str | Path, index: int) -> str:
    return str(Path(directory) / f"worker-{index}.sock")


def private_place() -> str:
    """Where this cluster's private sockets go: an abstract name's prefix on Linux, else a
    new 0700 temporary directory.

    Raises:
        MockServerError: (not on Linux) no temporary directory can be made.
    """
    if sys.platform != "linux":
        try:
            return tempfile.mkdtemp(prefix="mockserver-")
        except OSError as exc:  # FileNotFoundError: no usable temporary directory
            raise MockServerError(
                f"serve --workers needs a writable temporary directory (TMPDIR): {exc}"
            ) from None
    return f"\0mockserver-{os.getpid()}-{secrets.token_hex(8)}"


def release_place(place: str) -> None:
    if not place.startswith("\0"):
        shutil.rmtree(place, ignore_errors=True)


def _peer_is_us(request: web.BaseRequest) -> bool:
    """The caller on a Unix socket runs as our user (where the system says who it is)."""
    if sys.platform != "linux":
        return True  # the socket file's 0700 directory keeps others out
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None:
        return False
    size = struct.calcsize("3i")
    _, uid, _ = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, size))
    return bool(uid == os.getuid())


def unix_server(handler: Handler, max_body: int) -> web.Server:
    """A low-level aiohttp server for a private socket, taking admin bodies up to ``max_body``
    from processes of our user only."""

    async def guarded(request: web.BaseRequest) -> web.StreamResponse:
        if not _peer_is_us(request):
            return web.Response(status=403, text="not a process of this server's user")
        return await handler(request)

    def request_factory(
        message: Any, payload: Any, protocol: Any, writer: Any, task: Any
    ) -> web.BaseRequest:
        loop = asyncio.get_running_loop()
        return web.BaseRequest(
            message, payload, protocol, writer, task, loop, client_max_size=max_body
        )

    return web.Server(guarded, request_factory=request_factory, access_log=None)


@dataclass(frozen=True, slots=True)
class Reply:
    """One process's answer to one call: status, body and the headers worth passing on."""

    status: int
    body: bytes
    headers: dict[str, str]

    @classmethod
    def of(cls, status: int, value: Any) -> Reply:
        return cls(status, json.dumps(value).encode(), {hdrs.CONTENT_TYPE: "application/json"})

    @property
    def failed(self) -> bool:
        return self.status >= 400

    def json(self) -> Any:
        return json.loads(self.body)

    def response(self) -> web.Response:
        return web.Response(status=self.status, body=self.body, headers=self.headers)


def error_reply(status: int, error: str, detail: str) -> Reply:
    return Reply.of(status, HttpProblem(status, error, detail).as_dict())


class _SocketConnector(aiohttp.UnixConnector):
    """A UnixConnector that connects the socket itself: uvloop cannot connect to an abstract
    name by path (libuv takes it as a C string, ending at the leading NUL), but takes a
    connected socket."""

    async def _create_connection(
        self, req: Any, traces: Any, timeout: aiohttp.ClientTimeout
    ) -> Any:
        factory: Any = self._factory
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            async with asyncio.timeout(timeout.sock_connect):
                await self._loop.sock_connect(sock, self.path)
            _, proto = await self._loop.create_unix_connection(factory, sock=sock)
        except OSError as exc:
            sock.close()
            raise UnixClientConnectorError(self.path, req.connection_key, exc) from exc
        except BaseException:
            sock.close()
            raise
        return proto


class UnixClient:
    """HTTP to one of our processes over its Unix socket (the session opens on first use)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._session: aiohttp.ClientSession | None = None

    async def call(
        self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Reply:
        """Send ``method target`` (path and query, already percent-encoded)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=_SocketConnector(path=self.path),
                timeout=aiohttp.ClientTimeout(total=CALL_TIMEOUT),
            )
        url = URL("http://mockserver" + target, encoded=True)
        async with self._session.request(method, url, data=body or None, headers=headers) as answer:
            data = await answer.read()
            kept = {name: answer.headers[name] for name in RELAYED if name in answer.headers}
            return Reply(answer.status, data, kept)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
