"""The docs' record → replay → diff walk-through (docs/recording.md), run as it is written."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
import requests

from mockserver import MockServer, Settings
from mockserver.cli.main import main
from mockserver.recording.mode import Target, parse_target, recording_server

from .readme import REPO, console_examples, docs_page, fenced_blocks, parse_curl
from .upstream import replaying

pytestmark = pytest.mark.timeout(60)
SECTION = docs_page("recording.md")
RECORD, CURLS, DIFF = (console_examples(block) for block in fenced_blocks("console", SECTION)[:3])


def test_the_walkthrough_is_where_the_test_expects_it() -> None:
    assert RECORD[0].command.startswith("mockserver record ")
    assert [e.command.split()[0] for e in CURLS] == ["curl", "curl"]
    assert [e.command for e in DIFF] == ["mockserver diff recorded", "echo $?"]


def test_record_replay_diff_as_the_readme_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stubs = tmp_path / "stubs"
    shutil.copytree(REPO / "stubs", stubs)
    args = shlex.split(RECORD[0].command)[2:]
    target = parse_target(args[args.index("--target") + 1])
    assert args[args.index("--out") + 1] == "recorded"
    out = tmp_path / "recorded"
    with MockServer(Settings(paths=(str(stubs),), port=0)) as real:
        port = real.url.rsplit(":", 1)[1]
        assert target.url == "http://localhost:8080"
        # Recording, as `mockserver record` does it, against this run's "real" service.
        settings = Settings(paths=(), port=0)
        served, forwarding = recording_server(
            [Target(target.name, f"http://localhost:{port}")], out, settings
        )
        with MockServer(settings, stubs=served, forwarding=forwarding) as recorder:
            assert RECORD[0].output[1].split() == [
                "users",
                "http://127.0.0.1:9000",
                "->",
                target.url,
            ]
            answers = [curl(recorder.url, e.command) for e in CURLS]
        for example, answer in zip(CURLS, answers, strict=True):
            assert answer == "\n".join(example.output)
        recorded = (out / "users.yaml").read_text(encoding="utf-8")
        assert "s3cr3t" not in recorded

        with replaying(out) as replay:
            assert [curl(replay.url, e.command) for e in CURLS] == answers

        # "user 1 was renamed to Simone"; the real service reloads its files.
        users = stubs / "users.yaml"
        text = users.read_text(encoding="utf-8")
        line = next(x for x in text.splitlines() if '{id: "1", name: Simon, email' in x)
        users.write_text(text.replace(line, line.replace("Simon", "Simone")), encoding="utf-8")
        reloaded = requests.post(real.url + "/__admin/reload", json={}, timeout=10)
        assert reloaded.status_code == 200, reloaded.text
        code = main(["diff", str(out)])
    expected = [x.replace(":8080", f":{port}") for x in DIFF[0].output]
    assert capsys.readouterr().out.splitlines() == expected
    assert str(code) == DIFF[1].output[0]


def curl(base: str, command: str) -> str:
    """What the docs' curl command prints, sent to ``base``."""
    compressed = "--compressed" in command
    request = parse_curl(re.sub(r"\s--compressed\b", "", command))
    headers = request.sent_headers() | ({"Accept-Encoding": "gzip"} if compressed else {})
    with requests.Session() as session:
        answer = session.request(
            request.method, base + request.target, headers=headers, data=request.data, timeout=10
        )
    return answer.text
