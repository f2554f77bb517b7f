"""Is a mockserver answering ``GET /__admin/health`` with ok? The probe itself.

Used by ``mockserver healthcheck`` (the container's HEALTHCHECK) and by the container fixture
while it waits for a container to serve. Standard library only, and no proxy settings are
consulted (an HTTP_PROXY in the environment must not reroute a probe of 127.0.0.1).
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

from mockserver.core.headernames import ACCEPT, AUTHORIZATION

__all__ = ["HEALTH_PATH", "check", "health_url"]

HEALTH_PATH = "/__admin/health"


def health_url(host: str, port: int) -> str:
    """The health URL of a server bound to ``host:port``, as seen from the same machine."""
    if host in ("", "0.0.0.0", "localhost"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    return f"http://{shown}:{port}{HEALTH_PATH}"


def check(url: str, timeout: float = 3.0, token: str | None = None) -> tuple[bool, str]:
    """GET ``url`` (a server's base URL or its health URL); returns (healthy, one-line reason).

    With the server's admin ``token`` the answer has its counts; without, only whether it
    serves (a server with a token tells no more to a caller without it)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False, f"not an http(s) URL: {url!r}"
    path = parts.path.rstrip("/")
    if not path.endswith(HEALTH_PATH):
        path += HEALTH_PATH
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    try:
        conn = cls(parts.hostname, parts.port, timeout=timeout)
    except ValueError as exc:  # a port out of range
        return False, f"{url}: {exc}"
    where = f"{parts.scheme}://{parts.netloc}{path}"
    try:
        headers = {ACCEPT: "application/json"}
        if token:
            headers[AUTHORIZATION] = f"Bearer {token}"
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        raw = response.read(1 << 20)
    except TimeoutError:
        return False, f"{where}: no answer within {timeout:g} s"
    except (OSError, http.client.HTTPException) as exc:
        return (
            False,
            f"{where}: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}",
        )
    finally:
        conn.close()
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    status = body.get("status") if isinstance(body, dict) else None
    if response.status != 200 or status != "ok":
        said = f"status {status!r}" if status is not None else "no JSON status"
        return False, f"{where}: HTTP {response.status}, {said}"
    if "services" not in body:  # a token is set and we have none: only whether it serves
        return True, f"ok: {body.get('message', 'serving')}"
    return (
        True,
        f"ok: {_count(body.get('services'), 'service')}, {_count(body.get('stubs'), 'stub')}",
    )


def _count(number: object, word: str) -> str:
    return f"{number} {word}{'' if number == 1 else 's'}"
