"""A replay behaves on the wire like the service it was recorded from (issue 16).

A real aiohttp service (fidelity.py) is recorded through a real recording proxy; then the same
requests go to the service and to a real mockserver replaying the recording (the service
gone), and the answers are compared as a client sees them: status and reason phrase, the
headers that matter (Content-Type, a Content-Encoding the client can decode, Vary, the ETag
with its strength, Expires relative to Date, where Location leads, Set-Cookie names and
attributes, HEAD's Content-Length) and the decoded body.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from cachecontrol import CacheControl
from cachecontrol.cache import DictCache

from mockserver.cli.main import main

from .fidelity import PAGE, PAGE_TAG, SQUASH, TEXT, FidelityState, make_fidelity_app, squash
from .upstream import Upstream, recording, replaying
from .wirecompare import Request, differences, on_the_wire, record

pytestmark = pytest.mark.timeout(120)

IDENTITY, GZIP = {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip"}
COMPARED: list[Request] = [
    ("GET", "/index.html", {}),
    ("GET", "/index.html", IDENTITY),
    ("GET", "/index.html", GZIP | {"If-Match": PAGE_TAG}),
    ("GET", "/index.html", IDENTITY | {"If-Match": PAGE_TAG}),
    ("GET", "/index.html", {"If-Match": '"other"'}),
    ("GET", "/index.html", GZIP | {"If-None-Match": f"W/{PAGE_TAG}"}),
    ("GET", "/negotiate", {"Accept": "text/html"}),
    ("GET", "/negotiate", {"Accept": "application/json"}),
    ("GET", "/lang", {"Accept-Language": "de"}),
    ("GET", "/lang", {"Accept-Language": "en"}),
    ("GET", "/theme", {}),
    ("GET", "/theme", {"Cookie": "theme=dark"}),
    ("GET", "/br", {"Accept-Encoding": "br"}),
    ("GET", "/br", GZIP),
    ("GET", "/br", IDENTITY),
    ("GET", "/zstd", {"Accept-Encoding": "zstd"}),
    ("GET", "/zstd", {}),
    ("GET", "/squashed", {"Accept-Encoding": SQUASH}),
    ("GET", "/squashed", GZIP),
    ("GET", "/expires", {}),
    ("GET", "/reason", {}),
    ("GET", "/query?x=1&x=2", {}),
    ("GET", "/query?x=2&x=1", {}),
    ("GET", "/away", {}),
    ("HEAD", "/doc", {}),
    ("GET", "/doc", {}),
]


@pytest.fixture
def service() -> Iterator[Upstream]:
    with Upstream(FidelityState(), make_fidelity_app) as running:
        yield running


def test_the_replay_answers_as_the_service_did(service: Upstream, tmp_path: Path) -> None:
    record(service.url, tmp_path, COMPARED)
    direct = [on_the_wire(service.url, request) for request in COMPARED]
    service.stop()
    with replaying(tmp_path) as replay:
        replayed = [on_the_wire(replay.url, request) for request in COMPARED]
    assert differences(COMPARED, direct, replayed) == {}
    # What the comparison stands on, so it cannot pass by comparing nothing.
    by_request = dict(zip((f"{m} {t} {h}" for m, t, h in COMPARED), replayed, strict=True))
    assert by_request[f"GET /index.html {IDENTITY}"]["etag"] == PAGE_TAG  # strong as sent
    assert by_request["GET /index.html {}"]["etag"] == f"W/{PAGE_TAG}"  # weak as sent
    assert by_request["GET /index.html {}"]["body"] == PAGE
    assert by_request["GET /negotiate {'Accept': 'text/html'}"]["body"] == b"<p>html</p>"
    assert by_request["GET /lang {'Accept-Language': 'de'}"]["body"] == b'{"greeting": "Hallo"}'
    assert by_request["GET /theme {}"]["set-cookie"] == [
        ("session", [" HttpOnly; Path=/"]),
        ("theme", [" Max-Age=3600"]),
    ]
    assert by_request["GET /expires {}"]["expires after date"] == 3600
    assert by_request["GET /reason {}"]["status"] == (200, "Custom")
    assert by_request["HEAD /doc {}"]["answered by"] == "head"
    assert by_request[f"GET /squashed {{'Accept-Encoding': '{SQUASH}'}}"]["body"] == TEXT
    assert by_request["GET /away {}"]["location stays on"] is True


def test_a_repeated_query_matches_its_values_exactly(service: Upstream, tmp_path: Path) -> None:
    record(service.url, tmp_path, [("GET", "/query?x=1&x=2", {})])
    service.stop()
    stub = yaml.safe_load((tmp_path / "svc.yaml").read_text())["stubs"][0]
    assert stub["request"]["query"] == {"x": {"values": ["1", "2"]}}
    with replaying(tmp_path) as replay:
        statuses = {
            query: requests.get(replay.url + "/query?" + query, timeout=10).status_code
            for query in ("x=1&x=2", "x=2&x=1", "x=1&x=999", "x=1", "x=1&x=2&x=2")
        }
    assert statuses == {
        "x=1&x=2": 200,
        "x=2&x=1": 200,
        "x=1&x=999": 404,
        "x=1": 404,
        "x=1&x=2&x=2": 404,
    }


def test_a_coding_that_cannot_be_decoded_goes_only_to_clients_that_accept_it(
    service: Upstream, tmp_path: Path
) -> None:
    squashing = {"Accept-Encoding": SQUASH}
    record(service.url, tmp_path, [("GET", "/squashed", squashing)])
    with replaying(tmp_path) as replay, requests.Session() as client:
        kept = client.get(replay.url + "/squashed", headers=squashing, stream=True, timeout=10)
        raw = kept.raw.read(decode_content=False)
        refused = client.get(replay.url + "/squashed", headers=GZIP, timeout=10)
        unasked = client.get(replay.url + "/squashed", headers=IDENTITY, timeout=10)
    assert (kept.status_code, kept.headers["Content-Encoding"], raw) == (200, SQUASH, squash(TEXT))
    # Not the bytes a client cannot read: no stub for it, and the report names the header.
    assert refused.status_code == unasked.status_code == 404
    assert "accept-encoding" in refused.text.lower()
    # Recorded for the other client too, each gets its own answer, as from the service.
    record(service.url, tmp_path, [("GET", "/squashed", squashing), ("GET", "/squashed", GZIP)])
    service.stop()
    with replaying(tmp_path) as replay, requests.Session() as client:
        plain = client.get(replay.url + "/squashed", headers=GZIP, timeout=10)
        again = client.get(replay.url + "/squashed", headers=squashing, stream=True, timeout=10)
        assert again.raw.read(decode_content=False) == squash(TEXT)
    assert (plain.status_code, plain.content) == (200, TEXT)


def test_head_is_its_own_stub_and_takes_no_turn_of_the_gets_sequence(
    service: Upstream, tmp_path: Path
) -> None:
    with recording(service.url, tmp_path) as proxy, requests.Session() as client:
        first = client.get(proxy.url + "/doc", timeout=10).json()
        head = client.head(proxy.url + "/doc", timeout=10)
        service.state.version = 2
        second = client.get(proxy.url + "/doc", timeout=10).json()
    assert (first["version"], second["version"], head.headers["X-Answered-By"]) == (1, 2, "head")
    service.stop()
    with replaying(tmp_path) as replay, requests.Session() as client:
        got = [client.get(replay.url + "/doc", timeout=10).json()["version"]]
        replayed_head = client.head(replay.url + "/doc", timeout=10)
        got += [client.get(replay.url + "/doc", timeout=10).json()["version"] for _ in range(2)]
    assert got == [1, 2, 2]
    assert replayed_head.headers["X-Answered-By"] == "head"
    assert replayed_head.headers["Content-Length"] == head.headers["Content-Length"]
    assert replayed_head.content == b""


def fetch_three_times(base: str) -> None:
    """/index.html three times through CacheControl, one cache, a new session each time."""
    cache = DictCache()
    for _ in range(3):
        with CacheControl(requests.Session(), cache=cache) as session:
            assert session.get(base + "/index.html", timeout=10).content == PAGE


def test_a_caching_client_reaches_the_origin_as_often_with_the_same_results(
    service: Upstream, tmp_path: Path
) -> None:
    record(service.url, tmp_path, [("GET", "/index.html", {}), ("GET", "/index.html", IDENTITY)])
    assert isinstance(service.state, FidelityState)
    del service.state.statuses[:]
    fetch_three_times(service.url)
    origin = [status for path, status in service.state.statuses if path == "/index.html"]
    service.stop()
    with replaying(tmp_path) as replay:
        fetch_three_times(replay.url)
        journal = requests.get(replay.url + "/__admin/requests", timeout=10).json()["requests"]
    assert origin == [200, 304, 304]
    assert [entry["status"] for entry in journal] == origin


REPORT = [
    "svc.yaml: 7 stubs",
    "  variants: GET /negotiate by Accept (2)",
    "  sequences (in order, then the last repeats): GET /doc (2 answers)",
    "  ranges from the whole representation: GET /negotiate; GET /doc; GET /expires; "
    "GET /index.html; and 1 more",
    "  HEAD answered by its own stub: HEAD /doc",
    "  Expires relative to each answer: GET /expires",
    "  conditionals from its validators: GET /index.html",
    "  own reason phrase: GET /reason",
]


def record_each_kind(service: Upstream, out: Path) -> None:
    """Variants by Accept, a sequence, a HEAD stub, Expires, validators and a reason phrase."""
    with recording(service.url, out) as proxy, requests.Session() as client:
        for accept in ("text/html", "application/json"):
            client.get(proxy.url + "/negotiate", headers={"Accept": accept}, timeout=10)
        for version in (1, 2):
            service.state.version = version
            client.get(proxy.url + "/doc", timeout=10)
        client.head(proxy.url + "/doc", timeout=10)
        for path in ("/expires", "/index.html", "/reason"):
            client.get(proxy.url + path, timeout=10)


def test_the_recording_ends_with_a_report_of_variants_sequences_and_semantics(
    service: Upstream, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mockserver")
    record_each_kind(service, tmp_path)
    said = [r.getMessage() for r in caplog.records]
    start = next(n for n, line in enumerate(said) if line.startswith("svc.yaml: "))
    assert said[start : start + 8] == REPORT


def test_diff_prints_the_same_report_for_the_files_it_compares(
    service: Upstream, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record_each_kind(service, tmp_path)
    (tmp_path / "hand.yaml").write_text(
        "service: svc\nstubs:\n"
        "  - request: {path_regex: '^/api/', headers: {Authorization: {regex: '^Bearer '}}}\n"
        "  - request: {method: [GET, POST], path: /form}\n"
        "    responses: [{status: 201}, {status: 409}]\n",
        encoding="utf-8",
    )
    code = main(["diff", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    blocks = lines[: next(n for n, line in enumerate(lines) if " -> " in line)]
    assert blocks[0] == "How the replay chooses:"
    report = next(n for n, line in enumerate(blocks) if line.startswith("svc.yaml: "))
    assert blocks[report : report + 8] == REPORT
    # A hand-written file is named as the replay reads it: any method, a regex path.
    hand = next(n for n, line in enumerate(blocks) if line.startswith("hand.yaml: "))
    assert blocks[hand : hand + 4] == [
        "hand.yaml: 2 stubs",
        "  variants: ANY ~^/api/ by Authorization (1)",
        "  sequences (in order, then the last repeats): GET|POST /form (2 answers)",
        "  ranges from the whole representation: ANY ~^/api/",
    ]
    # Then the verdicts, as before: the service is as it was recorded (HEAD has no body).
    assert "  ok       svc-head-doc  HEAD /doc" in lines
    assert lines[-1].startswith("9 stubs: 7 agree"), "\n".join(lines)
    assert code == 0
