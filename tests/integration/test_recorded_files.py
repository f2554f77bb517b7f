"""The stub files the recorders write, read as another user and a later run would: their mode
(``os.stat``) and what their header says writing them again does, for ``mockserver record``,
``serve --spy --record-new``, the plugin's ``--mockserver-record`` and ``import har``."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mockserver.recording.exchange import Exchange, Redaction
from mockserver.recording.persist import WriteMode
from mockserver.recording.stubs import Recording
from mockserver.recording.writer import write_recording

from ..console import MOCKSERVER, Console, clean_env, run_console
from .hars import har_entry, har_log
from .upstream import Upstream

pytestmark = pytest.mark.timeout(90)

RECORD_NOTE = "# Secrets were redacted. Edit freely; recording again (mockserver record) replaces"
NEW_NOTE = "# Secrets were redacted. Edit freely; spy mode (serve --spy --record-new, pytest"
ALL_NOTE = "# Secrets were redacted. Edit freely; pytest --mockserver-record=all replaces this"
IMPORT_NOTE = "# Secrets were redacted. Edit freely; importing again (mockserver import) replaces"


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The umask this test runs (and its subprocesses inherit), 022 unless parametrized."""
    wanted = getattr(request, "param", 0o022)
    previous = os.umask(wanted)
    yield wanted
    os.umask(previous)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream() as running:
        yield running


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def header(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()[:3]


def stopped(console: Console) -> int:
    console.process.send_signal(signal.SIGTERM)
    return console.process.wait(timeout=30)


def record_once(upstream: Upstream, out: Path) -> None:
    """Run ``mockserver record`` into ``out`` for one request, then stop it (SIGTERM)."""
    args = ["record", "--target", f"svc={upstream.url}", "--out", str(out), "--port", "0"]
    with Console([MOCKSERVER, *args], env=clean_env()) as console:
        line = console.next_line(lambda text: "->" in text)
        found = re.search(r"(http://\S+)\s+->", line)
        assert found is not None, line
        assert requests.get(found.group(1) + "/api/user/2", timeout=10).status_code == 200
        assert stopped(console) == 0, console.rest()


def test_mockserver_record_writes_0666_less_the_umask_and_keeps_a_mode_on_rewrite(
    umask: int, upstream: Upstream, tmp_path: Path
) -> None:
    out = tmp_path / "recorded"
    record_once(upstream, out)
    written = out / "svc.yaml"
    assert mode(written) == 0o644
    assert header(written)[1].startswith(RECORD_NOTE)
    written.chmod(0o640)  # a person's choice, kept when the recorder writes the file again
    record_once(upstream, out)
    assert mode(written) == 0o640
    assert [p.name for p in out.iterdir()] == ["svc.yaml"]  # no temporary file left behind


def spy_stubs(directory: Path, upstream_url: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "svc.yaml").write_text(
        f"service: svc\nupstream: {upstream_url}\nstubs: []\n", encoding="utf-8"
    )
    return directory


def spy_once(stubs: Path, path: str) -> None:
    args = ["serve", str(stubs), "--port", "0", "--spy", "--record-new"]
    with Console([MOCKSERVER, *args], env=clean_env()) as console:
        line = console.next_line(lambda text: text.startswith("  admin: "))
        base = line.split()[-1].removesuffix("/__admin/health")
        assert requests.get(base + path, timeout=10).status_code == 200
        assert stopped(console) == 0, console.rest()


def test_serve_spy_record_new_writes_a_readable_file_whose_header_says_it_adds(
    umask: int, upstream: Upstream, tmp_path: Path
) -> None:
    stubs = spy_stubs(tmp_path / "stubs", upstream.url)
    spy_once(stubs, "/api/user/2")
    recorded = stubs / "svc.recorded.yaml"
    assert mode(recorded) == 0o644
    assert header(recorded)[1].startswith(NEW_NOTE)
    assert "adds what it records" in header(recorded)[1]
    assert "keeps what is here" in header(recorded)[2]
    recorded.chmod(0o600)
    spy_once(stubs, "/api/user/3")
    assert mode(recorded) == 0o600
    # And it did add, as the header says.
    assert recorded.read_text(encoding="utf-8").count("path: /api/user/") == 2


INNER_TEST = """
import os

import requests


def test_the_app(mockserver):
    assert requests.get(os.environ["SVC_URL"] + "/api/user/3", timeout=5).status_code == 200
"""


@pytest.mark.parametrize("record", ["new", "all"])
def test_the_plugins_recordings_are_readable_and_their_header_names_the_mode(
    umask: int, upstream: Upstream, pytester: pytest.Pytester, record: str
) -> None:
    spy_stubs(pytester.path / "stubs", upstream.url)
    pytester.makefile(".ini", pytest="[pytest]\naddopts = -p no:cacheprovider -p no:randomly\n")
    pytester.makepyfile(test_app=INNER_TEST)
    pytester.runpytest(f"--mockserver-record={record}").assert_outcomes(passed=1)
    recorded = pytester.path / "stubs" / "svc.recorded.yaml"
    assert mode(recorded) == 0o644
    assert header(recorded)[1].startswith(NEW_NOTE if record == "new" else ALL_NOTE)


@pytest.mark.parametrize("umask", [0o022, 0o027], indirect=True, ids=["022", "027"])
def test_import_har_writes_0666_less_the_umask_with_a_header_about_importing(
    umask: int, tmp_path: Path
) -> None:
    ok = {
        "status": 200,
        "headers": [],
        "content": {"size": 2, "mimeType": "text/plain", "text": "ok"},
    }
    har = har_log([har_entry("GET", "https://api.example.com/health", {"headers": []}, ok)])
    (tmp_path / "s.har").write_text(json.dumps(har), encoding="utf-8")
    out = tmp_path / "stubs"
    result = run_console("import", "har", str(tmp_path / "s.har"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    written = out / "api.example.com.yaml"
    assert mode(written) == 0o666 & ~umask
    assert header(written)[1].startswith(IMPORT_NOTE)


def test_what_the_four_headers_say_in_full(tmp_path: Path) -> None:
    """The notes as a reader sees them (the tests above check which file gets which)."""
    exchange = Exchange("GET", "/a", (), (), b"", 200, (("Content-Type", "text/plain"),), b"ok")
    recording = Recording({"svc": "http://up"}, {"svc": [exchange]})
    modes: tuple[WriteMode, ...] = ("record", "new", "all", "import")
    seen = {}
    for name in modes:
        (path,) = write_recording(recording, {"svc": tmp_path / name}, Redaction(), mode=name)
        seen[name] = header(path)[1:]
    edit = "# Secrets were redacted. Edit freely; "
    assert seen == {
        "record": [
            edit + "recording again (mockserver record) replaces this file.",
            "service: svc",
        ],
        "new": [
            edit + "spy mode (serve --spy --record-new, pytest --mockserver-record=new) adds "
            "what it records",
            "# to this file and keeps what is here; pytest --mockserver-record=all replaces it.",
        ],
        "all": [
            edit + "pytest --mockserver-record=all replaces this file when it records again;",
            "# spy mode (serve --spy --record-new, --mockserver-record=new) adds to it.",
        ],
        "import": [
            edit + "importing again (mockserver import) replaces this file.",
            "service: svc",
        ],
    }
