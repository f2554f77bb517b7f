"""``mockserver diff`` against a real upstream that changes, and ``mockserver import har``."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from mockserver.cli.main import main

from ..console import MOCKSERVER
from .hars import har_entry, header
from .upstream import API_KEY, PASSWORD, QUERY_TOKEN, SECRET_TOKEN, Upstream, recording, replaying

pytestmark = pytest.mark.timeout(60)
HAND_WRITTEN = """
service: svc
stubs:
  - request: {method: GET, path: "/api/user/{id}"}
    response: {json: {}}
  - request: {method: GET, path_regex: "^/api/"}
  - request: {method: GET, path: /api/status, query: {page: {regex: "^1"}}}
  - request: {method: POST, path: /api/echo, body: {json_subset: {a: 1}}}
"""


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream() as running:
        yield running


@pytest.fixture
def recorded(upstream: Upstream, tmp_path: Path) -> Path:
    """A recording of four requests, and a hand-written file of stubs diff cannot replay."""
    out = tmp_path / "recorded"
    with recording(upstream.url, out) as proxy, requests.Session() as client:
        for path in ("/api/user/1", "/api/status", "/text"):
            client.get(proxy.url + path, timeout=10).raise_for_status()
        client.post(proxy.url + "/api/echo", json={"a": 1}, timeout=10).raise_for_status()
    (out / "hand.yaml").write_text(HAND_WRITTEN, encoding="utf-8")
    return out


def diff(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["diff", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_no_drift_right_after_recording(
    recorded: Path, upstream: Upstream, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = diff(capsys, str(recorded))
    assert code == 0, out
    assert f"svc -> {upstream.url}" in out
    for route in ("GET /api/user/1", "GET /api/status", "GET /text", "POST /api/echo"):
        assert any(line.split()[0] == "ok" and line.endswith(route) for line in out.splitlines())
    assert "path template /api/user/{id}" in out
    assert "path_regex ^/api/" in out
    assert "query page: matched by regex, not a literal value" in out
    assert "body: matched by json_subset, so no exact body to send" in out
    assert out.splitlines()[-1] == "8 stubs: 4 agree, 0 drifted, 4 skipped, 0 failed"


def test_drift_is_reported_by_status_and_json_path(
    recorded: Path, upstream: Upstream, capsys: pytest.CaptureFixture[str]
) -> None:
    upstream.state.version = 2
    code, out, _ = diff(capsys, str(recorded))
    assert code == 1
    lines = [line.strip() for line in out.splitlines()]
    user = lines.index("DRIFTED  svc-get-api-user-1  GET /api/user/1")
    assert lines[user + 1 : user + 4] == [
        '$.name: recorded "Ada", now "Bob"',
        "$.age: missing now (recorded 36)",
        '$.email: added (now "b@x")',
    ]
    status = lines.index("DRIFTED  svc-get-api-status  GET /api/status")
    assert lines[status + 1 : status + 3] == [
        "status: recorded 200, now 503",
        "$.up: recorded true, now false",
    ]
    echo = lines.index("DRIFTED  svc-post-api-echo  POST /api/echo")
    assert lines[echo + 1] == "$.v: recorded 1, now 2"  # the recorded body was sent again
    assert "ok       svc-get-text  GET /text" in lines
    assert lines[-1] == "8 stubs: 1 agree, 3 drifted, 4 skipped, 0 failed"


def test_diff_exit_codes(
    recorded: Path, upstream: Upstream, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert diff(capsys, str(tmp_path / "missing"))[0] == 2
    with pytest.raises(SystemExit) as zero:  # a usage error, said by the parser
        main(["diff", str(recorded), "--timeout", "0"])
    assert zero.value.code == 2
    assert diff(capsys, str(recorded), "--header", "no colon")[0] == 2
    code, _, err = diff(capsys, str(recorded / "hand.yaml"))  # no upstream: nothing to compare
    assert (code, "names an 'upstream:'" in err) == (2, True)
    with pytest.raises(SystemExit) as usage:
        main(["diff"])
    assert usage.value.code == 2
    upstream.stop()
    result = subprocess.run(
        [MOCKSERVER, "diff", str(recorded), "--timeout", "5"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "FAILED   svc-get-api-user-1  GET /api/user/1: upstream unreachable" in result.stdout
    assert "not tried: the upstream failed above" in result.stdout


USERS = {"users": [{"id": 1, "name": "Ada"}], "page": 2}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(200))


def browser_har() -> dict[str, Any]:
    users = json.dumps(USERS, separators=(",", ":"))
    entries = [
        har_entry(
            "GET",
            f"https://api.example.com/v1/users?page=2&access_token={QUERY_TOKEN}",
            {
                "headers": header(
                    (":authority", "api.example.com"),
                    ("accept-encoding", "gzip, deflate, br"),
                    ("authorization", f"Bearer {SECRET_TOKEN}"),
                    ("x-api-key", API_KEY),
                ),
                "queryString": header(("page", "2"), ("access_token", QUERY_TOKEN)),
            },
            {
                "status": 200,
                "headers": header(
                    ("content-type", "application/json; charset=utf-8"),
                    ("content-encoding", "gzip"),
                    ("content-length", "61"),
                    ("etag", '"users-p2"'),
                ),
                "content": {
                    "size": len(users),
                    "compression": len(users) - 61,
                    "mimeType": "application/json",
                    "text": users,
                },
            },
        ),
        har_entry(
            "GET",
            "https://api.example.com/logo.png",
            {"headers": header(("accept", "image/png"))},
            {
                "status": 200,
                "headers": header(("content-type", "image/png")),
                "content": {
                    "size": len(PNG),
                    "mimeType": "image/png",
                    "text": base64.b64encode(PNG).decode(),
                    "encoding": "base64",
                },
            },
        ),
        har_entry(
            "POST",
            "https://api.example.com/v1/login",
            {
                "headers": header(("content-type", "application/json")),
                "postData": {
                    "mimeType": "application/json",
                    "text": json.dumps({"user": "ada", "password": PASSWORD}),
                },
            },
            {
                "status": 201,
                "headers": header(
                    ("content-type", "application/json"),
                    ("set-cookie", f"session={SECRET_TOKEN}; Secure; HttpOnly"),
                ),
                "content": {"size": 11, "mimeType": "application/json", "text": '{"ok":true}'},
            },
        ),
        har_entry(
            "GET",
            "http://localhost:8081/health",
            {"headers": []},
            {
                "status": 200,
                "headers": header(("content-type", "text/plain")),
                "content": {"size": 2, "mimeType": "text/plain", "text": "ok"},
            },
        ),
        har_entry(  # blocked by the browser: no response at all
            "GET",
            "https://ads.example.net/pixel.gif",
            {"headers": []},
            {"status": 0, "headers": [], "content": {"size": 0, "mimeType": "x-unknown"}},
        ),
    ]
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "WebInspector", "version": "537.36"},
            "browser": {"name": "Chrome", "version": "124.0"},
            "pages": [
                {
                    "startedDateTime": "2024-05-01T10:00:00.000+02:00",
                    "id": "page_1",
                    "title": "https://app.example.com/",
                    "pageTimings": {"onContentLoad": 120, "onLoad": 300},
                }
            ],
            "entries": entries,
        }
    }


def test_a_browser_har_imports_redacted_and_replays(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    har, out = tmp_path / "app.har", tmp_path / "stubs"
    har.write_text(json.dumps(browser_har(), indent=2), encoding="utf-8")
    code = main(["import", "har", str(har), "--out", str(out), "--redact", "$.password"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "left out entry 4 (GET https://ads.example.net/pixel.gif): no response" in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["api.example.com.yaml", "localhost-8081.yaml"]
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        for secret in (QUERY_TOKEN, SECRET_TOKEN, API_KEY, PASSWORD):
            assert secret not in text, (secret, path)
    api = yaml.safe_load((out / "api.example.com.yaml").read_text(encoding="utf-8"))
    assert api["upstream"] == "https://api.example.com"
    users, logo, login = api["stubs"]
    assert users["request"]["query"] == {"page": "2"}  # no matcher on the redacted token
    assert (users["response"]["gzip"], users["response"]["json"]) == (True, USERS)
    assert base64.b64decode(logo["response"]["body_base64"]) == PNG
    assert login["request"]["body"] == {"json_subset": {"user": "ada"}}
    local = yaml.safe_load((out / "localhost-8081.yaml").read_text(encoding="utf-8"))
    assert local["upstream"] == "http://localhost:8081"

    with replaying(out) as server, requests.Session() as client:
        # What the recorded browser offered (requests adds br when brotli is installed).
        client.headers["Accept-Encoding"] = "gzip, deflate"
        got_users = client.get(server.url + "/v1/users?page=2", timeout=10)
        cached = client.get(
            server.url + "/v1/users?page=2",
            headers={"If-None-Match": got_users.headers["ETag"]},
            timeout=10,
        )
        got_logo = client.get(server.url + "/logo.png", timeout=10)
        logged_in = client.post(
            server.url + "/v1/login", json={"user": "ada", "password": "x"}, timeout=10
        )
        health = client.get(server.url + "/health", timeout=10)
    assert got_users.headers["Content-Encoding"] == "gzip"  # negotiated, as the service did
    assert got_users.json() == USERS
    assert cached.status_code == 304
    assert (got_logo.content, got_logo.headers["Content-Type"]) == (PNG, "image/png")
    assert (logged_in.status_code, logged_in.json()) == (201, {"ok": True})
    assert logged_in.headers["Set-Cookie"] == "session=<redacted>; Secure; HttpOnly"
    assert health.text == "ok"


def test_har_import_under_one_service_and_bad_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    har, out = tmp_path / "app.har", tmp_path / "one"
    har.write_text(json.dumps(browser_har()), encoding="utf-8")
    assert main(["import", "har", str(har), "--out", str(out), "--service", "app"]) == 0
    document = yaml.safe_load((out / "app.yaml").read_text(encoding="utf-8"))
    assert len(document["stubs"]) == 4
    assert "upstream" not in document  # two origins: no single upstream to name
    not_har = tmp_path / "not.har"
    not_har.write_text('{"log": {"entries": {}}}', encoding="utf-8")
    assert main(["import", "har", str(not_har), "--out", str(out)]) == 1
    assert main(["import", "har", str(tmp_path / "missing.har"), "--out", str(out)]) == 1
    assert main(["import", "har", str(har), "--out", str(out), "--service", "../x"]) == 2
    assert "log.entries must be a list" in capsys.readouterr().err
