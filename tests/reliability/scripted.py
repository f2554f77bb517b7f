"""An upstream that answers each path with scripted bytes, well-formed or not, in a thread.

The recording proxy's faults (resets, broken chunking, slowness, bombs) need an upstream that
misbehaves on purpose, which a real HTTP framework will not do; this one writes raw bytes.
"""

from __future__ import annotations

import functools
import gzip
import json
import socket
import socketserver
import struct
import threading
from collections.abc import Callable
from types import TracebackType

Script = Callable[[socket.socket, dict[str, str]], None]


def _send(body: bytes, *headers: str, status: str = "200 OK") -> Script:
    def script(sock: socket.socket, request: dict[str, str]) -> None:
        head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers, "", ""]
        sock.sendall("\r\n".join(head).encode() + body)

    return script


def _echo(sock: socket.socket, request: dict[str, str]) -> None:
    """The path and the names of the headers that arrived (never a value: no echoed secret)."""
    path = request["target"].split("?")[0]
    seen = {"target": path, "headers": sorted(set(request) - {"target", "body"})}
    body = gzip.compress(json.dumps(seen, separators=(",", ":")).encode(), mtime=0)
    _send(
        body,
        "Content-Type: application/json",
        "Content-Encoding: gzip",
        "Connection: keep-alive, X-Hop",
        "X-Hop: hop-value",
        "Keep-Alive: timeout=5",
        "Proxy-Authenticate: Basic",
        "Trailer: X-Checksum",
        "Upgrade: h2c",
        "Set-Cookie: session=SET-COOKIE-SECRET; HttpOnly",
    )(sock, request)


@functools.cache
def bomb_bytes() -> bytes:
    """200 MiB of zeros in about 200 KB of gzip."""
    return gzip.compress(b"\0" * (200 * 1024 * 1024), compresslevel=9)


def _bomb(sock: socket.socket, request: dict[str, str]) -> None:
    _send(bomb_bytes(), "Content-Type: text/plain", "Content-Encoding: gzip")(sock, request)


def _reset(sock: socket.socket, request: dict[str, str]) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"partial")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _bad_chunks(sock: socket.socket, request: dict[str, str]) -> None:
    sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n")


TRAILED_BODY = b"hello, trailed world"
TRAILER = "X-Checksum: sha256=abc123"


def _trailed(sock: socket.socket, request: dict[str, str]) -> None:
    """A chunked answer whose checksum comes after the body, in a trailer (RFC 9112 §7.1.2)."""
    head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Before: head\r\n"
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(part), part) for part in (TRAILED_BODY[:7], TRAILED_BODY[7:])
    )
    sock.sendall(
        f"{head}Transfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n".encode()
        + chunks
        + f"0\r\n{TRAILER}\r\n\r\n".encode()
    )


class ScriptedUpstream:
    """Serves ``scripts`` (path → what to write) on 127.0.0.1; remembers request heads."""

    def __init__(self) -> None:
        self.release = threading.Event()  # lets a slow script finish
        self.seen: list[dict[str, str]] = []

        def slow(sock: socket.socket, request: dict[str, str]) -> None:
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nx")
            self.release.wait(30)

        self.scripts: dict[str, Script] = {
            "/echo": _echo,
            "/reset": _reset,
            "/bad-chunks": _bad_chunks,
            "/slow-body": slow,
            "/redirect": _send(
                b"", "Location: http://169.254.169.254/latest/meta-data/", status="302 Found"
            ),
            "/bomb": _bomb,
            "/corrupt-gzip": _send(b"not gzip at all", "Content-Encoding: gzip"),
            "/plain": _send(b"plain", "Content-Type: text/plain"),
            "/trailed": _trailed,
        }
        upstream = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                sock: socket.socket = self.request
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    if not data and chunk[:1] == b"\x16":  # a TLS handshake: say HTTP
                        sock.sendall(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
                        return
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                request = {"target": lines[0].split(" ")[1]}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    request[name.strip().lower()] = value.strip()
                length = int(request.get("content-length", "0"))
                while len(body) < length:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    body += chunk
                request["body"] = body.decode("latin-1")
                upstream.seen.append(request)
                path = request["target"].split("?")[0]
                upstream.scripts.get(path, _send(b"no script", status="404 Not Found"))(
                    sock, request
                )

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ScriptedUpstream:
        self.thread.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
