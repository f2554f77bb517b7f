"""research/reliability.md §4 rows 1-9: malformed and hostile stub files.

Each test is named after its row. The promise each time: a clear error naming the file, the
line and the key; nothing executed or read outside the stubs root; the process (when one is
running) keeps serving what it served before.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
import requests

from mockserver.core.errors import StubFileError
from mockserver.formats.loader import load_paths

from ..console import run_console
from ..integration.admin_helpers import Admin, assert_error, serve, write_stubs

ONE = """
    service: app
    stubs:
      - id: hello
        request: {method: GET, path: /hello}
        response: {body: BODY}
"""


def problems_of(root: Path) -> list[str]:
    with pytest.raises(StubFileError) as caught:
        load_paths([root])
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("service: a\nstubs:\n  - request:\n      path: /x\n     method: GET\n", 5, 6),
        ("service: a\nstubs:\n  - request:\n\tpath: /x\n", 4, 1),
        ('service: a\nstubs:\n  - request: {path: "/x}\n', 4, 1),
    ],
    ids=["bad-indent", "tab", "unclosed-quote"],
)
def test_row_01_malformed_yaml_at_startup_exits_before_binding(
    tmp_path: Path, text: str, line: int, column: int
) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    with socket.socket() as taken:  # had it bound, it would complain of the port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_console("serve", "bad.yaml", "--port", str(port), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert f"  bad.yaml:{line}:{column}: not valid YAML: " in result.stderr, result.stderr
    assert "in use" not in result.stderr


def test_row_02_malformed_yaml_on_reload_keeps_the_previous_set(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = write_stubs(tmp_path / "stubs", {"app.yaml": ONE.replace("BODY", "v1")})
    broken = ONE.replace("BODY", "v2").replace("path: /hello}", "path: /hello")
    with serve(root) as server, Admin(server.url) as admin:
        write_stubs(root, {"app.yaml": broken})
        for _ in range(2):  # the same failure twice is logged once
            body = assert_error(admin.post("/reload"), 422)
            assert body["error"] == "reload failed; the previous stubs are still served"
            assert body["problems"][0]["file"].endswith("app.yaml")
            assert body["problems"][0]["line"] is not None
            assert admin.mock("GET", "/hello").text == "v1"
        health = admin.ok("GET", "/health")["last_reload"]
        assert health["ok"] is False
        assert re.search(r"app\.yaml:\d+:\d+: not valid YAML", health["message"]), health
        failures = [r for r in caplog.records if r.getMessage().startswith("reload failed")]
        assert len(failures) == 1
        assert failures[0].levelno == logging.ERROR
        write_stubs(root, {"app.yaml": ONE.replace("BODY", "v3")})
        admin.ok("POST", "/reload")
        assert admin.mock("GET", "/hello").text == "v3"
        assert admin.ok("GET", "/health")["last_reload"]["ok"] is True


TYPOS = """
service: app
stubs:
  - id: one
    reqest: {path: /x}
    response: {staus: 200}
  - id: two
    request: {path: /y}
    response: {status: "abc", delay_ms: -5}
  - id: three
    request: {path: /z}
    response: {status: 999}
"""


def test_row_03_unknown_fields_and_wrong_types_are_named_with_their_key(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(TYPOS)
    found = problems_of(tmp_path)
    assert len(found) == 5
    wanted = [
        r"app\.yaml:5:5: stub 'one': reqest: unknown key 'reqest' \(did you mean 'request'\?\); "
        r"valid keys: id, description, priority, request, response, responses",
        r"app\.yaml:6:16: stub 'one': response\.staus: unknown key 'staus' "
        r"\(did you mean 'status'\?\); valid keys: status, ",
        r"app\.yaml:9:16: stub 'two': response\.status: expected a whole number from 100 to "
        r"599, got a string 'abc'",
        r"app\.yaml:9:31: stub 'two': response\.delay_ms: expected a whole number from 0 to",
        r"app\.yaml:12:16: stub 'three': response\.status: expected a whole number from 100 to "
        r"599, got 999",
    ]
    for pattern, problem in zip(wanted, found, strict=True):
        assert re.search(pattern, problem), problem
    # The admin API says the same, as data: the key path of each problem.
    with serve(write_stubs(tmp_path / "empty", {})) as server, Admin(server.url) as admin:
        stub = {"id": "one", "reqest": {"path": "/x"}, "response": {"staus": 200}}
        body = assert_error(admin.post("/stubs", json=stub), 422, "invalid stub")
        assert [p["key"] for p in body["problems"]] == ["reqest", "response.staus"]
        assert "valid keys" in body["problems"][0]["message"]
        assert admin.stub_ids() == []


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("app.yaml", "stubs:\n  - request: {path: /a, path: /b}\n", "found duplicate key 'path'"),
        ("app.json", '{"stubs": [], "stubs": []}', "duplicate key 'stubs'"),
    ],
    ids=["yaml", "json"],
)
def test_row_04_duplicate_keys_are_an_error(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    (tmp_path / name).write_text(text)
    (problem,) = problems_of(tmp_path)
    assert name in problem
    assert message in problem


def test_row_05_a_python_tag_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (tmp_path / "stubs").mkdir()
    (tmp_path / "stubs" / "app.yaml").write_text(
        f"stubs: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    (problem,) = problems_of(tmp_path / "stubs")
    assert "app.yaml:1:" in problem
    assert "tags that build objects are refused" in problem
    assert not marker.exists()


def test_row_06_an_alias_bomb_or_a_huge_file_is_refused_quickly_in_flat_memory(
    tmp_path: Path,
) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\nstubs: []\n")
    with (tmp_path / "huge.yaml").open("wb") as huge:
        huge.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing on disk
    tracemalloc.start()
    started = time.monotonic()
    try:
        found = problems_of(tmp_path)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 20 * 1024 * 1024
    assert any("bomb.yaml" in p and "an alias bomb?" in p for p in found), found
    assert any("huge.yaml" in p and "the limit is 10,485,760" in p for p in found), found


BAD_REGEX = """
service: app
stubs:
  - id: search
    request: {path: /search, query: {q: {regex: "/@$&%*[[^^£$&%"}}}
"""


def test_row_07_an_invalid_regex_is_located_with_the_engines_message(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(BAD_REGEX)
    (problem,) = problems_of(tmp_path)
    assert re.search(
        r"app\.yaml:5:\d+: stub 'search': request\.query\.q\.regex: invalid regex "
        r"'/@\$&%\*\[\[\^\^£\$&%': unterminated character set at position \d+",
        problem,
    ), problem
    with serve(write_stubs(tmp_path / "empty", {})) as server, Admin(server.url) as admin:
        stub = {"request": {"path": "/s", "query": {"q": {"regex": "(unclosed"}}}}
        body = assert_error(admin.post("/stubs", json=stub), 422, "invalid stub")
        (found,) = body["problems"]
        assert found["key"] == "request.query.q.regex"
        assert "missing )" in found["message"]


CATASTROPHIC = """
service: app
stubs:
  - id: greedy
    request: {method: POST, path: /search, body: {regex: "(a|aa)+$"}}
  - id: ok
    request: {method: GET, path: /ok}
    response: {body: ok}
"""


def test_row_08_a_catastrophic_regex_gives_up_and_others_are_served_promptly(
    tmp_path: Path,
) -> None:
    write_stubs(tmp_path, {"app.yaml": CATASTROPHIC})
    hostile = b"a" * 10_000 + b"!"
    latencies: list[float] = []
    done = threading.Event()
    with serve(tmp_path) as server:

        def others() -> None:
            with requests.Session() as session:
                while not done.is_set():
                    started = time.monotonic()
                    assert session.get(server.url + "/ok", timeout=10).text == "ok"
                    latencies.append(time.monotonic() - started)

        thread = threading.Thread(target=others)
        thread.start()
        try:
            with requests.Session() as session:
                for _ in range(5):
                    started = time.monotonic()
                    response = session.post(server.url + "/search", data=hostile, timeout=30)
                    assert time.monotonic() - started < 5
                    assert response.status_code == 404
                    why = response.json()["nearest"][0]["first_difference"]["why"]
                    assert "gave up after 50 ms" in why
        finally:
            done.set()
            thread.join()
    assert latencies
    # One hostile request costs the loop one bounded match and one bounded near-miss check.
    assert max(latencies) < 0.5, sorted(latencies)[-5:]


@pytest.fixture
def roots(tmp_path: Path) -> Path:
    """``files`` (the stubs root), a sibling ``files-secret`` and an ``outside`` secret."""
    (tmp_path / "files").mkdir()
    (tmp_path / "files-secret").mkdir()
    (tmp_path / "files-secret" / "secret.txt").write_text("SIBLING-SECRET")
    (tmp_path / "outside.txt").write_text("OUTSIDE-SECRET")
    (tmp_path / "files" / "link.txt").symlink_to(tmp_path / "outside.txt")
    return tmp_path


@pytest.mark.parametrize(
    ("body_file", "why"),
    [
        ("../../../../../../etc/passwd", "is outside the stubs root"),
        ("/etc/passwd", "must be a relative path"),
        ("%2e%2e/outside.txt", "does not exist"),  # never percent-decoded
        ("x\x00.txt", "contains a NUL byte"),
        ("link.txt", "is outside the stubs root"),  # the symlink is resolved first
        ("../files-secret/secret.txt", "is outside the stubs root"),  # a prefix, not a parent
    ],
    ids=["dotdot", "absolute", "percent-encoded", "nul", "symlink", "sibling-prefix"],
)
def test_row_09_body_files_outside_the_root_are_refused_unread(
    roots: Path, body_file: str, why: str
) -> None:
    stub = {"id": "leak", "request": {"path": "/leak"}, "response": {"body_file": body_file}}
    (roots / "files" / "app.json").write_text(json.dumps({"stubs": [stub]}))
    (problem,) = problems_of(roots / "files")
    assert "stub 'leak': response.body_file: " in problem
    assert why in problem
    assert "SECRET" not in problem
    os.remove(roots / "files" / "app.json")
    with serve(roots / "files") as server, Admin(server.url) as admin:
        body = assert_error(admin.post("/stubs", json=stub), 422, "invalid stub")
        assert why in body["problems"][0]["message"]
        assert "SECRET" not in json.dumps(body)
        assert admin.stub_ids() == []
