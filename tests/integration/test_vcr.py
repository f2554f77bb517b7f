"""VCR.py cassettes, recorded by vcrpy itself from a real aiohttp service, served as they are
and imported as stub files."""

from __future__ import annotations

import asyncio
import gzip
import re
import shlex
from pathlib import Path

import aiohttp
import pytest
import requests
import vcr
import yaml

from ..console import run_console
from .admin_helpers import serve
from .readme import assert_shown, console_examples, docs_page, fenced_blocks
from .upstream import BINARY, LARGE, TEXT, Upstream


@pytest.fixture(scope="module")
def cassettes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two cassettes: one by requests, one by aiohttp, as vcrpy writes them."""
    folder = tmp_path_factory.mktemp("cassettes")
    recorder = vcr.VCR(cassette_library_dir=str(folder), record_mode="all")
    with Upstream() as upstream:
        with recorder.use_cassette("shop.yaml"), requests.Session() as session:
            assert session.get(upstream.url + "/gzip", timeout=5).content == LARGE
            for expected in (1, 2, 3):
                assert session.get(upstream.url + "/counter", timeout=5).json() == {
                    "count": expected
                }
            for n in (1, 2):
                echoed = session.post(upstream.url + "/api/echo", json={"n": n}, timeout=5)
                assert echoed.json()["got"] == {"n": n}
            assert session.get(upstream.url + "/binary", timeout=5).content == BINARY
            assert session.get(upstream.url + "/text?lang=en", timeout=5).text == TEXT

        async def with_aiohttp() -> bytes:
            async with aiohttp.ClientSession() as client, client.get(upstream.url + "/gzip") as got:
                return await got.read()

        with recorder.use_cassette("aio.yaml"):
            assert asyncio.run(with_aiohttp()) == LARGE
    return folder


def test_the_cassettes_are_what_vcrpy_writes(cassettes: Path) -> None:
    # What the replay must undo: a decoded body under a Content-Encoding: gzip header, and
    # binary bodies as !!binary.
    text = (cassettes / "shop.yaml").read_text()
    assert "!!binary" in text
    shop = yaml.safe_load(text)
    gzip_answer = shop["interactions"][0]["response"]
    assert gzip_answer["headers"]["Content-Encoding"] == ["gzip"]
    assert gzip_answer["body"]["string"].encode() == LARGE  # already decoded


def test_a_cassette_is_served_as_it_is(cassettes: Path) -> None:
    with serve(cassettes) as server, requests.Session() as client:
        assert set(server.urls) == {"shop", "aio"}
        base = server.url
        zipped = client.get(base + "/gzip", headers={"Accept-Encoding": "gzip"}, timeout=5)
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert zipped.content == LARGE  # decoded by requests: a real gzip stream
        plain = client.get(base + "/gzip", headers={"Accept-Encoding": "identity"}, timeout=5)
        assert "Content-Encoding" not in plain.headers
        assert plain.headers["Content-Length"] == str(len(LARGE))  # not the recorded 63
        assert plain.content == LARGE
        # Identical requests: the recorded answers in turn, then the last again.
        counts = [client.get(base + "/counter", timeout=5).json()["count"] for _ in range(4)]
        assert counts == [1, 2, 3, 3]
        # Requests told apart by their JSON body.
        for n in (2, 1):
            assert client.post(base + "/api/echo", json={"n": n}, timeout=5).json()["got"] == {
                "n": n
            }
        assert client.post(base + "/api/echo", json={"n": 3}, timeout=5).status_code == 404
        assert client.get(base + "/binary", timeout=5).content == BINARY
        assert client.get(base + "/text?lang=en", timeout=5).text == TEXT
        assert client.get(base + "/text?lang=fr", timeout=5).status_code == 404


def test_mockserver_import_vcr_writes_stub_files_that_serve_the_same(
    cassettes: Path, tmp_path: Path
) -> None:
    out = tmp_path / "stubs"
    result = run_console(
        "import",
        "vcr",
        str(cassettes / "shop.yaml"),
        str(cassettes / "aio.yaml"),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "imported 9 entries" in result.stdout
    assert run_console("validate", str(out)).returncode == 0
    (written,) = out.glob("*.yaml")  # one origin: one service
    assert "upstream: http://127.0.0.1:" in written.read_text()
    with serve(out) as server, requests.Session() as client:
        base = server.url
        counts = [client.get(base + "/counter", timeout=5).json()["count"] for _ in range(4)]
        assert counts == [1, 2, 3, 3]
        zipped = client.get(base + "/gzip", headers={"Accept-Encoding": "gzip"}, timeout=5)
        assert (zipped.headers["Content-Encoding"], zipped.content) == ("gzip", LARGE)


def test_coded_bytes_in_a_cassette_are_decoded(tmp_path: Path) -> None:
    # Other clients hand vcrpy the bytes as sent: gzip stored as !!binary.
    cassette = {
        "version": 1,
        "interactions": [
            {
                "request": {
                    "method": "GET",
                    "uri": "http://api.test/z",
                    "body": None,
                    "headers": {},
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {
                        "Content-Encoding": ["gzip"],
                        "Content-Type": ["text/plain"],
                        "Content-Length": ["999"],
                    },
                    "body": {"string": gzip.compress(LARGE)},
                },
            }
        ],
    }
    (tmp_path / "z.yaml").write_text(yaml.safe_dump(cassette))
    with serve(tmp_path) as server:
        answer = requests.get(server.url + "/z", headers={"Accept-Encoding": "identity"}, timeout=5)
        assert (answer.status_code, answer.content) == (200, LARGE)


def test_a_cassette_that_cannot_be_served_is_a_located_error(tmp_path: Path) -> None:
    cassette = {
        "version": 1,
        "interactions": [{"request": {"method": "GET"}, "response": {"status": {"code": 200}}}],
    }
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cassette))
    result = run_console("validate", str(tmp_path))
    assert result.returncode == 1
    assert "bad.yaml" in result.stderr
    assert "interactions[0].request needs a method and a uri" in result.stderr


def test_the_docs_import_example_prints_what_it_shows(cassettes: Path, tmp_path: Path) -> None:
    """docs/formats.md's `mockserver import vcr tests/cassettes/*.yaml`, on cassettes of a
    service at 127.0.0.1:8000 named as a pytest-recording suite names them."""
    ((example,),) = [
        examples
        for block in fenced_blocks("console", docs_page("formats.md"))
        if (examples := console_examples(block))[0].command.startswith("mockserver import vcr")
    ]
    folder = tmp_path / "tests" / "cassettes"
    folder.mkdir(parents=True)
    for name in ("shop", "aio"):
        recorded = (cassettes / f"{name}.yaml").read_text(encoding="utf-8")
        at_8000 = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:8000", recorded)
        (folder / f"test_{name}.yaml").write_text(at_8000, encoding="utf-8")
    words = shlex.split(example.command)[1:]
    pattern = words.index("tests/cassettes/*.yaml")
    # The shell's expansion of the glob: its matches in sorted order.
    matches = sorted(str(p.relative_to(tmp_path)) for p in folder.glob("*.yaml"))
    result = run_console(*words[:pattern], *matches, *words[pattern + 1 :], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_shown(example.output, result.stdout)
    assert (tmp_path / "stubs" / "127.0.0.1-8000.yaml").is_file()
