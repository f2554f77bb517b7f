"""The recorder when things go wrong: an upstream down, slow or resetting; a burst of requests;
hostile names; a file a person wrote; SIGTERM to the ``mockserver record`` process."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests
import yaml

from mockserver import load_paths
from mockserver.recording.exchange import RECORDED_MARK, Exchange, Redaction
from mockserver.recording.proxy import Upstream as Upstream_
from mockserver.recording.proxy import UpstreamSettings
from mockserver.recording.stubs import Recording
from mockserver.recording.writer import write_recording

from ..console import MOCKSERVER, Console
from ..waiting import wait_until
from .upstream import TEXT, Upstream, recording

pytestmark = pytest.mark.timeout(60)
DEADLINE = 30.0


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream() as running:
        yield running


def test_an_upstream_that_is_down_answers_502_naming_it_and_records_nothing(
    tmp_path: Path,
) -> None:
    with Upstream() as gone:
        url = gone.url
    with recording(url, tmp_path) as proxy, requests.Session() as client:
        answer = client.get(proxy.url + "/api/user/1", timeout=10)
    assert answer.status_code == 502
    body = answer.json()
    assert (body["error"], body["target"]) == ("upstream unreachable", url)
    assert "Connect" in body["detail"]  # the error class, e.g. ClientConnectorError
    assert list(tmp_path.iterdir()) == []


def test_a_slow_upstream_is_a_504_and_a_reset_one_a_502_neither_recorded(
    upstream: Upstream, tmp_path: Path
) -> None:
    limits = UpstreamSettings(connect_timeout=2.0, total_timeout=1.0)
    with recording(upstream.url, tmp_path, limits=limits) as proxy, requests.Session() as client:
        slow = client.get(proxy.url + "/slow", timeout=10)
        reset = client.get(proxy.url + "/reset", timeout=10)
        fine = client.get(proxy.url + "/text", timeout=10)
        health = client.get(proxy.url + "/__admin/health", timeout=10)
    assert (slow.status_code, slow.json()["error"]) == (504, "upstream timed out")
    assert slow.json()["target"] == upstream.url
    assert "1 s" in slow.json()["detail"]
    assert (reset.status_code, reset.json()["error"]) == (502, "upstream unreachable")
    assert "ClientPayloadError" in reset.json()["detail"]  # the body was cut short
    assert (fine.status_code, fine.text) == (200, TEXT)
    assert health.json()["status"] == "ok"
    document = yaml.safe_load((tmp_path / "svc.yaml").read_text(encoding="utf-8"))
    assert [s["request"]["path"] for s in document["stubs"]] == ["/text"]


def test_two_hundred_requests_through_five_in_flight(
    upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watch, entered = upstream.state.watch, [0]
    forward = Upstream_.forward

    async def counted(self: Upstream_, *args: Any) -> Any:
        with watch:  # the proxy took the request; what follows up to the semaphore is sync
            entered[0] += 1
            watch.notify_all()
        return await forward(self, *args)

    monkeypatch.setattr(Upstream_, "forward", counted)

    async def burst(base: str) -> list[tuple[int, object]]:
        connector = aiohttp.TCPConnector(limit=0)  # the client itself does not queue
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(n: int) -> tuple[int, object]:
                async with session.get(f"{base}/held/{n}") as response:
                    return response.status, await response.json()

            return await asyncio.gather(*(one(n) for n in range(200)))

    answers: list[list[tuple[int, object]]] = []
    limits = UpstreamSettings(max_in_flight=5)
    with recording(upstream.url, tmp_path, limits=limits) as proxy:
        client = threading.Thread(target=lambda: answers.append(asyncio.run(burst(proxy.url))))
        client.start()
        try:
            with watch:
                # All 200 are in the proxy (195 waiting at its semaphore) and the upstream
                # holds the 5 it let through; a looser bound would have let more arrive.
                reached = watch.wait_for(
                    lambda: entered[0] == 200 and upstream.state.in_flight >= 5, DEADLINE
                )
            assert reached, (entered, upstream.state.in_flight)
        finally:
            upstream.open_gate()
            client.join(DEADLINE)
    assert answers == [[(200, {"n": n}) for n in range(200)]]
    assert upstream.state.most_in_flight == 5
    stubs = yaml.safe_load((tmp_path / "svc.yaml").read_text(encoding="utf-8"))["stubs"]
    assert sorted(s["request"]["path"] for s in stubs) == sorted(f"/held/{n}" for n in range(200))


HOSTILE = (
    "../x",
    "x",
    "../../etc/passwd",
    "/abs/path",
    "a/../../b",
    "con",
    "LPT1",
    "x" * 5000,
    "ünïcødé ✓",
    "",
    ".",
    ".hidden",
    "C:\\Windows\\system32",
    "nul\x00byte",
)


def test_file_names_from_hostile_service_names_stay_in_the_out_dir(tmp_path: Path) -> None:
    out = tmp_path / "out"
    exchange = Exchange("GET", "/", (), (), b"", 200, (("Content-Type", "text/plain"),), b"hi")
    taken = Recording()
    for name in HOSTILE:
        taken.add(name, "http://example.invalid", exchange)
    written = write_recording(taken, dict.fromkeys(HOSTILE, out), Redaction())
    assert len(written) == len(set(written)) == len(HOSTILE)  # distinct: none overwritten
    for path in written:
        assert path.parent == out.resolve()
        assert path.name.endswith(".yaml")
        assert not path.name.startswith(".")
        assert len(path.name) < 100
        assert path.stem.split(".")[0] not in ("con", "lpt1", "nul")
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == sorted(written)


def test_a_hand_written_file_is_never_overwritten(
    upstream: Upstream, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mine = "service: svc\nstubs:\n  - request: {path: /mine}\n    response: {body: mine}\n"
    (tmp_path / "svc.yaml").write_text(mine, encoding="utf-8")
    with recording(upstream.url, tmp_path) as proxy, requests.Session() as client:
        client.get(proxy.url + "/text", timeout=10).raise_for_status()
    assert (tmp_path / "svc.yaml").read_text(encoding="utf-8") == mine
    recorded = (tmp_path / "svc.recorded.yaml").read_text(encoding="utf-8")
    assert recorded.startswith(RECORDED_MARK)
    assert "svc.yaml is taken" in caplog.text
    both = load_paths([tmp_path])  # the two files load together as one service
    assert sorted(s.request.path.text for s in both.stubs if s.request.path) == ["/mine", "/text"]


class Recorder(Console):
    """``mockserver record`` as a subprocess, its output read line by line as it comes."""

    def __init__(self, *args: str) -> None:
        super().__init__([MOCKSERVER, "record", *args])

    def wait_for(self, prefix: str) -> str:
        return self.next_line(lambda line: line.startswith(prefix))


def test_sigterm_writes_the_recording_atomically_and_exits_0(
    upstream: Upstream, tmp_path: Path
) -> None:
    out = tmp_path / "recorded"
    out.mkdir()
    stale = f"{RECORDED_MARK} earlier.\nservice: svc\nstubs: []\n"
    (out / "svc.yaml").write_text(stale, encoding="utf-8")  # an earlier recording: replaced
    recorder = Recorder("--target", f"svc={upstream.url}", "--out", str(out), "--port", "0")
    try:
        line = recorder.wait_for("  svc  ")
        url = line.split()[1]
        with requests.Session() as client:
            assert client.get(url + "/__admin/health", timeout=10).json()["status"] == "ok"
            assert client.get(url + "/text", timeout=10).text == TEXT
            assert client.get(url + "/api/user/1", timeout=10).status_code == 200
        # Written as they complete (issue 13), before any stop: the stale file is replaced.
        wait_until(
            lambda: "/api/user/1" in (out / "svc.yaml").read_text(encoding="utf-8"),
            "both exchanges on disk before the stop",
        )
        recorder.process.send_signal(signal.SIGTERM)
        assert recorder.process.wait(timeout=DEADLINE) == 0
        recorder.wait_for("mockserver: stopped")
    finally:
        recorder.close()
    assert [p.name for p in out.iterdir()] == ["svc.yaml"]  # no temporary file left behind
    loaded = load_paths([out])
    assert loaded.services["svc"].upstream == upstream.url
    paths = [s.request.path.text for s in loaded.stubs if s.request.path]
    assert paths == ["/text", "/api/user/1"]
