"""Spy mode: stubs answer what they match, the rest goes to the service's real ``upstream:``
and is recorded beside the stub file; and the pytest plugin's ``--mockserver-record=new``."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from mockserver import MockServer, RecordMode, Settings

from .upstream import Upstream, replaying

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream() as running:
        yield running


def stub_file(directory: Path, upstream_url: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "svc.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            service: svc
            upstream: {upstream_url}
            stubs:
              - id: user-1
                request: {{method: GET, path: /api/user/1}}
                response: {{json: {{id: "1", name: Stubbed}}}}
            """
        ),
        encoding="utf-8",
    )
    return path


def spying(stubs: Path) -> MockServer:
    return MockServer(Settings(paths=(str(stubs),), port=0, record=RecordMode.NEW_EPISODES))


def test_stubs_answer_first_the_rest_is_forwarded_recorded_and_replayed(
    upstream: Upstream, tmp_path: Path
) -> None:
    stubs = tmp_path / "stubs"
    mine = stub_file(stubs, upstream.url).read_text(encoding="utf-8")
    with spying(stubs) as server, requests.Session() as client:
        stubbed = client.get(server.url + "/api/user/1", timeout=10)
        forwarded = client.get(server.url + "/api/user/2", timeout=10)
        journal = client.get(server.url + "/__admin/requests", timeout=10).json()["requests"]
    assert stubbed.json() == {"id": "1", "name": "Stubbed"}
    assert forwarded.json() == {"id": "2", "name": "Ada", "age": 36}
    assert [path for path, _ in upstream.state.seen] == ["/api/user/2"]  # the stub's stayed
    assert [(e["path"], e["status"]) for e in journal] == [
        ("/api/user/1", 200),
        ("/api/user/2", 200),
    ]
    assert (stubs / "svc.yaml").read_text(encoding="utf-8") == mine
    recorded = yaml.safe_load((stubs / "svc.recorded.yaml").read_text(encoding="utf-8"))
    assert [s["request"]["path"] for s in recorded["stubs"]] == ["/api/user/2"]

    # A second spy run adds what it forwards to the earlier recording.
    with spying(stubs) as server, requests.Session() as client:
        assert client.get(server.url + "/api/user/2", timeout=10).status_code == 200
        assert client.get(server.url + "/api/user/3", timeout=10).status_code == 200
    assert [path for path, _ in upstream.state.seen] == ["/api/user/2", "/api/user/3"]
    recorded = yaml.safe_load((stubs / "svc.recorded.yaml").read_text(encoding="utf-8"))
    assert [s["request"]["path"] for s in recorded["stubs"]] == ["/api/user/2", "/api/user/3"]

    upstream.stop()
    with replaying(stubs) as server, requests.Session() as client:
        answers = [client.get(f"{server.url}/api/user/{n}", timeout=10) for n in (1, 2, 3, 4)]
    assert [a.json() for a in answers[:3]] == [
        {"id": "1", "name": "Stubbed"},
        {"id": "2", "name": "Ada", "age": 36},
        {"id": "3", "name": "Ada", "age": 36},
    ]
    assert answers[3].status_code == 404  # neither stubbed nor recorded, and no spying now


INNER_TEST = """
import os

import requests


def test_the_app(mockserver):
    base = os.environ["SVC_URL"]
    assert requests.get(base + "/api/user/1", timeout=5).json() == {"id": "1", "name": "Stubbed"}
    assert requests.get(base + "/api/user/3", timeout=5).json()["name"] == "Ada"
    mockserver.service("svc").assert_called("GET", "/api/user/3", times=1)
"""


def test_the_pytest_plugin_records_new_requests_and_replays_them_next_run(
    upstream: Upstream, pytester: pytest.Pytester
) -> None:
    stub_file(pytester.path / "stubs", upstream.url)
    pytester.makefile(
        ".ini",
        pytest="[pytest]\nfilterwarnings = error\naddopts = -p no:cacheprovider -p no:randomly\n",
    )
    pytester.makepyfile(test_app=INNER_TEST)

    # Strict by default: without recording, the unstubbed request fails the test.
    pytester.runpytest().assert_outcomes(failed=1)
    assert upstream.state.seen == []

    pytester.runpytest("--mockserver-record=new").assert_outcomes(passed=1)
    assert [path for path, _ in upstream.state.seen] == ["/api/user/3"]
    recorded = pytester.path / "stubs" / "svc.recorded.yaml"
    stubs = yaml.safe_load(recorded.read_text(encoding="utf-8"))["stubs"]
    assert [s["request"]["path"] for s in stubs] == ["/api/user/3"]

    upstream.stop()
    pytester.runpytest().assert_outcomes(passed=1)  # answered from the recording


def test_a_forwarded_request_is_logged_like_any_other_with_secrets_redacted(
    upstream: Upstream, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="mockserver")
    stubs = tmp_path / "stubs"
    stub_file(stubs, upstream.url)
    with spying(stubs) as server, requests.Session() as client:
        assert client.get(server.url + "/api/user/1", timeout=10).status_code == 200
        forwarded = client.get(server.url + "/api/user/2?api_key=s3cret&x=1", timeout=10)
    assert forwarded.status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "mockserver"]
    assert "GET /api/user/1 -> 200 user-1" in lines
    logged = [line for line in lines if line.startswith("GET /api/user/2")]
    assert len(logged) == 1, lines
    assert logged[0].endswith(" -> 200 upstream:svc")
    assert "s3cret" not in "\n".join(lines)


def test_an_upstream_that_echoes_request_headers_leaves_no_secret_in_the_recording(
    upstream: Upstream, tmp_path: Path
) -> None:
    stubs = tmp_path / "stubs"
    stub_file(stubs, upstream.url)
    secrets = {"Authorization": "Bearer ECHOED-SECRET", "X-Api-Key": "ECHOED-KEY"}
    with spying(stubs) as server, requests.Session() as client:
        echoed = client.get(server.url + "/api/echo-headers", headers=secrets, timeout=10)
    assert echoed.json()["headers"]["Authorization"] == "Bearer ECHOED-SECRET"  # passed on
    recorded = (stubs / "svc.recorded.yaml").read_text(encoding="utf-8")
    assert "ECHOED-SECRET" not in recorded
    assert "ECHOED-KEY" not in recorded
    assert "<redacted>" in recorded
