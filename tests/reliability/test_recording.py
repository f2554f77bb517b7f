"""research/reliability.md §4 rows 34-40: the recording proxy against upstreams that are down,
slow, broken or hostile, and what it keeps.

The promise each time: the client gets a 502/504 naming the upstream (no traceback), nothing
partial is recorded, secrets never reach disk, the journal or the log, and what is written
stays inside the output directory. The upstreams here all listen on 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import yaml

from mockserver import MockServer, Settings
from mockserver.formats.loader import load_paths
from mockserver.recording.mode import Target, recording_server
from mockserver.recording.proxy import UpstreamSettings

from ..console import run_console
from ..integration.admin_helpers import Admin
from .helpers import exchange, port_of
from .scripted import ScriptedUpstream, bomb_bytes


@contextmanager
def recording(
    url: str, out: Path, *, redact: Sequence[str] = (), total: float = 2.0
) -> Iterator[MockServer]:
    """``mockserver record --target users=URL --out OUT`` in-process; written on exit."""
    settings = Settings(paths=(), port=0)
    stubs, forwarding = recording_server(
        [Target("users", url)],
        out,
        settings,
        redact=redact,
        upstream=UpstreamSettings(connect_timeout=1.0, total_timeout=total),
    )
    with MockServer(settings, stubs=stubs, forwarding=forwarding) as server:
        yield server


def recorded_paths(out: Path) -> list[str]:
    """The request paths of every stub recorded into ``out``."""
    paths = []
    for file in sorted(out.glob("*.yaml")):
        paths += [s["request"]["path"] for s in yaml.safe_load(file.read_text())["stubs"]]
    return paths


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("url", "statuses", "names"),
    [
        (f"http://127.0.0.1:{closed_port()}", (502,), "ClientConnectorError"),
        ("http://no-such-host.invalid", (502, 504), ""),  # NXDOMAIN, or a resolver that hangs
        ("https://127.0.0.1:{plain}", (502,), "SSL"),  # TLS to a plain-HTTP port
    ],
    ids=["refused", "nxdomain", "tls-failure"],
)
def test_row_34_an_upstream_that_is_down_gets_502_naming_it_and_nothing_is_recorded(
    tmp_path: Path, url: str, statuses: tuple[int, ...], names: str
) -> None:
    with ScriptedUpstream() as plain:
        url = url.replace("{plain}", plain.url.rsplit(":", 1)[1])
        with recording(url, tmp_path) as server:
            answer = requests.get(server.url + "/plain", timeout=30)
            assert answer.status_code in statuses
            body = answer.json()
            assert body["target"] == url
            assert body["error"] in ("upstream unreachable", "upstream timed out")
            assert names in body["detail"]
            assert "Traceback" not in answer.text
    assert list(tmp_path.iterdir()) == []


def test_row_35_a_slow_upstream_gets_504_at_the_deadline_and_nothing_partial_is_kept(
    tmp_path: Path,
) -> None:
    with socket.socket() as full:  # a listener whose queue is full: connecting hangs
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        fillers = [socket.socket() for _ in range(4)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(full.getsockname())
        try:
            with recording(f"http://127.0.0.1:{full.getsockname()[1]}", tmp_path) as server:
                answer = requests.get(server.url + "/x", timeout=30)
                assert answer.status_code == 504
                assert "no answer within" in answer.json()["detail"]
        finally:
            for filler in fillers:
                filler.close()
    with ScriptedUpstream() as upstream, recording(upstream.url, tmp_path, total=1.0) as server:
        answer = requests.get(server.url + "/slow-body", timeout=30)
        assert (answer.status_code, answer.json()["error"]) == (504, "upstream timed out")
        assert requests.get(server.url + "/plain", timeout=30).text == "plain"
    assert recorded_paths(tmp_path) == ["/plain"]


def test_row_36_a_broken_upstream_answer_is_502_and_not_recorded(tmp_path: Path) -> None:
    # Compressed here, before the clock runs: gzip -9 of 200 MiB takes seconds on a loaded
    # machine, and inside the upstream's answer it ran past the proxy's 2 s budget (a 504).
    bomb_bytes()
    with (
        ScriptedUpstream() as upstream,
        recording(upstream.url, tmp_path) as server,
        requests.Session() as session,
    ):
        for path in ("/reset", "/bad-chunks", "/reset"):
            answer = session.get(server.url + path, timeout=30)
            assert answer.status_code == 502, (path, answer.text)
            assert answer.json()["target"] == upstream.url
        # the broken connection is not reused: the next exchange is whole
        assert session.get(server.url + "/plain", timeout=30).text == "plain"
        bomb = session.get(server.url + "/bomb", timeout=30, stream=True)
        assert bomb.headers["Content-Encoding"] == "gzip"
        assert bomb.raw.read(decode_content=False) == bomb_bytes()  # passed on as sent
    assert recorded_paths(tmp_path) == ["/plain", "/bomb"]
    (file,) = tmp_path.glob("*.yaml")
    assert file.stat().st_size < 2 * len(bomb_bytes())  # kept coded, not 200 MiB of zeros
    stub = yaml.safe_load(file.read_text())["stubs"][1]["response"]
    assert stub["headers"]["Content-Encoding"] == "gzip"
    load_paths([tmp_path])  # and it replays


def test_row_37_clients_cannot_steer_the_proxy_and_redirects_are_not_followed(
    tmp_path: Path,
) -> None:
    with ScriptedUpstream() as upstream, recording(upstream.url, tmp_path) as server:
        port = port_of(server.url)
        for request in (
            b"GET http://169.254.169.254/plain HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n",
            b"GET /plain HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n",
            b"GET //169.254.169.254/plain HTTP/1.1\r\nHost: x\r\n\r\n",
        ):
            exchange(port, request)
        redirect = exchange(port, b"GET /redirect HTTP/1.1\r\nHost: x\r\n\r\n")
        assert redirect.status == 302
        assert redirect.headers["location"] == "http://169.254.169.254/latest/meta-data/"
    # Every request went to the configured upstream, once each, and the redirect was not
    # followed (the scripted upstream is the only server the proxy could have reached).
    targets = [seen["target"] for seen in upstream.seen]
    assert targets == ["/plain", "/plain", "//169.254.169.254/plain", "/redirect"]
    assert {seen["host"] for seen in upstream.seen} == {upstream.url.removeprefix("http://")}


def test_row_37_an_upstream_on_a_metadata_address_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cloud.yaml").write_text("upstream: http://169.254.169.254\nstubs: []\n")
    result = run_console("validate", str(tmp_path))
    assert result.returncode == 1
    assert "169.254.169.254" in result.stderr


SECRETS = {
    "Authorization": "Bearer AUTH-SECRET",
    "Proxy-Authorization": "Basic PROXY-SECRET",
    "Cookie": "session=COOKIE-SECRET",
    "X-Api-Key": "APIKEY-SECRET",
}


def test_row_38_secrets_never_reach_disk_journal_or_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "out"
    query = {"token": "QUERY-TOKEN-SECRET", "api_key": "QUERY-KEY-SECRET", "page": "2"}
    body = {"name": "Ada", "password": "BODY-PASSWORD-SECRET"}
    with (
        caplog.at_level(logging.DEBUG),
        ScriptedUpstream() as upstream,
        recording(upstream.url, out, redact=["$.password"]) as server,
    ):
        answer = requests.post(
            server.url + "/echo", params=query, json=body, headers=SECRETS, timeout=30
        )
        assert answer.status_code == 200
        assert answer.cookies["session"] == "SET-COOKIE-SECRET"  # the client gets it
        with Admin(server.url) as admin:
            journal = json.dumps(admin.ok("GET", "/requests"))
    written = "".join(p.read_text() for p in out.rglob("*"))
    server_side = ("mockserver", "aiohttp", "asyncio")  # not the test's own client
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(server_side))
    for where, text in (("recording", written), ("journal", journal), ("log", logged)):
        assert "SECRET" not in text, f"a secret reached the {where}"
    assert "<redacted>" in written
    assert "<redacted>" in journal
    (stub,) = yaml.safe_load(written)["stubs"]
    assert stub["request"]["query"] == {"page": "2"}  # no matcher on a redacted value


def test_row_38_a_json_password_is_redacted_by_default(tmp_path: Path) -> None:
    with ScriptedUpstream() as upstream, recording(upstream.url, tmp_path) as server:
        requests.post(server.url + "/plain", json={"password": "PW-SECRET"}, timeout=30)
    assert "PW-SECRET" not in "".join(p.read_text() for p in tmp_path.glob("*.yaml"))


def test_row_39_hop_by_hop_and_coding_headers_are_neither_forwarded_nor_recorded(
    tmp_path: Path,
) -> None:
    hop = {
        "Connection": "X-Private",
        "X-Private": "for-this-hop",
        "Keep-Alive": "timeout=5",
        "TE": "trailers",
        "Trailer": "X-Checksum",
        "Upgrade": "websocket",
        "Proxy-Connection": "keep-alive",
    }
    with ScriptedUpstream() as upstream, recording(upstream.url, tmp_path) as server:
        answer = requests.get(server.url + "/echo", headers=hop, timeout=30)
        assert answer.status_code == 200
        for name in ("X-Hop", "Keep-Alive", "Proxy-Authenticate", "Trailer", "Upgrade"):
            assert name not in answer.headers, name
    (seen,) = upstream.seen
    for name in ("x-private", "keep-alive", "te", "trailer", "upgrade", "proxy-connection"):
        assert name not in seen, name
    (stub,) = yaml.safe_load(next(tmp_path.glob("*.yaml")).read_text())["stubs"]
    response = stub["response"]
    recorded = {name.lower() for name in response.get("headers", {})}
    dropped = {"connection", "x-hop", "keep-alive", "proxy-authenticate", "trailer", "upgrade"}
    assert not recorded & (dropped | {"content-encoding", "content-length", "transfer-encoding"})
    assert response["json"]["target"] == "/echo"  # stored decoded, not as gzip bytes
    assert "authorization" not in response["json"]["headers"]


def test_row_40_hostile_paths_make_safe_stubs_in_the_output_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "users.yaml").write_text("# written by hand\nstubs: []\n")
    hostile = [
        "/../../etc/passwd",
        "/" + "a" * 5000,
        "/CON",
        "/con.yaml",
        "/%C3%BCn%C3%AF/c%C3%B6d%C3%A9",  # /ünï/cödé
        "/%2e%2e/%2e%2e/x",
    ]
    with ScriptedUpstream() as upstream, recording(upstream.url, out) as server:
        for path in hostile:
            exchange(port_of(server.url), f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert files == ["out", "out/users.recorded.yaml", "out/users.yaml"]
    assert (out / "users.yaml").read_text() == "# written by hand\nstubs: []\n"
    stubs = yaml.safe_load((out / "users.recorded.yaml").read_text())["stubs"]
    assert len(stubs) == len(hostile)
    for stub in stubs:
        assert len(stub["id"]) <= 80
        assert all(c.isascii() and (c.isalnum() or c == "-") for c in stub["id"]), stub["id"]
    assert load_paths([out / "users.recorded.yaml"]).stubs  # and they load again
    result = run_console("record", "--target", "../evil=http://127.0.0.1:9", "--out", str(out))
    assert result.returncode == 2
    assert "target name '../evil'" in result.stderr
