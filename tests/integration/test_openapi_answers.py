"""``record``, ``serve --spy --record-new`` and ``diff`` with ``--openapi``: each answer of the
real service that breaks the document is reported (a warning line naming method, path,
status and the violation), and the exchange is still answered and recorded."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mockserver.cli.main import main

from ..console import DEADLINE, MOCKSERVER, Console
from .upstream import Upstream

pytestmark = pytest.mark.timeout(90)

# /api/user/{id} answers as documented; /api/item/{id} sends {"item": "<id>"} (a string, and
# no name); /api/status answers 503 once the service is at version 2, which is not listed.
DOCUMENT = """\
openapi: 3.0.3
info: {title: svc, version: "1"}
paths:
  /api/user/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: a user
          content:
            application/json:
              schema: {$ref: "#/components/schemas/User"}
  /api/item/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: an item
          content:
            application/json:
              schema:
                type: object
                required: [item, name]
                properties: {item: {type: integer}, name: {type: string}}
  /api/status:
    get:
      responses:
        "200":
          description: up or not
          content:
            application/json:
              schema: {type: object, properties: {up: {type: boolean}}}
components:
  schemas:
    User:
      type: object
      required: [id, name]
      properties: {id: {type: string}, name: {type: string}, age: {type: integer}}
"""
BREAKS = (
    "GET /api/item/7 -> 200 breaks",
    "body /item: '7' is not of type 'integer'",
    "'name' is a required property",
    "GET /api/status -> 503 breaks",
    "status 503 is not one of the operation's responses (200)",
)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    with Upstream() as running:
        running.state.version = 2
        yield running


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "api.yaml"
    path.write_text(DOCUMENT, encoding="utf-8")
    return path


def _stub_dir(directory: Path, upstream: Upstream, stubs: str) -> Path:
    """``directory`` with svc.yaml: ``upstream`` and these stubs (YAML lines, indented 2)."""
    directory.mkdir()
    text = f"upstream: {upstream.url}\nstubs:\n{stubs}"
    (directory / "svc.yaml").write_text(text, encoding="utf-8")
    return directory


@pytest.mark.parametrize("mode", ["record", "serve --spy --record-new"])
def test_answers_that_break_the_document_are_logged_and_still_recorded(
    mode: str, upstream: Upstream, document: Path, tmp_path: Path
) -> None:
    if mode == "record":
        out = tmp_path / "recorded"
        args = ["record", "--target", f"svc={upstream.url}", "--out", str(out), "--port", "0"]
        written = out / "svc.yaml"
    else:
        stubs = _stub_dir(tmp_path / "stubs", upstream, "  - {request: {path: /x}, response: {}}\n")
        args = ["serve", str(stubs), "--port", "0", "--spy", "--record-new"]
        written = stubs / "svc.recorded.yaml"
    with Console([MOCKSERVER, *args, "--openapi", str(document)]) as process:
        line = process.next_line(lambda text: text.split()[:1] == ["svc"])
        base = line.split()[1]
        with requests.Session() as client:
            user = client.get(base + "/api/user/1", timeout=10)
            item = client.get(base + "/api/item/7", timeout=10)
            status = client.get(base + "/api/status", timeout=10)
        # Answered as the service answered: the recorder hides nothing.
        assert (user.status_code, item.json(), status.status_code) == (200, {"item": "7"}, 503)
        process.next_line(lambda text: "GET /api/status -> 503 breaks" in text)
        process.process.send_signal(signal.SIGTERM)
        assert process.process.wait(timeout=DEADLINE) == 0
        log = "\n".join(process.rest())
    for expected in BREAKS:
        assert expected in log, expected
    assert f"breaks {document}" in log
    assert "/api/user/1 -> 200 breaks" not in log
    assert f"svc: 2 answers broke {document}" in log
    recorded = written.read_text(encoding="utf-8")
    for path in ("/api/user/1", "/api/item/7", "/api/status"):
        assert path in recorded


def test_a_document_that_cannot_be_read_stops_record_with_a_located_error(
    upstream: Upstream, tmp_path: Path
) -> None:
    bad = tmp_path / "api.yaml"
    bad.write_text("openapi: 3.0.3\ninfo: {title: x, version: '1'}\n", encoding="utf-8")
    target = f"svc={upstream.url}"
    args = ["record", "--target", target, "--out", str(tmp_path), "--port", "0"]
    with Console([MOCKSERVER, *args, "--openapi", str(bad)]) as process:
        assert process.process.wait(timeout=DEADLINE) == 1
        said = "\n".join(process.rest())
    assert "not starting" in said
    assert "no paths" in said
    assert "Traceback" not in said


def test_diff_reports_live_answers_that_break_the_document(
    upstream: Upstream, document: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    upstream.state.version = 1
    recorded = _stub_dir(
        tmp_path / "recorded",
        upstream,
        "  - request: {method: GET, path: /api/user/1}\n"
        '    response: {json: {id: "1", name: Ada, age: 36}}\n'
        "  - request: {method: GET, path: /api/item/7}\n"
        '    response: {json: {item: "7"}}\n',
    )
    assert main(["diff", str(recorded)]) == 0  # nothing drifted
    capsys.readouterr()
    code = main(["diff", str(recorded), "--openapi", str(document)])
    out = capsys.readouterr().out
    assert code == 1, out
    assert f"breaks {document}: GET /api/item/{{id}}: response 200, body /item: '7'" in out
    assert "'name' is a required property" in out
    assert f"2 stubs: 2 agree, 0 drifted, 0 skipped, 0 failed; 1 answer broke {document}" in out
    # The verdicts come after the report of how the replay chooses, which names the path too.
    user_line = [line for line in out.splitlines() if "/api/user/1" in line][-1]
    assert user_line.split()[0] == "ok"
