"""The recorder is transparent on the way in: the service gets the client's request headers,
no others (aiohttp's own Accept-Encoding, Accept, User-Agent, Content-Type are not added),
and the client gets what the service answered. Through the real ``mockserver record`` and
``mockserver serve --spy``, with http.client and curl as clients."""

from __future__ import annotations

import http.client
import subprocess
import textwrap
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ..console import DEADLINE
from .upstream import LARGE, Upstream, console

pytestmark = pytest.mark.timeout(60)

Proxy = Callable[[Upstream, Path], AbstractContextManager[str]]


def recorder(upstream: Upstream, tmp_path: Path) -> AbstractContextManager[str]:
    out = str(tmp_path / "recorded")
    return console("record", "--target", f"svc={upstream.url}", "--out", out, "--port", "0")


def spy(upstream: Upstream, tmp_path: Path) -> AbstractContextManager[str]:
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    (stubs / "svc.yaml").write_text(
        textwrap.dedent(
            f"""\
            upstream: {upstream.url}
            stubs:
              - request: {{path: /stubbed}}
                response: {{body: stubbed}}
            """
        ),
        encoding="utf-8",
    )
    return console("serve", str(stubs), "--port", "0", "--spy")


PROXIES = [pytest.param(recorder, id="record"), pytest.param(spy, id="serve --spy")]


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream() as running:
        yield running


def send(
    base: str, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request with exactly these headers (plus Host, and Content-Length for a body):
    http.client adds no Accept-Encoding when told not to, and nothing else."""
    parts = urlsplit(base)
    assert parts.hostname is not None
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        answered = {k.lower(): v for k, v in response.getheaders()}
        return response.status, answered, response.read()
    finally:
        connection.close()


def last_seen(upstream: Upstream, path: str) -> dict[str, str]:
    """The headers the service got with its latest request for ``path``."""
    return next(headers for seen, headers in reversed(upstream.state.seen) if seen == path)


@pytest.mark.parametrize("proxy", PROXIES)
def test_a_request_without_accept_encoding_reaches_the_service_without_it(
    upstream: Upstream, tmp_path: Path, proxy: Proxy
) -> None:
    direct = send(upstream.url, "GET", "/gzip", {})
    sent_directly = last_seen(upstream, "/gzip")
    with proxy(upstream, tmp_path) as url:
        status, headers, body = send(url, "GET", "/gzip", {})
    forwarded = last_seen(upstream, "/gzip")
    assert "accept-encoding" not in forwarded  # so the service did not compress
    assert sorted(forwarded) == sorted(sent_directly) == ["host"]
    assert (status, body) == (200, LARGE) == direct[::2]
    # The answer is the service's, header for header (Date aside: another second, maybe).
    assert "content-encoding" not in headers
    assert headers | {"date": ""} == direct[1] | {"date": ""}


@pytest.mark.parametrize("proxy", PROXIES)
def test_the_service_gets_the_clients_headers_as_sent_and_no_others(
    upstream: Upstream, tmp_path: Path, proxy: Proxy
) -> None:
    mine = {"Accept": "application/json", "User-Agent": "probe/1", "X-Trace": "t-1"}
    body = b'{"name": "Ada"}'  # and no Content-Type: none is invented
    with proxy(upstream, tmp_path) as url:
        plain = send(url, "GET", "/api/user/1", mine)
        posted = send(url, "POST", "/api/echo", {}, body)
    assert last_seen(upstream, "/api/user/1") == {"host": urlsplit(upstream.url).netloc} | {
        name.lower(): value for name, value in mine.items()
    }
    assert sorted(last_seen(upstream, "/api/echo")) == ["content-length", "host"]
    assert (plain[0], posted[0]) == (200, 200)


@pytest.mark.parametrize("proxy", PROXIES)
@pytest.mark.parametrize("compressed", [False, True], ids=["plain curl", "curl --compressed"])
def test_curl_gets_plain_bytes_unless_it_asks_for_compression(
    upstream: Upstream, tmp_path: Path, proxy: Proxy, compressed: bool
) -> None:
    with proxy(upstream, tmp_path) as url:
        command = [
            "curl",
            "-sS",
            "-D",
            "-",
            *(["--compressed"] if compressed else []),
            url + "/gzip",
        ]
        result = subprocess.run(command, capture_output=True, timeout=DEADLINE, check=True)
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    lines = [line.lower() for line in head.decode("latin-1").split("\r\n")]
    assert body == LARGE  # curl --compressed decodes what it asked for
    assert any(line.startswith("content-encoding: gzip") for line in lines) is compressed
    seen = last_seen(upstream, "/gzip")
    assert seen["user-agent"].startswith("curl/")
    assert ("accept-encoding" in seen) is compressed
