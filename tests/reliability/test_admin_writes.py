"""research/reliability.md §4 rows 10-16: body files at runtime, admin writes, persistence and
reloads under change and under load.

The promise each time: a write is applied whole or not at all, a reader sees one stub set or
the next and never a mix, and a failure says what failed and leaves the state as it was.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver import MockServer
from mockserver.core.errors import MockServerError, StubFileError
from mockserver.formats.loader import load_paths
from mockserver.recording import persist
from mockserver.recording.exchange import Exchange, Redaction
from mockserver.recording.forwarding import Forwarding, Recorder

from ..integration.admin_helpers import Admin, assert_error, serve, wait_until, write_stubs


def test_row_10_a_body_file_name_is_a_literal_path_never_a_template(tmp_path: Path) -> None:
    """No templating exists, so no request value can choose a file: the name is literal."""
    root = write_stubs(
        tmp_path / "stubs",
        {
            "app.yaml": """
                stubs:
                  - request: {path: "/files/{name}"}
                    response: {body_file: "{{request.path}}.txt"}
            """
        },
    )
    (root / "{{request.path}}.txt").write_text("the literal file")
    (tmp_path / "secret.txt").write_text("secret")
    with serve(root) as server, Admin(server.url) as admin:
        for name in ("a", "secret.txt", "..secret", "%7B%7Brequest.path%7D%7D"):
            assert admin.mock("GET", f"/files/{name}").text == "the literal file"
    (root / "{{request.path}}.txt").unlink()
    with pytest.raises(StubFileError, match=r"body_file '\{\{request.path\}\}.txt' does not"):
        load_paths([root])


def test_row_11_a_missing_body_file_is_named_and_a_vanished_one_keeps_serving(
    tmp_path: Path,
) -> None:
    stub = """
        stubs:
          - id: picture
            request: {path: /picture}
            response: {body_file: picture.png}
    """
    root = write_stubs(tmp_path / "stubs", {"app.yaml": stub})
    with pytest.raises(StubFileError) as caught:
        load_paths([root])
    (problem,) = caught.value.problems
    assert (problem.stub, problem.key) == ("'picture'", "response.body_file")
    assert "'picture.png' does not exist" in problem.message
    (root / "picture.png").write_bytes(b"\x89PNG-bytes")
    with serve(root) as server, Admin(server.url) as admin:
        (root / "picture.png").unlink()  # read at load: the bytes served do not vanish
        answer = admin.mock("GET", "/picture")
        assert (answer.status_code, answer.content) == (200, b"\x89PNG-bytes")
        body = assert_error(admin.post("/reload"), 422)
        assert body["problems"][0]["stub"] == "'picture'"
        assert "picture.png' does not exist" in body["problems"][0]["message"]
        assert admin.mock("GET", "/picture").content == b"\x89PNG-bytes"


def digest(root: Path) -> str:
    """Every file under ``root``: names, contents and modification times."""
    sha = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        sha.update(f"{path}:{path.stat().st_mtime_ns}:".encode())
        if path.is_file():
            sha.update(path.read_bytes())
    return sha.hexdigest()


def test_row_12_an_admin_batch_with_an_invalid_stub_applies_nothing(tmp_path: Path) -> None:
    root = write_stubs(tmp_path / "stubs", {"app.yaml": "stubs:\n  - request: {path: /a}\n"})
    before = digest(root)
    batch = [
        {"id": "good", "request": {"path": "/good"}, "response": {"body": "good"}},
        {"id": "bad-status", "request": {"path": "/x"}, "response": {"status": 2000}},
        {"id": "bad-regex", "request": {"path": "/y", "query": {"q": {"regex": "("}}}},
    ]
    with serve(root) as server, Admin(server.url) as admin:
        ids = admin.stub_ids()
        body = assert_error(admin.post("/stubs", json=batch), 422, "invalid stub")
        assert [(p["stub"], p["key"]) for p in body["problems"]] == [
            ("'bad-status'", "response.status"),
            ("'bad-regex'", "request.query.q.regex"),
        ]
        assert admin.stub_ids() == ids
        assert admin.mock("GET", "/good").status_code == 404
    assert digest(root) == before


def test_row_13_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "users.yaml"
    target.write_text("# Recorded by mockserver\nold: content\n")

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr("mockserver.recording.persist.os.fsync", disk_full)
        with pytest.raises(OSError, match="No space left"):
            persist.write_atomic(target, "new: content\n" * 1000)
    assert target.read_text() == "# Recorded by mockserver\nold: content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["users.yaml"]


def test_row_13_a_recording_that_cannot_be_written_fails_the_stop_and_is_kept(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    out.write_text("a file where the directory should be")
    recorder = Recorder({"users": out}, Redaction())
    exchange = Exchange("GET", "/u", (), (), b"", 200, (("Content-Type", "text/plain"),), b"u")
    recorder.add("users", "http://users.invalid", exchange)
    server = MockServer(
        settings_for(tmp_path), forwarding=Forwarding({}, record_all=False, recorder=recorder)
    )
    server.start()
    with pytest.raises(MockServerError, match=r"could not write the recording: .*File exists"):
        server.stop()
    out.unlink()  # the disk is back: the writer, retrying, writes what it kept
    (written,) = recorder.flush()
    assert "path: /u" in written.read_text()


def settings_for(tmp_path: Path, **changes: Any) -> Any:
    from ..integration.admin_helpers import settings

    return settings(write_stubs(tmp_path / "empty", {}), **changes)


def app(version: str) -> str:
    return (
        "service: app\nstubs:\n  - id: hello\n    request: {path: /hello}\n"
        f'    response: {{body: "{version}-{version}"}}\n'
    )


def test_row_14_a_file_changing_during_a_reload_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_stubs(tmp_path / "stubs", {"app.yaml": app("v1")})
    real = load_paths
    calls: list[int] = []

    def saved_while_reading(paths: Any) -> Any:
        loaded = real(paths)
        if not calls:  # an editor saves again while the first read is under way
            (root / "app.yaml").write_text(app("v3-longer"))
        calls.append(1)
        return loaded

    with serve(root) as server, Admin(server.url) as admin:
        (root / "app.yaml").write_text(app("v2"))
        monkeypatch.setattr("mockserver.server.reload.load_paths", saved_while_reading)
        admin.ok("POST", "/reload")
        assert len(calls) == 2
        assert admin.mock("GET", "/hello").text == "v3-longer-v3-longer"


def test_row_14_a_storm_of_edits_never_serves_a_half_written_set(tmp_path: Path) -> None:
    root = write_stubs(tmp_path / "stubs", {"app.yaml": app("v0"), "other.yaml": "stubs: []\n"})
    valid = {f"v{i}-v{i}" for i in range(400)}
    seen: list[tuple[int, str]] = []
    done = threading.Event()
    with serve(root, watch=True) as server, Admin(server.url) as admin:

        def read() -> None:
            with requests.Session() as session:
                while not done.is_set():
                    answer = session.get(server.url + "/hello", timeout=10)
                    seen.append((answer.status_code, answer.text))

        reader = threading.Thread(target=read)
        reader.start()
        try:
            target = root / "app.yaml"
            for i in range(1, 201):
                kind = i % 4
                if kind == 0:  # an editor writing in two pieces: invalid until complete
                    text = app(f"v{i}")
                    cut = text.index(f"-v{i}") + 1  # inside the quoted body
                    with target.open("w") as handle:
                        handle.write(text[:cut])
                        handle.flush()
                        handle.write(text[cut:])
                elif kind == 1:  # save by rename
                    (root / ".app.yaml.tmp").write_text(app(f"v{i}"))
                    os.replace(root / ".app.yaml.tmp", target)
                elif kind == 2:  # a broken save, fixed by the next one
                    target.write_text(app(f"v{i}")[: -len('"}\n')])  # an unclosed quote
                else:  # another file deleted and created again
                    (root / "other.yaml").unlink()
                    (root / "other.yaml").write_text("stubs: []\n")
                # Paced by the reads, not the clock: a few answers between two edits, so the
                # storm of events lands while the server is serving and reloading.
                mark = len(seen)
                wait_until(lambda mark=mark: len(seen) >= mark + 2, what="reads between edits")
            target.write_text(app("v399"))
            wait_until(
                lambda: (
                    admin.mock("GET", "/hello").text == "v399-v399"
                    and admin.ok("GET", "/health")["last_reload"]["ok"]
                ),
                what="the last version served after the storm",
            )
        finally:
            done.set()
            reader.join()
    assert len({text for _, text in seen}) >= 2
    wrong = [(status, text) for status, text in seen if status != 200 or text not in valid]
    assert not wrong, wrong[:5]


def test_row_15_concurrent_admin_writes_while_serving(tmp_path: Path) -> None:
    writers, versions = 4, 40
    failures: list[str] = []
    seen: dict[str, list[int]] = {f"w{i}": [] for i in range(writers)}

    def stub(stub_id: str, version: int) -> dict[str, Any]:
        path = f"/{stub_id}"
        return {"id": stub_id, "request": {"path": path}, "response": {"body": f"v{version}"}}

    with serve(write_stubs(tmp_path / "empty", {})) as server:
        with Admin(server.url) as admin:
            for stub_id in seen:
                admin.ok("PUT", f"/stubs/{stub_id}", 201, json=stub(stub_id, 0))
        done = threading.Event()

        def write(stub_id: str) -> None:
            with Admin(server.url) as admin:
                for version in range(1, versions + 1):
                    answer = admin.put(f"/stubs/{stub_id}", json=stub(stub_id, version))
                    if answer.status_code != 200:
                        failures.append(f"PUT {stub_id}: {answer.status_code}")
                    if version % 10 == 0 and admin.post("/reload").status_code != 200:
                        failures.append("reload failed")

        def read(stub_id: str) -> None:
            with Admin(server.url) as admin:
                while not done.is_set():
                    answer = admin.mock("GET", f"/{stub_id}")
                    found = re.fullmatch(r"v(\d+)", answer.text)
                    if answer.status_code != 200 or found is None:
                        failures.append(f"GET {stub_id}: {answer.status_code} {answer.text!r}")
                        continue
                    seen[stub_id].append(int(found.group(1)))

        threads = [threading.Thread(target=write, args=(s,)) for s in seen]
        readers = [threading.Thread(target=read, args=(s,)) for s in seen]
        for thread in readers + threads:
            thread.start()
        for thread in threads:
            thread.join()
        done.set()
        for thread in readers:
            thread.join()
        with Admin(server.url) as admin:
            final = {s: admin.mock("GET", f"/{s}").text for s in seen}
    assert not failures, failures[:5]
    assert final == dict.fromkeys(seen, f"v{versions}")  # the serial order of each writer
    for stub_id, versions_seen in seen.items():
        assert versions_seen == sorted(versions_seen), f"{stub_id} went back in time"


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("make", "status", "error"),
    [
        (lambda: b'{"pad": "' + b"x" * (11 * 1024 * 1024) + b'"}', 413, "request body too large"),
        (lambda: b"[" * 100_000 + b"]" * 100_000, 400, "malformed JSON"),
        (lambda: b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, 400, "malformed JSON"),
    ],
    ids=["11-MiB", "100k-deep-list", "100k-deep-object"],
)
def test_row_16_oversized_or_deeply_nested_admin_json_is_a_4xx(
    tmp_path: Path, make: Callable[[], bytes], status: int, error: str
) -> None:
    with serve(write_stubs(tmp_path / "empty", {})) as server, Admin(server.url) as admin:
        body = assert_error(admin.post("/stubs", data=make(), headers=JSON), status, error)
        assert len(json.dumps(body)) < 1000  # the input is not echoed back
        assert admin.ok("GET", "/health")["status"] == "ok"
        assert admin.stub_ids() == []
