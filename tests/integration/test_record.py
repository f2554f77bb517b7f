"""Record through the proxy from a real aiohttp upstream, stop it, and replay the files.

Every answer is fetched three times with the same client: from the upstream directly, through
the recording proxy, and from the recording with the upstream gone. All three must agree.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests
import yaml

from .upstream import (
    API_KEY,
    LARGE,
    LOGO,
    PASSWORD,
    QUERY_TOKEN,
    SECRET_COOKIE,
    SECRET_TOKEN,
    SECRETS,
    SET_COOKIE_SECRET,
    TEXT,
    Upstream,
    recording,
    replaying,
)

pytestmark = pytest.mark.timeout(60)

Answer = tuple[int, str | None, bytes]  # status, Content-Type, decoded body
PATHS = ("/pretty", "/text", "/binary", "/gzip", "/deflate", "/plain", "/etag", "/api/user/1")


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream() as running:
        yield running


def fetch_with_requests(base: str, paths: tuple[str, ...]) -> dict[str, Answer]:
    with requests.Session() as session:
        answers = {}
        for path in paths:
            r = session.get(base + path, timeout=10, allow_redirects=False)
            answers[path] = (r.status_code, r.headers.get("Content-Type"), r.content)
        return answers


def fetch_with_aiohttp(base: str, paths: tuple[str, ...]) -> dict[str, Answer]:
    async def fetch() -> dict[str, Answer]:
        answers = {}
        async with aiohttp.ClientSession() as session:
            for path in paths:
                async with session.get(base + path, allow_redirects=False) as r:
                    answers[path] = (r.status, r.headers.get("Content-Type"), await r.read())
        return answers

    return asyncio.run(fetch())


def recorded_stubs(out: Path, name: str = "svc.yaml") -> dict[str, Any]:
    """The recorded file's stubs by path (the request path is unique in these tests)."""
    document = yaml.safe_load((out / name).read_text(encoding="utf-8"))
    return {s["request"]["path"]: s for s in document["stubs"]}


@pytest.mark.parametrize("fetch", [fetch_with_requests, fetch_with_aiohttp])
def test_a_recording_replays_the_same_decoded_bytes_with_the_upstream_gone(
    upstream: Upstream, tmp_path: Path, fetch: Any
) -> None:
    direct = fetch(upstream.url, PATHS)
    with recording(upstream.url, tmp_path) as proxy:
        proxied = fetch(proxy.url, PATHS)
    upstream.stop()
    with replaying(tmp_path) as server:
        replayed = fetch(server.url, PATHS)
    assert proxied == direct
    assert replayed == direct
    assert {a[0] for a in direct.values()} == {200}
    stubs = recorded_stubs(tmp_path)
    assert stubs["/gzip"]["response"]["gzip"] is True  # stored decoded, noted as compressed
    assert stubs["/gzip"]["response"]["body"] == LARGE.decode()
    assert stubs["/deflate"]["response"]["gzip"] is True
    assert "body_base64" in stubs["/binary"]["response"]
    # Kept as the text it was (aiohttp's JSON has spaces): `json:` would replay it compactly.
    assert stubs["/api/user/1"]["response"]["body"] == '{"id": "1", "name": "Ada", "age": 36}'
    assert stubs["/text"]["response"]["body"] == TEXT


def test_a_304_round_trip_with_the_recorded_etag(upstream: Upstream, tmp_path: Path) -> None:
    with recording(upstream.url, tmp_path) as proxy, requests.Session() as client:
        first = client.get(proxy.url + "/etag", timeout=10)
        again = client.get(proxy.url + "/etag", headers={"If-None-Match": '"v1"'}, timeout=10)
    assert (first.status_code, first.headers["ETag"], again.status_code) == (200, '"v1"', 304)
    upstream.stop()
    with replaying(tmp_path) as server, requests.Session() as client:
        fresh = client.get(server.url + "/etag", timeout=10)
        cached = client.get(server.url + "/etag", headers={"If-None-Match": '"v1"'}, timeout=10)
        fresh_again = client.get(server.url + "/etag", timeout=10)
    assert (fresh.status_code, fresh.headers["ETag"], fresh.content) == (200, '"v1"', first.content)
    assert (cached.status_code, cached.content, cached.headers["ETag"]) == (304, b"", '"v1"')
    assert cached.headers["Cache-Control"] == "max-age=60"
    # The upstream's 304 answered a conditional request; it is not what a plain GET gets.
    assert fresh_again.status_code == 200
    assert "responses" not in recorded_stubs(tmp_path)["/etag"]


def test_replay_negotiates_gzip_anew(upstream: Upstream, tmp_path: Path) -> None:
    identity, gzip_ok = {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip"}
    with recording(upstream.url, tmp_path) as proxy, requests.Session() as client:
        got_gzip = client.get(proxy.url + "/gzip", headers=gzip_ok, timeout=10)
        got_plain = client.get(proxy.url + "/deflate", headers=identity, timeout=10)
        never = client.get(proxy.url + "/plain", headers=gzip_ok, timeout=10)
    assert got_gzip.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in got_plain.headers
    assert "Content-Encoding" not in never.headers
    upstream.stop()
    with replaying(tmp_path) as server, requests.Session() as client:
        # Recorded compressed; this client refuses gzip: identity, the same bytes.
        refused = client.get(server.url + "/gzip", headers={"Accept-Encoding": "gzip;q=0"})
        # Recorded uncompressed for a client that refused; this one accepts: compressed.
        accepted = client.get(server.url + "/deflate", headers=gzip_ok, timeout=10)
        # The service sent identity although gzip was acceptable: replay does the same.
        still_plain = client.get(server.url + "/plain", headers=gzip_ok, timeout=10)
    assert "Content-Encoding" not in refused.headers
    assert refused.content == LARGE
    assert accepted.headers["Content-Encoding"] == "gzip"
    assert accepted.content == LARGE  # requests decoded it
    assert "Content-Encoding" not in still_plain.headers
    assert still_plain.content == LARGE


def test_repeated_requests_with_other_answers_replay_as_a_sequence(
    upstream: Upstream, tmp_path: Path
) -> None:
    with recording(upstream.url, tmp_path) as proxy, requests.Session() as client:
        seen = [client.get(proxy.url + "/counter", timeout=10).json() for _ in range(3)]
    assert seen == [{"count": 1}, {"count": 2}, {"count": 3}]
    assert len(recorded_stubs(tmp_path)["/counter"]["responses"]) == 3
    upstream.stop()
    with replaying(tmp_path) as server, requests.Session() as client:
        replayed = [client.get(server.url + "/counter", timeout=10).json() for _ in range(4)]
        client.post(server.url + "/__admin/reset", timeout=10).raise_for_status()
        after_reset = client.get(server.url + "/counter", timeout=10).json()
    assert [r["count"] for r in replayed] == [1, 2, 3, 3]  # then the last repeats
    assert after_reset == {"count": 1}


def test_hop_by_hop_headers_are_neither_forwarded_nor_recorded(
    upstream: Upstream, tmp_path: Path
) -> None:
    sent = {
        "Connection": "keep-alive, X-Hop-Token",
        "X-Hop-Token": "for-the-proxy-only",
        "Keep-Alive": "timeout=5",
        "TE": "trailers",
        "Proxy-Authorization": "Basic cHJveHk6cGFzcw==",
        "X-End-To-End": "goes-through",
    }
    with recording(upstream.url, tmp_path) as proxy, requests.Session() as client:
        answer = client.get(proxy.url + "/hop", headers=sent, timeout=10)
    path, arrived = upstream.state.seen[-1]
    assert path == "/hop"
    assert arrived["x-end-to-end"] == "goes-through"
    for name in ("x-hop-token", "keep-alive", "te", "proxy-authorization"):
        assert name not in arrived, name
    assert answer.headers["X-End-To-End"] == "kept"
    for name in ("Keep-Alive", "Proxy-Authenticate", "Trailer", "X-Hop-Internal"):
        assert name not in answer.headers, name
    recorded = recorded_stubs(tmp_path)["/hop"]["response"]["headers"]
    assert set(recorded) == {"X-End-To-End", "Content-Type"}


def test_redirects_are_passed_back_not_followed(upstream: Upstream, tmp_path: Path) -> None:
    with recording(upstream.url, tmp_path) as proxy, requests.Session() as client:
        answer = client.get(proxy.url + "/redirect", allow_redirects=False, timeout=10)
    assert (answer.status_code, answer.headers["Location"]) == (302, "/etag")
    assert [path for path, _ in upstream.state.seen] == ["/redirect"]
    stub = recorded_stubs(tmp_path)["/redirect"]["response"]
    assert (stub["status"], stub["headers"]["Location"]) == (302, "/etag")
    upstream.stop()
    with replaying(tmp_path) as server, requests.Session() as client:
        replayed = client.get(server.url + "/redirect", allow_redirects=False, timeout=10)
    assert (replayed.status_code, replayed.headers["Location"]) == (302, "/etag")


@pytest.mark.parametrize(
    ("to", "shown"),
    [
        (None, "/etag?x=1"),  # the upstream's own origin: the client stays on the double
        ("https://elsewhere.test/login", "https://elsewhere.test/login"),  # another: as it is
    ],
)
def test_an_absolute_location_on_the_upstream_is_made_relative(
    upstream: Upstream, tmp_path: Path, to: str | None, shown: str
) -> None:
    query = "" if to is None else "?to=" + to
    with recording(upstream.url, tmp_path) as proxy, requests.Session() as client:
        answer = client.get(
            proxy.url + "/redirect-absolute" + query, allow_redirects=False, timeout=10
        )
    assert (answer.status_code, answer.headers["Location"]) == (302, shown)
    stub = recorded_stubs(tmp_path)["/redirect-absolute"]["response"]
    assert stub["headers"]["Location"] == shown
    upstream.stop()
    with replaying(tmp_path) as server, requests.Session() as client:
        replayed = client.get(
            server.url + "/redirect-absolute" + query, allow_redirects=False, timeout=10
        )
    assert replayed.headers["Location"] == shown


def test_a_range_or_conditional_answer_records_the_whole_representation(
    upstream: Upstream, tmp_path: Path
) -> None:
    # Before: the 206 (16 bytes) or the empty 304 became the answer to every plain GET.
    with recording(upstream.url, tmp_path) as proxy, requests.Session() as client:
        tail = client.get(proxy.url + "/logo.bin", headers={"Range": "bytes=-16"}, timeout=10)
        assert (tail.status_code, tail.content) == (206, LOGO[-16:])  # the client's answer
        etag = tail.headers["ETag"]
        unchanged = client.get(proxy.url + "/logo.bin", headers={"If-None-Match": etag}, timeout=10)
        assert unchanged.status_code == 304
    stub = recorded_stubs(tmp_path)["/logo.bin"]
    assert "responses" not in stub  # one representation, not a sequence of slices
    upstream.stop()
    with replaying(tmp_path) as server, requests.Session() as client:
        plain = client.get(server.url + "/logo.bin", timeout=10)
        assert (plain.status_code, plain.content) == (200, LOGO)
        ranged = client.get(server.url + "/logo.bin", headers={"Range": "bytes=0-9"}, timeout=10)
        assert (ranged.status_code, ranged.content) == (206, LOGO[:10])
        assert ranged.headers["Content-Range"] == "bytes 0-9/4096"
        past = client.get(server.url + "/logo.bin", headers={"Range": "bytes=999999-"}, timeout=10)
        assert past.status_code == 416
        again = client.get(server.url + "/logo.bin", headers={"If-None-Match": etag}, timeout=10)
        assert again.status_code == 304  # the service's own tag still validates


def test_form_and_binary_request_bodies_are_matched_exactly_on_replay(
    upstream: Upstream, tmp_path: Path
) -> None:
    # Before: only JSON bodies were matched, so another form or file got the recorded answer.
    form = {"user": "ada", "plan": "pro", "password": "FORM-SECRET"}
    blob = bytes(range(256)) * 4
    with recording(upstream.url, tmp_path) as proxy, requests.Session() as client:
        assert client.post(proxy.url + "/echo-raw", data=form, timeout=10).ok
        assert client.post(proxy.url + "/echo-raw", data=blob, timeout=10).ok
    text = (tmp_path / "svc.yaml").read_text()
    assert "FORM-SECRET" not in text
    stubs = yaml.safe_load(text)["stubs"]
    assert [s["request"]["body"] for s in stubs] == [
        {"form": {"user": "ada", "plan": "pro"}},  # the secret-named field left out
        {"sha256": hashlib.sha256(blob).hexdigest()},
    ]
    upstream.stop()
    with replaying(tmp_path) as server, requests.Session() as client:
        base = server.url + "/echo-raw"
        assert client.post(base, data=form, timeout=10).status_code == 200
        assert client.post(base, data={**form, "plan": "free"}, timeout=10).status_code == 404
        assert client.post(base, data=blob, timeout=10).json()["bytes"] == 1024
        assert client.post(base, data=blob[::-1], timeout=10).status_code == 404


def test_no_secret_reaches_the_files_the_journal_or_the_log(
    upstream: Upstream, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the server's log: mockserver and aiohttp (not urllib3)
    secret_headers = {
        "Authorization": f"Bearer {SECRET_TOKEN}",
        "Cookie": f"sid={SECRET_COOKIE}",
        "X-Api-Key": API_KEY,
    }
    with (
        recording(upstream.url, tmp_path, redact=("$.password",)) as proxy,
        requests.Session() as client,
    ):
        private = client.get(
            proxy.url + "/private",
            params={"token": QUERY_TOKEN, "page": "1"},
            headers=secret_headers,
            timeout=10,
        )
        login = client.post(
            proxy.url + "/login", json={"user": "ada", "password": PASSWORD}, timeout=10
        )
        challenged = client.get(proxy.url + "/private", params={"page": "2"}, timeout=10)
        journal = client.get(proxy.url + "/__admin/requests", timeout=10)
    # The upstream got every secret (the proxy forwards them) and answered accordingly.
    assert private.json() == {"secret": "data"}
    assert SET_COOKIE_SECRET in login.headers["Set-Cookie"]
    assert challenged.status_code == 401
    assert challenged.headers["WWW-Authenticate"] == 'Bearer realm="upstream"'
    assert len(journal.json()["requests"]) == 3
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p.name for p in written] == ["svc.yaml"]
    server_log = "\n".join(
        f"{r.name} {r.getMessage()}"
        for r in caplog.records
        if r.name.split(".")[0] in ("mockserver", "aiohttp")
    )
    assert "recorded" in server_log
    for secret in SECRETS:
        for path in written:
            assert secret not in path.read_text(encoding="utf-8"), (secret, path)
        assert secret not in journal.text, secret
        assert secret not in server_log, secret
    stubs = yaml.safe_load((tmp_path / "svc.yaml").read_text())["stubs"]
    private_stub, login_stub = stubs[0], stubs[1]
    # No matcher on a redacted value: the token is left out, the password too.
    assert private_stub["request"]["query"] == {"page": "1"}
    assert login_stub["request"]["body"] == {"json_subset": {"user": "ada"}}
    assert login_stub["response"]["headers"]["Set-Cookie"] == "session=<redacted>; HttpOnly; Path=/"
