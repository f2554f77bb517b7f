"""Issue 13 item 6: the recorder lost recordings and wrote files that ``serve`` refused.

Measured before: SIGTERM took 18 s for 20 x 2 MB answers (40 s with a 12 MB one as well), a
SIGKILL left nothing, a 12 MB answer became 16.8 MB of base64 in a 60 MB stub file the loader
refuses, and status 999, a control character or a non-UTF-8 byte in a header made a file
``validate`` refuses (and a dropped connection with a traceback for the client). Here, against
``mockserver record`` as a subprocess and a real upstream on 127.0.0.1: what is recorded is on
disk as it completes, in files ``validate`` and ``serve`` accept, and stopping is quick.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import yaml

from mockserver.recording import persist
from mockserver.recording import writer as recordwriter
from mockserver.recording.exchange import Exchange, Redaction
from mockserver.recording.stubs import Recording
from mockserver.recording.writer import Recorder, write_recording
from mockserver.stubfiles.documents import MAX_FILE_BYTES

from ..console import DEADLINE, run_console
from ..integration.upstream import Upstream, replaying, sized_body
from ..waiting import wait_until
from .helpers import Console
from .scripted import ScriptedUpstream

pytestmark = pytest.mark.timeout(120)
MB = 1_000_000


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with Upstream() as running:
        yield running


@contextmanager
def recorder(url: str, out: Path) -> Iterator[tuple[Console, str]]:
    """``mockserver record --target svc=URL --out OUT`` and the URL it records at."""
    args = ["record", "--target", f"svc={url}", "--out", str(out), "--port", "0"]
    with Console(*args) as process:
        found = process.wait_for(r"^  svc  (http://\S+)  ->")
        yield process, found.group(1)


def stub_paths(file: Path) -> list[str]:
    document = yaml.load(file.read_text("utf-8"), Loader=yaml.CSafeLoader)
    return [stub["request"]["path"] for stub in document["stubs"]]


def assert_valid(out: Path) -> None:
    result = run_console("validate", str(out))
    assert result.returncode == 0, result.stderr
    for file in out.rglob("*.yaml"):
        assert file.stat().st_size < MAX_FILE_BYTES, file


def test_item_6_twenty_2_mb_answers_and_a_12_mb_one_stop_within_5_s_and_replay(
    upstream: Upstream, tmp_path: Path
) -> None:
    paths = [f"/sized/{'json' if i % 2 else 'text'}/{2 * MB}/{i}" for i in range(20)]
    paths.append(f"/sized/binary/{12 * MB}/99")
    out = tmp_path / "out"
    with recorder(upstream.url, out) as (process, url), requests.Session() as client:
        for path in paths:
            assert client.get(url + path, timeout=DEADLINE).status_code == 200
        started = time.monotonic()
        process.process.send_signal(signal.SIGTERM)
        assert process.process.wait(timeout=DEADLINE) == 0, process.rest()
        took = time.monotonic() - started
    assert took < 5.0, f"SIGTERM to exit took {took:.1f} s"
    assert_valid(out)
    stub_file = out / "svc.yaml"
    assert stub_file.stat().st_size < 64 * 1024  # the bodies are beside it, not inline
    bodies = sorted((out / "svc.bodies").iterdir())
    assert len(bodies) == 21
    assert max(b.stat().st_size for b in bodies) == 12 * MB  # as sent: no base64
    with replaying(out) as replay, requests.Session() as client:
        for path in paths:
            kind, size, seed = path.split("/")[2:]
            answer = client.get(replay.url + path, timeout=DEADLINE)
            assert answer.content == sized_body(kind, int(size), int(seed)), path


def test_item_6_a_sigkilled_recorder_keeps_its_earlier_exchanges(
    upstream: Upstream, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    paths = [f"/api/item/{i}" for i in range(5)] + [f"/sized/json/{2 * MB}/7"]
    with recorder(upstream.url, out) as (process, url), requests.Session() as client:
        for path in paths:
            assert client.get(url + path, timeout=DEADLINE).status_code == 200

        def on_disk() -> bool:
            try:
                return sorted(stub_paths(out / "svc.yaml")) == sorted(paths)
            except (OSError, TypeError, yaml.YAMLError):
                return False

        wait_until(on_disk, "every exchange on disk while the recorder runs", DEADLINE)
        process.process.kill()
        process.process.wait(timeout=DEADLINE)
    assert_valid(out)
    leftovers = [p.name for p in out.rglob(".*.tmp")]
    assert leftovers == []
    with replaying(out) as replay:
        answer = requests.get(replay.url + "/api/item/3", timeout=DEADLINE)
        assert answer.json() == {"item": "3"}
        big = requests.get(replay.url + paths[-1], timeout=DEADLINE)
        assert big.content == sized_body("json", 2 * MB, 7)


def _raw(head: bytes, body: bytes) -> object:
    def script(sock: socket.socket, request: dict[str, str]) -> None:
        length = f"Content-Length: {len(body)}\r\n".encode()
        sock.sendall(head + length + b"\r\n" + body)

    return script


ODD_ANSWERS = {
    "/status-999": b"HTTP/1.1 999 Odd\r\nContent-Type: text/plain\r\n",
    "/control": b"HTTP/1.1 200 OK\r\nX-Bad: a\x01b\r\n",
    "/delete": b"HTTP/1.1 200 OK\r\nX-Del: a\x7fb\r\n",
    "/latin-1": b"HTTP/1.1 200 OK\r\nX-Name: caf\xe9\r\n",
    "/c1": b"HTTP/1.1 200 OK\r\nX-C1: a\xc2\x9bb\r\n",
    "/fine": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n",
}


def test_item_6_an_answer_the_format_cannot_hold_is_skipped_and_only_an_unsendable_one_is_502(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    with ScriptedUpstream() as scripted:
        for path, head in ODD_ANSWERS.items():
            scripted.scripts[path] = _raw(head, path.encode())  # type: ignore[assignment]
        with recorder(scripted.url, out) as (process, url), requests.Session() as client:
            answers = {path: client.get(url + path, timeout=DEADLINE) for path in ODD_ANSWERS}
            process.process.send_signal(signal.SIGTERM)
            assert process.process.wait(timeout=DEADLINE) == 0
            lines = process.rest()
    # The client gets the upstream's answer, but for headers aiohttp cannot send: a 502
    # naming the header, not a dropped connection.
    assert {p: a.status_code for p, a in answers.items()} == {
        "/status-999": 999,
        "/control": 502,
        "/delete": 502,
        "/latin-1": 200,
        "/c1": 200,
        "/fine": 200,
    }
    for path, header in (("/control", "X-Bad"), ("/delete", "X-Del")):
        body = answers[path].json()
        assert body["error"] == "upstream answer unusable"
        assert header in body["detail"]
        assert "control character" in body["detail"]
    assert answers["/fine"].text == "/fine"
    # Only what the format holds is written; each other exchange has one line saying why.
    assert stub_paths(out / "svc.yaml") == ["/fine"]
    assert_valid(out)
    skipped = [line for line in lines if "not recorded" in line]
    assert len(skipped) == 3, lines
    reasons = {
        "/status-999": "status",
        "/latin-1": "X-Name is not UTF-8",
        "/c1": "X-C1: header value contains control characters",
    }
    for path, reason in reasons.items():
        assert any(f"'{path}'" in line and reason in line for line in skipped), (path, skipped)
    assert not any("Traceback" in line for line in lines), lines


def test_item_6_many_mid_sized_answers_never_take_the_stub_file_past_the_limit(
    tmp_path: Path,
) -> None:
    """300 answers of 50 kB (15 MB of text): inline until the file holds 4 MiB, then in body
    files; the file stays under the loader's 10 MiB and loads."""
    recording = Recording()
    for i in range(300):
        body = sized_body("text", 50_000, i)
        headers = (("Content-Type", "text/plain"),)
        exchange = Exchange("GET", f"/t/{i}", (), (), b"", 200, headers, body)
        recording.add("svc", "http://up.example", exchange)
    (written,) = write_recording(recording, {"svc": tmp_path}, Redaction())
    assert 4 * 1024 * 1024 < written.stat().st_size < 5 * 1024 * 1024
    assert len(stub_paths(written)) == 300
    assert_valid(tmp_path)


def test_item_6_exchanges_trickling_in_do_not_cost_a_rewrite_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,500 exchanges handed over in 50 batches, each waited for on disk: writes coalesce and
    pause (three times the last write's time, 50 ms at least), so the file is written tens of
    times, not 1,500, and each exchange is on disk moments after it came."""
    writes: list[int] = []
    real = persist.write_atomic

    def counted(path: Path, text: str | bytes) -> None:
        if path.suffix == ".yaml":
            writes.append(len(text))
        real(path, text)

    monkeypatch.setattr(recordwriter, "write_atomic", counted)
    writer = Recorder({"svc": tmp_path}, Redaction())
    headers = (("Content-Type", "application/json"),)
    target = tmp_path / "svc.yaml"
    started = time.monotonic()
    for i in range(1500):
        body = b'{"n":%d,"text":"%s"}' % (i, b"x" * 500)
        writer.add(
            "svc", "http://up.example", Exchange("GET", f"/n/{i}", (), (), b"", 200, headers, body)
        )
        if i % 30 == 29:  # in 50 batches, each on disk before the next comes
            wait_until(
                lambda i=i: target.exists() and f"/n/{i}\n" in target.read_text(),
                f"exchange {i} on disk",
            )
    elapsed = time.monotonic() - started
    (path,) = writer.close()
    assert len(stub_paths(path)) == 1500
    most = elapsed / 0.05 + 2
    assert len(writes) <= most, (len(writes), elapsed)
    # What was written in all is a small multiple of the file, not 1,500 / 2 of it.
    assert sum(writes) < 100 * path.stat().st_size, (sum(writes), path.stat().st_size)
    assert os.listdir(tmp_path) == ["svc.yaml"]


def test_item_6_recording_again_leaves_no_body_file_of_the_replaced_recording(
    tmp_path: Path,
) -> None:
    headers = (("Content-Type", "text/plain"),)
    for seed in (1, 2):
        body = sized_body("text", 100_000, seed)
        recording = Recording()
        recording.add(
            "svc", "http://up.example", Exchange("GET", "/t", (), (), b"", 200, headers, body)
        )
        (written,) = write_recording(recording, {"svc": tmp_path}, Redaction())
        (name,) = [s["response"]["body_file"] for s in yaml.safe_load(written.read_text())["stubs"]]
        assert (tmp_path / name).read_bytes() == body
        assert [p.name for p in (tmp_path / "svc.bodies").iterdir()] == [Path(name).name]
