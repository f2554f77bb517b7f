"""The docs' examples that the walk-through tests do not already run, run as written, so
they cannot drift: its curl blocks with the real curl, its stub YAML through the loader, its
Python snippets (the pytest ones in a pytest of their own, against the bundled stubs), and its
validate, workers, spy, import and JSON log examples with the real script."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from mockserver import MockServer, Settings, load_paths
from mockserver.recording.exchange import Exchange, Redaction
from mockserver.recording.stubs import Recording
from mockserver.recording.writer import write_recording

from ..console import MOCKSERVER, Console, clean_env, run_console
from .conftest import find_free_port
from .hars import har_entry, har_log
from .readme import (
    DOCS,
    REPO,
    STUBS,
    assert_excerpt,
    assert_shown,
    console_examples,
    docs_page,
    fenced_blocks,
    readme_urls,
    run_shell,
)

pytestmark = pytest.mark.timeout(120)

CONSOLE = [console_examples(block) for block in fenced_blocks("console")]
PYTHON = fenced_blocks("python")
TEMPLATED = [b for b in fenced_blocks("yaml") if "template: true" in b]
SCENARIOS = [b for b in fenced_blocks("yaml") if "scenario:" in b and b not in TEMPLATED]
YAML = [b for b in fenced_blocks("yaml") if b not in TEMPLATED and b not in SCENARIOS]


def _on_bundled_ports(command: str) -> bool:
    """A curl command to the bundled stubs' ports, its output at most filtered by grep."""
    tokens = shlex.split(command, comments=True)
    if tokens[0] != "curl" or not re.search(r"localhost:(8080|8081)\b", command):
        return False
    piped = [tokens[i + 1] for i, token in enumerate(tokens) if token == "|"]
    return all(program == "grep" for program in piped)


CURL_BLOCKS = [b for b in CONSOLE if b and all(_on_bundled_ports(e.command) for e in b)]


def test_the_curl_blocks_run_here_are_the_ones_expected() -> None:
    # The walk-through (it pipes into `file`) and the recording's are run by their own tests.
    firsts = [block[0].command.split(" localhost")[0] for block in CURL_BLOCKS]
    assert firsts == [
        "curl -s -X POST",  # the near-miss report
        "curl -s -o /dev/null -D -",  # compression and 304
        "curl -si",  # a stateful resource
        "curl -s",  # a scenario
        "curl -s -X POST",  # the admin API
        "curl -s -X POST",  # a namespace
    ]


@pytest.mark.parametrize("block", CURL_BLOCKS, ids=lambda b: b[0].command[:48])
def test_a_curl_block_prints_what_the_readme_shows(
    block: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)  # the docs serve "stubs": sources read stubs/users.yaml
    settings = Settings(paths=("stubs",), port=0, ephemeral_service_ports=True)
    with MockServer(settings) as server:
        urls = readme_urls(server)
        for example in block:  # in order, on one server: the resource example changes state
            assert_shown(example.output, run_shell(example.command, urls))


# -- stub YAML through the loader -----------------------------------------------------------


def test_every_stub_yaml_example_loads(tmp_path: Path) -> None:
    file_format, response_keys, resources, webhooks = YAML[:4]
    (tmp_path / "users.yaml").write_text(file_format, encoding="utf-8")
    (tmp_path / "payments.yaml").write_text(webhooks, encoding="utf-8")
    # The response keys are shown as a fragment of a stub: put it in one.
    fragment = "stubs:\n  - request: {method: GET, path: /etag}\n" + response_keys
    (tmp_path / "fragment.yaml").write_text(fragment, encoding="utf-8")
    (tmp_path / "carts.yaml").write_text(resources, encoding="utf-8")
    loaded = load_paths([tmp_path])
    assert sorted(loaded.services) == ["carts", "fragment", "payments", "users"]
    assert loaded.services["users"].port == 8001
    assert [r.path for r in loaded.services["carts"].resources] == ["/api/carts"]
    assert sorted(s.id.split("-")[0] for s in loaded.stubs) == ["fragment", "get", "pay"]
    (paid,) = next(s for s in loaded.stubs if s.id == "pay").webhooks
    assert (paid.method, paid.delay_ms, paid.body) == ("POST", 200, b'{"order":42,"status":"paid"}')


def subset(shown: Any, real: Any) -> bool:
    """``shown`` says nothing ``real`` does not: its keys, items and values are in ``real``."""
    if isinstance(shown, dict):
        return isinstance(real, dict) and all(
            k in real and subset(shown[k], real[k]) for k in shown
        )
    if isinstance(shown, list):
        return isinstance(real, list) and all(any(subset(s, r) for r in real) for s in shown)
    return bool(shown == real)


def test_the_compose_and_kubernetes_excerpts_are_in_the_example_files() -> None:
    # Looked up on the container page, so examples other pages add do not shift them.
    compose, k8s, *_ = fenced_blocks("yaml", docs_page("container.md"))
    shown = yaml.safe_load("\n".join(x for x in compose.splitlines() if x.strip() != "..."))
    real = yaml.safe_load((REPO / "examples/compose/docker-compose.yml").read_text())
    assert subset(shown, real), shown
    assert_excerpt(k8s.splitlines(), (REPO / "examples/kubernetes/mockserver.yaml").read_text())
    (replicas,) = [b for b in YAML if "MOCKSERVER_STATE: redis://" in b]
    shown = yaml.safe_load("\n".join(x for x in replicas.splitlines() if x.strip() != "..."))
    real = yaml.safe_load((REPO / "examples/compose/replicas.yml").read_text())["services"]
    assert subset(shown, real), shown


def test_the_templates_example_renders_what_the_readme_shows(tmp_path: Path) -> None:
    (stubs,) = TEMPLATED
    (tmp_path / "orders.yaml").write_text(stubs, encoding="utf-8")
    ((example,),) = [b for b in CONSOLE if "localhost:8002" in b[0].command]
    with MockServer(Settings(paths=(str(tmp_path),), port=0, ephemeral_service_ports=True)) as s:
        shown = run_shell(example.command, {8002: s.url_for("orders")})
    assert_shown(example.output, shown)
    rendered = json.loads(shown.splitlines()[-1])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rendered["at"])
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", rendered["order"]
    )


# -- Python snippets --------------------------------------------------------------------------


def test_every_python_snippet_defines_or_imports_what_it_uses() -> None:
    for snippet in PYTHON:
        checked = subprocess.run(
            [sys.executable, "-m", "ruff", "check", "--isolated", "--select", "F", "-"],
            input=snippet,
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, snippet + checked.stdout


def test_the_admin_client_snippet_runs_against_a_server() -> None:
    (snippet,) = [s for s in PYTHON if "MockServerClient(" in s]
    exercise = "...  # exercise the code under test"
    assert exercise in snippet
    with MockServer(Settings(paths=(str(STUBS),), port=0)) as server:
        code = snippet.replace("http://127.0.0.1:8080", server.url).replace(
            exercise, f"__import__('requests').get({server.url!r} + '/api/user/2', timeout=5)"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"  # print(admin.unmatched()): nothing went unmatched


def test_the_from_python_snippet_runs_in_the_repository() -> None:
    (snippet,) = [s for s in PYTHON if "with MockServer(" in s]
    code = snippet + "print(users_url)\n"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+\n", done.stdout)


@pytest.mark.parametrize(
    ("name", "tests"), [("test_profile", 1), ("test_profile_async", 1), ("test_scopes", 2)]
)
def test_the_pytest_snippets_pass_against_the_bundled_stubs(
    pytester: pytest.Pytester, name: str, tests: int
) -> None:
    (snippet,) = [s for s in PYTHON if s.startswith(f"# {name}.py")]
    shutil.copytree(STUBS, pytester.path / "stubs")
    pytester.makepyfile(**{name: snippet})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=tests)


# -- the script -------------------------------------------------------------------------------


def test_the_shadowed_validate_example(tmp_path: Path) -> None:
    ((example,),) = [b for b in CONSOLE if b[0].command == "mockserver validate stubs"]
    shutil.copytree(STUBS, tmp_path / "stubs")
    body = b'{"id":"1","name":"Simon"}'
    exchange = Exchange(
        "GET", "/api/user/1", (), (), b"", 200, (("Content-Type", "application/json"),), body
    )
    recording = Recording({"users": "http://users.internal"}, {"users": [exchange]})
    write_recording(recording, {"users": tmp_path / "stubs"}, Redaction(), suffix=".recorded")
    result = run_console(*shlex.split(example.command)[1:], cwd=tmp_path)
    assert (result.returncode, result.stdout.splitlines()) == (0, list(example.output))


def test_the_workers_example_on_the_stubs_it_names() -> None:
    ((example,),) = [b for b in CONSOLE if "--workers 2" in b[0].command]
    args = [*shlex.split(example.command)[1:], "--port", "0"]
    with Console([MOCKSERVER, *args], cwd=REPO, env=clean_env()) as console:
        console.next_line(lambda line: "worker processes" in line)
        start = max(i for i, line in enumerate(console.seen) if line.startswith("mockserver "))
        banner = console.seen[start:]
        port = re.search(r":(\d+)/__admin", "\n".join(banner))
        assert port is not None, banner
        shown = [
            re.sub(r"\(pids .*\)", "(pids ...)", line).replace(":8080", f":{port[1]}")
            for line in example.output
        ]
        assert_shown(shown, "\n".join(banner))
        console.process.send_signal(signal.SIGTERM)
        assert console.process.wait(timeout=30) == 0


def test_the_json_log_line_example() -> None:
    # The container page's log line (other pages show admin answers as JSON).
    (shown,) = [json.loads(line) for line in fenced_blocks("json", docs_page("container.md"))]
    args = ["serve", str(STUBS), "--port", "0", "--log-format", "json"]
    with Console([MOCKSERVER, *args], env=clean_env()) as console:
        started = json.loads(console.next_line(lambda line: '"started"' in line))
        url = started["admin"].removesuffix("/__admin/health")
        assert requests.get(url + f"{shown['path']}?{shown['query']}", timeout=10).ok
        logged = json.loads(console.next_line(lambda line: '"status"' in line))
        console.process.send_signal(signal.SIGTERM)
        console.process.wait(timeout=30)
    assert logged.keys() == shown.keys()
    assert {k: v for k, v in logged.items() if k != "time"} == {
        k: v for k, v in shown.items() if k != "time"
    }
    # The time as the docs show it: UTC, to the millisecond.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", logged["time"])


def test_the_har_import_example(tmp_path: Path) -> None:
    ((example,),) = [b for b in CONSOLE if b[0].command.startswith("mockserver import har")]
    json_type = [{"name": "Content-Type", "value": "application/json"}]
    user = {"mimeType": "application/json", "text": '{"id": "1"}'}
    login = {"mimeType": "application/json", "text": '{"user": "ada", "password": "pw-1"}'}
    no_body = {"size": 0, "mimeType": "text/plain"}
    entries = [
        har_entry(
            "GET",
            "https://app.example.com/api/user/1",
            {"headers": []},
            {"status": 200, "headers": json_type, "content": user},
        ),
        har_entry(
            "POST",
            "https://app.example.com/login",
            {"headers": json_type, "postData": login},
            {"status": 204, "headers": [], "content": no_body},
        ),
    ]
    (tmp_path / "session.har").write_text(json.dumps(har_log(entries)), encoding="utf-8")
    result = run_console(*shlex.split(example.command)[1:], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert_shown(example.output, result.stdout)
    written = (tmp_path / "stubs" / "app.example.com.yaml").read_text(encoding="utf-8")
    assert "pw-1" not in written  # --redact '$.password'


def test_the_command_line_summary_is_what_help_says() -> None:
    summary = next(b for b in fenced_blocks("text") if b.startswith("mockserver serve"))
    for line in summary.splitlines():
        command, _, said = line.partition("   ")
        words = command.split()
        usage = run_console(words[1], "--help", COLUMNS="1000").stdout.split("\n\n")[0]
        assert " ".join(words[2:]) in usage, (line, usage)
        assert said.strip(), line


def test_the_spy_example_with_the_upstream_it_names(tmp_path: Path) -> None:
    ((example,),) = [b for b in CONSOLE if "--spy" in b[0].command]
    before = DOCS[: DOCS.index(example.command)].rsplit("\n\n", 2)[-2]
    found = re.search(r"`upstream: (\S+)` under `service: users`", before)
    assert found is not None, before
    main, catalog = find_free_port(), find_free_port()
    shutil.copytree(STUBS, tmp_path / "stubs")
    users, catalogs = tmp_path / "stubs" / "users.yaml", tmp_path / "stubs" / "catalog.yaml"
    users.write_text(
        users.read_text().replace("service: users\n", f"service: users\nupstream: {found[1]}\n")
    )
    catalogs.write_text(catalogs.read_text().replace("port: 8081", f"port: {catalog}"))
    args = [*shlex.split(example.command)[1:], "--port", str(main)]
    with Console([MOCKSERVER, *args], cwd=tmp_path, env=clean_env()) as console:
        console.next_line(lambda line: line.startswith("    users  "))
        console.process.send_signal(signal.SIGTERM)
        assert console.process.wait(timeout=30) == 0
    shown = "\n".join(example.output).replace(":8080", f":{main}").replace(":8081", f":{catalog}")
    assert console.seen == shown.splitlines()


def test_the_scenario_example_serves_as_the_readme_says(tmp_path: Path) -> None:
    (todo,) = SCENARIOS
    (tmp_path / "todo.yaml").write_text(todo, encoding="utf-8")
    settings = Settings(paths=(str(tmp_path),), port=0)
    with MockServer(settings) as server, requests.Session() as client:
        assert client.get(server.url + "/todo", timeout=5).json() == []
        assert client.post(server.url + "/todo", timeout=5).status_code == 201
        assert client.get(server.url + "/todo", timeout=5).json() == [{"title": "milk"}]
