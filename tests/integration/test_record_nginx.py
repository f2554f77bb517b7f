"""nginx recorded and replayed side by side (issue 16): Debian's nginx, started by the test on
a free port with a private prefix and ``gzip on; etag on;``, is recorded through the real
recording proxy; then the same requests go to nginx and to the replay and the answers are
compared on the wire (wirecompare.py), and a caching client reaches each origin as often.

Where nginx is not installed or will not start, the test fails saying so: .ci/run installs it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from cachecontrol import CacheControl
from cachecontrol.cache import DictCache

from ..waiting import wait_until
from .upstream import replaying
from .wirecompare import Request, differences, on_the_wire, record

pytestmark = pytest.mark.timeout(120)

PAGE = ("<!doctype html><title>nginx</title>" + "<p>served by nginx</p>\n" * 80).encode()
LOGO = bytes(range(256)) * 16
IDENTITY, GZIP = {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip"}

CONFIG = """
daemon off;
master_process off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    types {{ text/html html; application/json json; application/octet-stream bin; }}
    default_type application/octet-stream;
    gzip on;
    gzip_types application/json;
    gzip_min_length 20;
    gzip_vary on;
    etag on;
    map $http_accept $negotiated {{ ~text/html /negotiate.html; default /negotiate.json; }}
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
        location = /api/negotiate {{ add_header Vary Accept; try_files $negotiated =404; }}
        location = /cached.json {{ expires 1h; }}
        location = /login.json {{
            add_header Set-Cookie "session=abc123; HttpOnly; Path=/";
            add_header Set-Cookie "theme=dark; Max-Age=3600";
        }}
        location = /away {{ return 302 http://127.0.0.1:{port}/index.html; }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(url: str) -> bool:
    try:
        return requests.get(url + "/index.html", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


class NginxUnavailable(Exception):
    """nginx is not installed or would not start (the reason is the message)."""


@contextmanager
def running_nginx(root: Path) -> Iterator[str]:
    """nginx serving a few files from the private prefix ``root``; yields its URL.

    Raises:
        NginxUnavailable: not installed, or not answering within 15 s.
    """
    binary = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None
    )
    if binary is None:
        raise NginxUnavailable("nginx is not installed (Debian: apt-get install nginx)")
    www = root / "www"
    for sub in ("tmp", "www"):
        (root / sub).mkdir(parents=True)
    (www / "index.html").write_bytes(PAGE)
    (www / "logo.bin").write_bytes(LOGO)
    (www / "negotiate.html").write_text("<p>html from nginx</p>" * 4)
    (www / "negotiate.json").write_text('{"format": "json", "from": "nginx"}')
    (www / "cached.json").write_text('{"fresh": "for an hour", "padding": "' + "x" * 100 + '"}')
    (www / "login.json").write_text('{"user": "ada"}')
    port = free_port()
    conf = root / "nginx.conf"
    conf.write_text(CONFIG.format(root=root, port=port))
    process = subprocess.Popen(
        [binary, "-p", str(root), "-c", str(conf), "-e", str(root / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until(lambda: process.poll() is not None or answers(url), "nginx", 15)
        except AssertionError:
            raise NginxUnavailable(f"nginx did not answer on {url} within 15 s") from None
        if process.poll() is not None:
            error = process.stderr.read().decode().strip() if process.stderr else ""
            raise NginxUnavailable(
                f"nginx did not start: {error or f'exit status {process.returncode}'}"
            )
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)
        if process.stderr is not None:
            process.stderr.close()


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[str]:
    try:
        with running_nginx(tmp_path / "nginx") as url:
            yield url
    except NginxUnavailable as exc:
        # nginx is a Debian package .ci/run installs, like the other real services: its
        # absence is a broken setup, never a pass.
        pytest.fail(f"{exc}; .ci/run installs it", pytrace=False)


def compared(page_tag: str) -> list[Request]:
    return [
        ("GET", "/index.html", {}),
        ("GET", "/index.html", IDENTITY),
        ("GET", "/index.html", GZIP | {"If-Match": page_tag}),
        ("GET", "/index.html", IDENTITY | {"If-Match": page_tag}),
        ("GET", "/index.html", GZIP | {"If-None-Match": f"W/{page_tag}"}),
        ("GET", "/index.html", IDENTITY | {"If-None-Match": page_tag}),
        ("HEAD", "/index.html", {}),
        ("GET", "/logo.bin", {}),
        ("GET", "/logo.bin", {"Range": "bytes=0-9"}),
        ("GET", "/logo.bin", {"Range": "bytes=-16"}),
        ("GET", "/logo.bin", {"Range": "bytes=999999-"}),
        ("HEAD", "/logo.bin", {}),
        ("GET", "/api/negotiate", {"Accept": "text/html"}),
        ("GET", "/api/negotiate", {"Accept": "application/json"}),
        ("GET", "/cached.json", {}),
        ("GET", "/login.json", {}),
        ("GET", "/away", {}),
    ]


def test_nginx_and_its_replay_answer_alike(nginx: str, tmp_path: Path) -> None:
    page_tag = requests.get(nginx + "/index.html", headers=IDENTITY, timeout=10).headers["ETag"]
    assert not page_tag.startswith("W/")
    asked = compared(page_tag)
    out = tmp_path / "recorded"
    record(nginx, out, asked)
    direct = [on_the_wire(nginx, request) for request in asked]
    with replaying(out) as replay:
        replayed = [on_the_wire(replay.url, request) for request in asked]
    assert differences(asked, direct, replayed) == {}
    by_request = dict(zip((" ".join(map(str, r)) for r in asked), replayed, strict=True))
    assert by_request["GET /index.html {}"]["etag"] == f"W/{page_tag}"  # nginx's gzip tag
    assert by_request[f"GET /index.html {IDENTITY}"]["etag"] == page_tag
    assert by_request["GET /logo.bin {'Range': 'bytes=-16'}"]["body"] == LOGO[-16:]
    assert by_request["HEAD /logo.bin {}"]["length"] == str(len(LOGO))


def test_a_caching_client_reaches_nginx_and_the_replay_as_often(nginx: str, tmp_path: Path) -> None:
    out = tmp_path / "recorded"
    record(nginx, out, [("GET", "/index.html", {})])

    def three_times(base: str) -> list[int]:
        cache, seen = DictCache(), []
        for _ in range(3):
            with CacheControl(requests.Session(), cache=cache) as session:
                answer = session.get(base + "/index.html", timeout=10)
                assert answer.content == PAGE
                seen.append(getattr(answer, "from_cache", False))
        return seen

    from_nginx = three_times(nginx)
    with replaying(out) as replay:
        from_replay = three_times(replay.url)
        journal = requests.get(replay.url + "/__admin/requests", timeout=10).json()["requests"]
    assert from_nginx == from_replay == [False, True, True]
    assert [entry["status"] for entry in journal] == [200, 304, 304]
