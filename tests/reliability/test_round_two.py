"""Issue 13, reliability and security round two: each defect the second probe found, fixed.

Each test is named after its defect, runs the probe's size against a real server, and is
bounded in time: what took tens of seconds (or closed every connection) is answered at once.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import msgpack
import pytest
import requests

from mockserver import MockServer

from ..console import DEADLINE, MOCKSERVER, Console, clean_env, run_console
from ..integration.admin_helpers import Admin, serve, write_stubs
from ..waiting import wait_until
from .helpers import APP_STUBS, Raw, exchange, port_of, rss_bytes

STUBS = (
    APP_STUBS
    + """\
  - id: three-in-a-segment
    request: {method: GET, path: "/m3/{a}.{b}.{c}.json"}
    response: {body: three}
  - id: catastrophic-query
    request: {method: GET, path: /re, query: {v: {regex: "^(a|aa)+$"}}}
  - id: catastrophic-header
    request: {method: GET, path: /rh, headers: {X-V: {regex: "^(a|aa)+$"}}}
  - id: big-json
    request: {method: POST, path: /big, body: {json: {a: 1}}}
  - id: big-subset
    request: {method: POST, path: /big, body: {json_subset: [{name: x}]}}
  - id: big-names
    request: {method: POST, path: /big, body: {json_path: {"$..name": zzz}}}
  - id: big-names-regex
    request: {method: POST, path: /big, body: {json_path: {"$..name": {regex: "^z+$"}}}}
resources:
  - path: /api/carts
    id_field: id
    items:
      - {id: "1", owner: Simon}
"""
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    root = write_stubs(tmp_path_factory.mktemp("stubs"), {"app.yaml": STUBS})
    with serve(root) as server:
        yield server


@pytest.fixture
def admin(server: MockServer) -> Iterator[Admin]:
    with Admin(server.url) as admin:
        admin.ok("POST", "/reset")
        admin.ok("DELETE", "/requests")
        yield admin


def timed_beside_an_unrelated_request(
    admin: Admin, send: Callable[[], None]
) -> tuple[float, float]:
    """Seconds the hostile request took, and the longest an ordinary one waited meanwhile."""
    waited: list[float] = []
    done = threading.Event()

    def ordinary() -> None:
        with requests.Session() as client:
            while not done.is_set():
                began = time.monotonic()
                assert client.get(admin.base + "/ok", timeout=30).text == "ok"
                waited.append(time.monotonic() - began)

    beside = threading.Thread(target=ordinary)
    beside.start()
    began = time.monotonic()
    try:
        send()
    finally:
        took = time.monotonic() - began
        done.set()
        beside.join(timeout=60)
    return took, max(waited, default=0.0)


def test_item_3_a_segment_with_several_parameters_does_not_backtrack(admin: Admin) -> None:
    # Before: the lazy groups backtracked with the cube of the length, 22 s of CPU for this.
    hostile = "/m3/" + "." * 1600 + "x"

    def send() -> None:
        assert admin.mock("GET", hostile).status_code == 404

    took, waited = timed_beside_an_unrelated_request(admin, send)
    assert took < 1.0
    assert waited < 1.0
    # And the template still captures what it should, shortest first as before.
    assert admin.mock("GET", "/m3/a.b.c.d.json").text == "three"
    assert admin.mock("GET", "/m3/a..json").status_code == 404  # {b} is never empty


def carts(admin: Admin) -> list[dict[str, object]]:
    answer = admin.mock("GET", "/api/carts")
    assert answer.status_code == 200
    items: list[dict[str, object]] = answer.json()
    return items


def nested(depth: int) -> dict[str, object]:
    """Keyword arguments for a JSON body of one object nesting ``depth`` objects deep (written
    by hand: the client's json.dumps stops near 1,000 levels)."""
    text = '{"owner":"deep","x":' * (depth - 1) + "{}" + "}" * (depth - 1)
    return {"data": text, "headers": {"Content-Type": "application/json"}}


@pytest.mark.parametrize("odd", ["%C2%B2", "7" * 5000, "a%20b", "a%0D%0Ab"])
def test_item_5_an_odd_id_is_a_4xx_and_cannot_poison_later_posts(admin: Admin, odd: str) -> None:
    refused = admin.mock("PUT", f"/api/carts/{odd}", json={"owner": "odd"})
    assert refused.status_code == 422
    assert refused.json()["error"] == "invalid id"
    assert len(refused.content) < 1024  # a 5,000-digit id is not echoed whole
    created = admin.mock("POST", "/api/carts", json={"owner": "Ada"})
    assert created.status_code == 201
    assert created.json() == {"owner": "Ada", "id": "2"}
    assert [cart["id"] for cart in carts(admin)] == ["1", "2"]


def test_item_5_an_item_nested_past_the_limit_is_refused_and_not_stored(admin: Admin) -> None:
    for depth in (975, 65):
        refused = admin.mock("POST", "/api/carts", **nested(depth))
        assert refused.status_code == 422, depth
        assert refused.json()["error"] == "item too deep"
    assert [cart["id"] for cart in carts(admin)] == ["1"]
    assert admin.mock("PUT", "/api/carts/1", **nested(975)).status_code == 422
    assert admin.mock("PATCH", "/api/carts/1", **nested(975)).status_code == 422
    assert carts(admin) == [{"id": "1", "owner": "Simon"}]  # no failed write applied
    assert admin.mock("POST", "/api/carts", **nested(64)).status_code == 201


def test_item_5_a_resource_holds_a_bounded_amount_so_its_collection_get_is_bounded(
    admin: Admin,
) -> None:
    big = "x" * (900 * 1024)
    statuses = [admin.mock("POST", "/api/carts", json={"blob": big}).status_code for _ in range(20)]
    assert statuses[:17] == [201] * 17
    assert set(statuses[18:]) == {413}
    answer = admin.mock("GET", "/api/carts")
    assert len(answer.content) <= 16 * 1024 * 1024
    assert admin.mock("DELETE", "/api/carts/2").status_code == 204  # room again after a delete
    assert admin.mock("POST", "/api/carts", json={"blob": big}).status_code == 201


def test_item_15_control_characters_in_a_resource_id_are_a_4xx_with_nothing_stored(
    admin: Admin,
) -> None:
    injected = admin.mock("POST", "/api/carts", json={"id": "x\r\nSet-Cookie: injected=1"})
    assert injected.status_code == 422
    assert "Set-Cookie" not in injected.headers
    assert carts(admin) == [{"id": "1", "owner": "Simon"}]
    journal = admin.ok("GET", "/requests")["requests"]
    posted = [(e["method"], e["status"]) for e in journal if e["path"] == "/api/carts"]
    assert posted[0] == ("POST", 422)


@contextmanager
def serving_to_a_file(
    stubs: Path, log: Path, *options: str
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``mockserver serve STUBS --port 0 OPTIONS`` with its output in ``log`` (bytes as
    written, which a pipe read as text would not show); stopped with SIGTERM, exit 0."""
    with log.open("wb") as out:
        server = subprocess.Popen(
            [MOCKSERVER, "serve", str(stubs), "--port", "0", *options],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=clean_env(),
        )
        try:
            found = wait_until(
                lambda: re.search(rb"http://127\.0\.0\.1:(\d+)", log.read_bytes()), "the banner"
            )
            yield server, f"http://127.0.0.1:{int(found.group(1))}"
        finally:
            server.send_signal(signal.SIGTERM)
            assert server.wait(timeout=DEADLINE) == 0


FORGING = [
    # A matched request (its line takes the fast path) and unmatched ones (the near-miss report)
    "/x/%0A2026-12-06%2008:31:00,000%20WARNING%20mockserver:%20FORGED",
    "/nothere%0D%0A2026-12-06%2008:31:00,000%20WARNING%20mockserver:%20FORGED?q=%0D%0AFORGED",
    "/x/%1B%5B2J%1B%5D0;title%07",  # clear the screen, set the window title
    "/nothere%C2%85FORGED%E2%80%A8FORGED",  # NEL and LINE SEPARATOR: str.splitlines breaks there
]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_item_10_no_client_can_forge_a_log_line_or_reach_the_terminal(
    tmp_path: Path, log_format: str
) -> None:
    stubs = write_stubs(
        tmp_path / "stubs",
        {"app.yaml": APP_STUBS + "  - id: any-x\n    request: {path: '/x/{rest}'}\n"},
    )
    log = tmp_path / "log"
    with serving_to_a_file(stubs, log, "--log-format", log_format) as (_, base):
        port = int(base.rsplit(":", 1)[1])
        for target in FORGING:
            exchange(port, f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    data = log.read_bytes().decode()
    for raw in ("\r", "\x1b", "\x07", "\x85", "\u2028"):
        assert raw not in data, repr(raw)
    lines = data.split("\n")
    assert data.splitlines() == lines[:-1]  # no line break but "\n" anywhere
    if log_format == "json":
        assert all(json.loads(line) for line in lines[:-1])
    else:
        assert not [line for line in lines if line.startswith("2026-12-06 08:31:00,000")]
    assert "\\n2026-12-06" in data  # the request was logged, escaped


@pytest.mark.parametrize(
    ("where", "stub"),
    [
        ("id", {"id": "get-user\n", "request": {"path": "/a"}}),
        ("request.method", {"request": {"method": "GET\n", "path": "/a"}}),
        (
            "response.headers",
            {"request": {"path": "/a"}, "response": {"headers": {"X-Bad\n": "1"}}},
        ),
        (
            "response.headers",
            {"request": {"path": "/a"}, "response": {"headers": {"X-C1": "a\x85b"}}},
        ),
    ],
)
def test_item_8_a_trailing_newline_or_a_c1_control_is_refused(
    admin: Admin, tmp_path: Path, where: str, stub: dict[str, object]
) -> None:
    refused = admin("POST", "/stubs", json=stub)
    assert refused.status_code == 422, refused.text
    assert where in refused.text
    assert admin.mock("GET", "/a").status_code == 404  # nothing was added
    (tmp_path / "bad.json").write_text(json.dumps({"service": "svc", "stubs": [stub]}))
    result = run_console("validate", str(tmp_path / "bad.json"))
    assert result.returncode == 1
    assert where in result.stderr


def test_item_8_a_service_name_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    (tmp_path / "svc.json").write_text(json.dumps({"service": "users\n", "stubs": []}))
    result = run_console("validate", str(tmp_path / "svc.json"))
    assert result.returncode == 1
    assert "service" in result.stderr


METADATA_UPSTREAMS = [
    "http://[::ffff:169.254.169.254]",
    "http://[::ffff:a9fe:a9fe]/latest",
    "http://[64:ff9b::a9fe:a9fe]",
    "http://2852039166",
    "http://100.100.100.200",
    "http://metadata.goog",
]


@pytest.mark.parametrize("upstream", METADATA_UPSTREAMS)
def test_item_9_metadata_upstreams_are_refused_in_every_spelling(
    tmp_path: Path, upstream: str
) -> None:
    stub_file = tmp_path / "svc.json"
    stub_file.write_text(json.dumps({"service": "svc", "upstream": upstream, "stubs": []}))
    validated = run_console("validate", str(stub_file))
    assert validated.returncode == 1
    assert "refused" in validated.stderr
    recording = run_console("record", "--target", f"svc={upstream}", "--out", str(tmp_path / "o"))
    assert recording.returncode == 2
    assert "refused" in recording.stderr
    har = tmp_path / "metadata.har"
    entry = {
        "request": {"method": "GET", "url": upstream + "/latest/meta-data/", "headers": []},
        "response": {"status": 200, "headers": [], "content": {"text": "AKIA-CREDENTIALS"}},
    }
    har.write_text(json.dumps({"log": {"entries": [entry]}}))
    imported = run_console("import", "har", str(har), "--out", str(tmp_path / "imported"))
    assert "refused" in imported.stdout + imported.stderr
    written = "".join(
        path.read_text() for path in (tmp_path / "imported").rglob("*") if path.is_file()
    )
    assert "AKIA-CREDENTIALS" not in written


def test_item_9_an_upstream_literal_is_checked_however_it_was_built() -> None:
    # aiohttp connects to an address literal without the resolver, so the check that runs at
    # connect time for names cannot see one: the Upstream refuses it itself.
    from mockserver.recording.proxy import Upstream

    with pytest.raises(ValueError, match="refused"):
        Upstream("svc", "http://[::ffff:169.254.169.254]:80")


BODY_STUBS = (
    APP_STUBS
    + """\
  - id: by-contains
    request: {method: POST, path: /orders, body: {contains: "order-"}}
  - id: by-regex
    request: {method: POST, path: /orders, body: {regex: "^[a-z]+$"}}
  - id: by-json
    request:
      method: POST
      path: /orders
      headers: {X-Kind: order}
      body: [{json_subset: {kind: order}}, {json_path: {"$.id": {regex: "^[0-9]+$"}}}]
"""
)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_item_1_an_unmatched_body_is_copied_once_and_cut_everywhere(tmp_path: Path) -> None:
    stubs = write_stubs(tmp_path / "stubs", {"app.yaml": BODY_STUBS})
    log = tmp_path / "log"
    body = b"\x01" * (10 * 1024 * 1024 - 4096)  # 10 MiB inside, 10 kB on the wire
    with serving_to_a_file(stubs, log) as (server, base):
        coded = gzip.compress(body)
        for _ in range(5):
            before = cpu_seconds(server.pid)
            answer = requests.post(
                base + "/orders",
                data=coded,
                headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
                timeout=60,
            )
            spent = cpu_seconds(server.pid) - before
        journal = requests.get(base + "/__admin/requests?limit=5", timeout=60)
    assert answer.status_code == 404
    assert len(answer.content) < 256 * 1024  # was 440 MB
    report = answer.json()
    assert "10,481,664 characters in all, sha256 " in report["request"]["body"]
    assert {miss["stub"] for miss in report["nearest"]} == {"by-contains", "by-regex", "by-json"}
    assert spent < 2.0  # was 4.8 s
    assert journal.status_code == 200
    assert len(journal.content) < 1024 * 1024  # was 612 MB for five
    assert log.stat().st_size < 5 * 64 * 1024  # was 31.5 MB for one request


def test_item_14_a_stub_file_linked_from_outside_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("stubs:\n  - request: {path: /secret}\n    response: {body: outside}\n")
    root = write_stubs(tmp_path / "stubs", {"app.yaml": APP_STUBS})
    (root / "linked.yaml").symlink_to(outside)
    # A link that stays inside the root is fine (its target in a hidden folder, not walked).
    (root / ".shared").mkdir()
    (root / ".shared" / "other.yaml").write_text("stubs:\n  - request: {path: /other}\n")
    (root / "other.yaml").symlink_to(root / ".shared" / "other.yaml")
    result = run_console("validate", str(root))
    assert result.returncode == 1
    assert f"{root / 'linked.yaml'}: is a link to {outside}, outside {root}" in result.stderr
    (root / "linked.yaml").unlink()
    assert run_console("validate", str(root)).returncode == 0


SECRET_IN_A_BAD_FILE = """\
upstream: http://user:HUNTER3-SECRET@10.0.0.1
stubs:
  - request: {path: /x}
    response: {status: 'HUNTER3-SECRET'}
"""


def test_item_13_the_open_health_route_says_only_whether_it_serves(tmp_path: Path) -> None:
    root = write_stubs(tmp_path / "stubs", {"app.yaml": APP_STUBS})
    with (
        serve(root, admin_token="t0ken") as server,
        Admin(server.url) as anonymous,
        Admin(server.url, token="t0ken") as admin,
    ):
        assert anonymous.ok("GET", "/health") == {"status": "ok", "message": "serving"}
        (root / "app.yaml").write_text(SECRET_IN_A_BAD_FILE)
        assert admin("POST", "/reload").status_code == 422
        public = anonymous("GET", "/health")
        assert public.status_code == 200
        assert public.json()["status"] == "ok"
        assert "the last reload failed" in public.json()["message"]
        assert "HUNTER3" not in public.text
        assert str(root) not in public.text
        detailed = admin.ok("GET", "/health")
        assert detailed["last_reload"]["ok"] is False
        assert "HUNTER3-SECRET" in json.dumps(detailed["last_reload"])  # with the token


SECRET_STUBS = (
    APP_STUBS
    + """\
  - id: secure
    request:
      method: GET
      path: /secure
      headers: {Authorization: "Bearer STUB-EXPECTED-SECRET"}
      query: {token: STUB-QUERY-SECRET}
  - id: open
    request: {method: GET, path: /open}
"""
)
CLIENT_SECRETS = ("CLIENT-AUTH-SECRET-1", "COOKIE-SECRET", "CLIENT-QUERY-SECRET")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_items_11_12_no_secret_in_a_report_the_log_or_the_journal(
    tmp_path: Path, log_format: str
) -> None:
    stubs = write_stubs(tmp_path / "stubs", {"app.yaml": SECRET_STUBS})
    log = tmp_path / "log"
    secret_headers = {
        "Authorization": "Bearer CLIENT-AUTH-SECRET-1",
        "Cookie": "sid=COOKIE-SECRET",
    }
    with serving_to_a_file(stubs, log, "--log-format", log_format) as (_, base):
        miss = requests.get(
            base + "/secure?token=CLIENT-QUERY-SECRET", headers=secret_headers, timeout=10
        )
        hit = requests.get(
            base + "/open?token=CLIENT-QUERY-SECRET", headers=secret_headers, timeout=10
        )
        journal = requests.get(base + "/__admin/requests", timeout=10)
        # What was sent is still what verification matches.
        count = requests.post(
            base + "/__admin/requests/count",
            json={"path": "/open", "headers": {"Authorization": "Bearer CLIENT-AUTH-SECRET-1"}},
            timeout=10,
        )
    assert (miss.status_code, hit.status_code) == (404, 200)
    assert miss.headers["Cache-Control"] == "no-store"
    assert miss.json()["nearest"][0]["stub"] == "secure"
    shown = {"404": miss.text, "journal": journal.text, "log": log.read_text()}
    for where, text in shown.items():
        for secret in (*CLIENT_SECRETS, "STUB-EXPECTED-SECRET", "STUB-QUERY-SECRET"):
            assert secret not in text, (where, secret)
    assert "<redacted>" in shown["404"]
    assert count.json() == {"count": 1}


@pytest.mark.parametrize(
    ("mode", "token", "brief_without", "brief_with"),
    [
        ("auto", "T0KEN", True, False),  # staging: the report stays behind the token
        ("auto", None, False, False),  # a local run: everyone is the developer
        ("full", "T0KEN", False, False),
        ("brief", "T0KEN", True, True),
        ("brief", None, True, True),
    ],
)
def test_item_12_a_setting_chooses_what_a_caller_without_the_token_sees_of_a_miss(
    tmp_path: Path, mode: str, token: str | None, brief_without: bool, brief_with: bool
) -> None:
    stubs = write_stubs(tmp_path / "stubs", {"app.yaml": SECRET_STUBS})
    with serve(stubs, admin_token=token, unmatched_report=mode) as server:
        without = requests.get(server.url + "/secure", timeout=10)
        bearer = {"Authorization": f"Bearer {token}"} if token else {}
        with_token = requests.get(server.url + "/secure", headers=bearer, timeout=10)
        journal = requests.get(
            server.url + "/__admin/requests/unmatched", headers=bearer, timeout=10
        )
    for answer, brief in ((without, brief_without), (with_token, brief_with)):
        assert answer.status_code == 404
        assert answer.headers["Cache-Control"] == "no-store"
        if brief:
            assert answer.json() == {
                "error": "no stub matched this request",
                "hint": "no stub matched GET /secure; the near-miss report is in the journal "
                "(GET /__admin/requests/unmatched, with the admin token)",
            }
            for named in ("secure", "app.yaml", "STUB-EXPECTED-SECRET", "Authorization"):
                assert named not in answer.text.replace("/secure", "")
        else:
            assert answer.json()["nearest"][0]["stub"] == "secure"
    # The journal keeps the whole report, for whoever holds the token.
    entries = journal.json()["requests"]
    assert [e["nearest"][0]["stub"] for e in entries] == ["secure", "secure"]


def test_item_7_admin_stubs_naming_one_body_file_share_its_bytes(tmp_path: Path) -> None:
    root = write_stubs(tmp_path / "stubs", {"app.yaml": APP_STUBS})
    (root / "big.bin").write_bytes(os.urandom(1024 * 1024))
    with serve(root) as server, Admin(server.url) as admin:
        before = rss_bytes()
        stubs = [
            {
                "id": f"big-{i}",
                "request": {"path": f"/big/{i}"},
                "response": {"body_file": "big.bin"},
            }
            for i in range(300)
        ]
        admin.ok("POST", "/stubs", status=201, json=stubs)
        grown = rss_bytes() - before
        assert admin.mock("GET", "/big/299").content == (root / "big.bin").read_bytes()
    assert grown < 60 * 1024 * 1024, f"{grown / 1e6:.0f} MB for 300 stubs on one 1 MiB file"


def test_item_7_admin_stubs_are_bounded_in_the_bytes_they_hold(tmp_path: Path) -> None:
    root = write_stubs(tmp_path / "stubs", {"app.yaml": APP_STUBS})
    (root / "big.bin").write_bytes(os.urandom(1024 * 1024))
    mib = 1024 * 1024
    with serve(root, admin_stub_bytes=8 * mib) as server, Admin(server.url) as admin:
        # One body file named by 300 stubs counts once: it fits in 8 MiB.
        shared = [
            {"id": f"s-{i}", "request": {"path": f"/s/{i}"}, "response": {"body_file": "big.bin"}}
            for i in range(300)
        ]
        admin.ok("POST", "/stubs", status=201, json=shared)
        inline = [
            {
                "id": f"i-{i}",
                "request": {"path": f"/i/{i}"},
                "response": {"body": f"{i}" * (3 * mib // 2)},
            }
            for i in range(3)
        ]
        for stub in inline[:2]:  # 1.5 MiB of body and 1.5 MiB of definition each
            admin.ok("POST", "/stubs", status=201, json=stub)
        refused = admin.post("/stubs", json=inline[2:] + [{"request": {"path": "/x"}}] * 2)
        assert refused.status_code == 413
        assert "over the 8 MiB limit" in refused.json()["detail"]
        assert admin.mock("GET", "/x").status_code == 404  # all or none: nothing was added
        assert len(admin.stub_ids()) == len(APP_STUBS.split("- id:")) - 1 + 302
        # Replacing a stub counts what it replaces as gone; a reset frees everything.
        admin.ok("PUT", "/stubs/i-1", json={"request": {"path": "/i/1"}, "response": {"body": "x"}})
        admin.ok("POST", "/stubs", status=201, json=inline[2])
        admin.ok("POST", "/reset")  # 7 MiB were held; after it, 6 fit
        admin.ok("POST", "/stubs", status=201, json=inline[:2])


EVIL = "a" * 40 + "b"  # ^(a|aa)+$ backtracks past the 50 ms bound on this


def test_item_4_the_regex_bound_is_per_request_not_per_value(admin: Admin) -> None:
    query = "&".join(f"v={EVIL}" for _ in range(150))
    headers = [("X-V", EVIL)] * 100

    def send() -> None:
        assert admin.mock("GET", "/re?" + query).status_code == 404  # was 15 s
        with Raw(port_of(admin.base)) as raw:
            lines = "".join(f"{k}: {v}\r\n" for k, v in headers)
            raw.send(f"GET /rh HTTP/1.1\r\nHost: x\r\n{lines}\r\n".encode())
            answer = raw.answer()
        assert answer.status == 404  # was 10 s
        assert "match budget exceeded" in answer.body.decode()

    took, waited = timed_beside_an_unrelated_request(admin, send)
    assert took < 2.0  # two requests, each within its 0.25 s budget and its explanation
    assert waited < 1.0
    for _ in range(100):
        admin.mock("GET", f"/ok?v={EVIL}")  # answered at once, journaled with the value
    began = time.monotonic()
    counted = admin.ok("POST", "/requests/count", json={"query": {"v": {"regex": "^(a|aa)+$"}}})
    assert time.monotonic() - began < 1.0  # was 5 s: one budget for the whole count
    assert counted == {"count": 0}


# Issue 13 item 2: 550k objects against these stubs took 56 s here, a 10 MB MessagePack array
# of nils 573 s, while every other client waited.
LARGE_BODIES = {
    "550k-objects": (
        json.dumps([{"name": "a"}] * 550_000, separators=(",", ":")).encode(),
        "application/json",
    ),
    "5M-zeros": (json.dumps([0] * 5_000_000, separators=(",", ":")).encode(), "application/json"),
    "10MB-msgpack-nils": (msgpack.packb([None] * 10_000_000), "application/msgpack"),
}


@pytest.mark.parametrize("kind", list(LARGE_BODIES))
def test_item_2_a_large_json_miss_is_explained_within_the_match_budget(
    admin: Admin, kind: str
) -> None:
    body, content_type = LARGE_BODIES[kind]
    answers: list[requests.Response] = []

    def send() -> None:
        answers.append(
            admin.mock("POST", "/big", data=body, headers={"Content-Type": content_type})
        )

    took, waited = timed_beside_an_unrelated_request(admin, send)
    assert took < 3.0
    # Decoding 10 MB of MessagePack and encoding it as JSON text is C code the budget cannot
    # cut (1.1 s on this 2-core machine, the same for a request that matches): said in
    # SECURITY.md. Everything after it is within the budget.
    assert waited < (2.0 if content_type == "application/msgpack" else 1.0)
    (answer,) = answers
    assert answer.status_code == 404
    report = answer.json()
    reasons = [d["why"] for miss in report["nearest"] for d in miss["differences"]]
    assert any("match budget exceeded" in why for why in reasons), reasons
    assert len(answer.content) < 256 * 1024


def test_item_2_a_spent_budget_is_no_match_even_under_not(tmp_path: Path) -> None:
    # A check the budget cut short never holds: `not` around it must not turn it into a match.
    stubs = """\
stubs:
  - id: not-a-name
    request: {method: POST, path: /n, body: {not: {json_path: {"$..name": zzz}}}}
    response: {body: matched}
"""
    body, content_type = LARGE_BODIES["550k-objects"]
    with serve(write_stubs(tmp_path, {"n.yaml": stubs})) as server, Admin(server.url) as admin:
        answer = admin.mock("POST", "/n", data=body, headers={"Content-Type": content_type})
        assert answer.status_code == 404
        assert "match budget exceeded" in answer.text
        # A small body is matched as before: the path selects nothing named zzz.
        assert admin.mock("POST", "/n", json=[{"name": "a"}]).text == "matched"


def test_item_2_match_budget_ms_lets_users_match_large_bodies(tmp_path: Path) -> None:
    stubs = """\
stubs:
  - id: last-name
    request: {method: POST, path: /n, body: {json_path: {"$..name": zzz}}}
    response: {body: found}
"""
    root = write_stubs(tmp_path, {"n.yaml": stubs})
    body = json.dumps([{"name": "a"}] * 100_000 + [{"name": "zzz"}]).encode()  # 1.8 s of walk
    headers = {"Content-Type": "application/json"}
    with serve(root) as server, Admin(server.url) as admin:
        assert admin.mock("POST", "/n", data=body, headers=headers).status_code == 404
    env = clean_env(MOCKSERVER_MATCH_BUDGET_MS="120000")
    with Console([MOCKSERVER, "serve", str(root), "--port", "0"], env=env) as console:
        line = console.next_line(lambda text: text.startswith("  admin: "))
        found = re.search(r"(http://\S+)/__admin/health", line)
        assert found is not None, line
        answer = requests.post(found.group(1) + "/n", data=body, headers=headers, timeout=120)
        assert (answer.status_code, answer.text) == (200, "found")


def answer_after_half_close(port: int, request: bytes) -> bytes:
    """What a client that sends ``request`` and then closes its sending side reads, to EOF."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):  # EOF: the server closed once it had answered
            received += chunk
    return received


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_also_seen_a_request_followed_by_a_half_close_is_answered(
    tmp_path: Path, loop: str
) -> None:
    # Before: no answer at all, while the journal recorded a 200.
    root = write_stubs(tmp_path, {"app.yaml": APP_STUBS})
    with Console([MOCKSERVER, "serve", str(root), "--port", "0", "--loop", loop]) as console:
        line = console.next_line(lambda text: text.startswith("  admin: "))
        found = re.search(r"http://127\.0\.0\.1:(\d+)/__admin/health", line)
        assert found is not None, line
        port = int(found.group(1))
        got = answer_after_half_close(port, b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        assert got.startswith(b"HTTP/1.1 200 OK\r\n")
        assert got.endswith(b"\r\n\r\nok")
        body = b"x" * 100_000  # a body sent whole before the half-close is read and answered
        upload = b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + body
        assert answer_after_half_close(port, upload).endswith(b"\r\n\r\nstored")
        # A body cut short by the half-close is never answered: the connection just closes.
        cut = b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"
        assert answer_after_half_close(port, cut) == b""
