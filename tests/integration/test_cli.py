"""The ``mockserver`` script as a subprocess: serve, signals, environment, validate, help."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from mockserver import __version__, load_paths

from ..console import DEADLINE, MOCKSERVER, Console, run_console
from ..console import clean_env as console_env
from .readme import REPO, console_examples, docs_page, fenced_blocks

# Every option the docs' table documents, with its environment variable.
CLI_PAGE = docs_page("cli.md")
OPTIONS = dict(
    re.findall(r"^\| `(--[a-z-]+|PATH \.\.\.)` \| `(MOCKSERVER_[A-Z_]+)`", CLI_PAGE, re.M)
)
BROKEN_YAML = """\
# broken.yaml: three mistakes, all reported in one run
service: users
stubs:
 - id: get-user
   request:
      metod: GET
      path: /api/user/{user_id}
      query: { page: {regx: "^[0-9]+$"} }
   # a status is from 100 to 599
   response: {status: 2000, json: {id: "1"}}
"""


def clean_env(**extra: str) -> dict[str, str]:
    """The console environment, wide enough that help text is not wrapped."""
    return console_env(COLUMNS="1000", **extra)


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_console(*args, cwd=cwd, **({"COLUMNS": "1000"} | (env or {})))


class Serving(Console):
    """A ``mockserver serve`` process whose output is read line by line as it comes."""

    def __init__(self, args: list[str], cwd: Path | None, env: dict[str, str]) -> None:
        super().__init__([MOCKSERVER, "serve", *args], cwd=cwd, env=clean_env(**env))

    def wait_for(self, wanted: Callable[[str], bool]) -> str:
        """The first new line for which ``wanted`` holds; fails at the deadline or on exit."""
        return self.next_line(wanted)

    def banner(self) -> list[str]:
        self.wait_for(lambda line: line.startswith("  admin: "))
        start = max(i for i, line in enumerate(self.seen) if line.startswith("mockserver "))
        return self.seen[start:]

    def stop(self, sig: signal.Signals) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout=DEADLINE)
        self.wait_for(lambda line: line == "mockserver: stopped")
        return code


@pytest.fixture
def serve() -> Iterator[Callable[..., Serving]]:
    started: list[Serving] = []

    def start(*args: str, cwd: Path | None = None, **env: str) -> Serving:
        started.append(Serving(list(args), cwd, env))
        return started[-1]

    yield start
    for process in started:
        process.close()


def three_services(make_stubs: Callable[[dict[str, str]], Path], ports: list[int]) -> Path:
    return make_stubs(
        {
            "users.yaml": "stubs:\n  - request: {path: /who}\n    response: {body: users}\n",
            "catalog.yaml": f"port: {ports[0]}\n"
            "stubs:\n  - request: {path: /who}\n    response: {body: catalog}\n",
            "billing.yaml": f"port: {ports[1]}\n"
            "stubs:\n  - request: {path: /who}\n    response: {body: billing}\n",
        }
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_prints_where_each_service_is_and_stops_on_a_signal(
    serve: Callable[..., Serving],
    make_stubs: Callable[[dict[str, str]], Path],
    free_port: Callable[[], int],
    sig: signal.Signals,
) -> None:
    main, catalog, billing = free_port(), free_port(), free_port()
    root = three_services(make_stubs, [catalog, billing])
    server = serve(str(root), "--port", str(main))
    banner = server.banner()
    assert banner[0] == f"mockserver {__version__}: 3 services, 3 stubs from {root}"
    urls = {"users": main, "catalog": catalog, "billing": billing}
    for name, port in urls.items():
        line = rf"  {name} +http://127\.0\.0\.1:{port}  \(1 stubs?\)"
        assert any(re.fullmatch(line, shown) for shown in banner), banner
        assert requests.get(f"http://127.0.0.1:{port}/who", timeout=10).text == name
    assert banner[-1] == f"  admin: http://127.0.0.1:{main}/__admin/health"
    assert server.stop(sig) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{main}/who", timeout=10)


def test_the_banner_is_the_one_in_the_readme(
    serve: Callable[..., Serving], tmp_path: Path, free_port: Callable[[], int]
) -> None:
    main, catalog = free_port(), free_port()
    shutil.copytree(REPO / "stubs", tmp_path / "stubs")
    catalog_file = tmp_path / "stubs" / "catalog.yaml"
    catalog_file.write_text(catalog_file.read_text().replace("port: 8081", f"port: {catalog}"))
    expected = (
        fenced_blocks("text", docs_page("index.md"))[0]
        .replace(":8080", f":{main}")
        .replace(":8081", f":{catalog}")
    )
    server = serve("--port", str(main), cwd=tmp_path)  # no PATH: ./stubs, as in the docs
    assert server.banner() == expected.splitlines()
    assert server.stop(signal.SIGTERM) == 0


def test_every_environment_variable_is_honoured(
    serve: Callable[..., Serving],
    make_stubs: Callable[[dict[str, str]], Path],
    free_port: Callable[[], int],
) -> None:
    main, catalog, billing = free_port(), free_port(), free_port()
    root = three_services(make_stubs, [catalog, billing])
    extra = make_stubs({"extra.yaml": "stubs:\n  - request: {path: /extra}\n"})
    server = serve(
        MOCKSERVER_PORT=str(main),
        MOCKSERVER_HOST="localhost",
        MOCKSERVER_STUBS=f"{root}{os.pathsep}{extra}",
        MOCKSERVER_UNMATCHED_STATUS="418",
        MOCKSERVER_MAX_BODY_BYTES="10",
        MOCKSERVER_LOG_LEVEL="debug",
    )
    banner = server.banner()
    assert banner[0].endswith(f"4 services, 4 stubs from {root} {extra}")
    assert banner[-1] == f"  admin: http://localhost:{main}/__admin/health"
    base = f"http://localhost:{main}"
    assert requests.get(base + "/extra", timeout=10).status_code == 200
    server.wait_for(lambda line: "DEBUG" in line and "/extra" in line)
    assert requests.get(base + "/nothing-here", timeout=10).status_code == 418
    assert requests.post(base + "/extra", data=b"x" * 11, timeout=10).status_code == 413
    assert server.stop(signal.SIGTERM) == 0


@pytest.mark.parametrize(
    ("args", "env", "loop"),
    [
        ((), {}, "uvloop"),  # auto: the test extra installs uvloop
        (("--loop", "asyncio"), {}, "asyncio"),
        ((), {"MOCKSERVER_LOOP": "asyncio"}, "asyncio"),
        (("--loop", "uvloop"), {"MOCKSERVER_LOOP": "asyncio"}, "uvloop"),
    ],
    ids=["auto", "option", "environment", "option-wins"],
)
def test_the_event_loop_is_chosen_and_health_says_which(
    serve: Callable[..., Serving],
    make_stubs: Callable[[dict[str, str]], Path],
    free_port: Callable[[], int],
    args: tuple[str, ...],
    env: dict[str, str],
    loop: str,
) -> None:
    root = make_stubs({"one.yaml": "stubs:\n  - request: {path: /one}\n"})
    port = free_port()
    server = serve(str(root), "--port", str(port), *args, **env)
    server.banner()
    health = requests.get(f"http://127.0.0.1:{port}/__admin/health", timeout=10).json()
    assert health["loop"] == loop
    assert requests.get(f"http://127.0.0.1:{port}/one", timeout=10).status_code == 200
    assert server.stop(signal.SIGTERM) == 0


def test_an_option_wins_over_the_environment(
    serve: Callable[..., Serving],
    make_stubs: Callable[[dict[str, str]], Path],
    free_port: Callable[[], int],
) -> None:
    root = make_stubs({"one.yaml": "stubs:\n  - request: {path: /one}\n"})
    port = free_port()
    server = serve(str(root), "--port", str(port), MOCKSERVER_PORT="abc", MOCKSERVER_STUBS="/no")
    assert server.banner()[-1] == f"  admin: http://127.0.0.1:{port}/__admin/health"
    assert server.stop(signal.SIGTERM) == 0


# One case per converter kind: what the value must be, in the user's words.
BAD_VALUES = [
    ("PORT", "abc", "a port number"),
    ("PORT", "70000", "a port number from 0 to 65535"),
    ("MAX_BODY_BYTES", "0", "a whole number above 0"),
    ("MAX_BODY_BYTES", "ten", "a whole number above 0"),
    ("JOURNAL_SIZE", "-1", "a whole number, 0 or more"),
    ("REQUEST_TIMEOUT", "soon", "a number of seconds above 0"),
    ("UNMATCHED_STATUS", "200", "an HTTP status from 400 to 599"),
    ("WATCH", "maybe", "1/0, true/false, yes/no or on/off"),
    ("LOG_LEVEL", "loud", "one of debug, info, warning, error"),
    ("LOG_FORMAT", "xml", "one of text, json"),
    ("LOOP", "trio", "one of auto, asyncio, uvloop"),
]


@pytest.mark.parametrize(("name", "value", "what"), BAD_VALUES)
def test_a_bad_environment_value_exits_2_naming_the_variable(
    make_stubs: Callable[[dict[str, str]], Path], name: str, value: str, what: str
) -> None:
    root = make_stubs({"one.yaml": "stubs: []\n"})
    result = run("serve", str(root), env={f"MOCKSERVER_{name}": value})
    assert result.returncode == 2
    assert result.stderr == f"mockserver: error: MOCKSERVER_{name} must be {what}, got {value!r}\n"
    assert result.stdout == ""
    # validate reads no serve option, so a bad serve variable is no concern of its own.
    assert run("validate", str(root), env={f"MOCKSERVER_{name}": value}).returncode == 0


# --watch/--no-watch is a switch: it takes no value to be wrong.
@pytest.mark.parametrize(("name", "value", "what"), [c for c in BAD_VALUES if c[0] != "WATCH"])
def test_a_bad_option_value_is_one_line_naming_the_option(
    make_stubs: Callable[[dict[str, str]], Path], name: str, value: str, what: str
) -> None:
    flag = "--" + name.lower().replace("_", "-")
    result = run("serve", str(make_stubs({"one.yaml": "stubs: []\n"})), flag, value)
    assert result.returncode == 2
    assert result.stderr == (
        f"mockserver: error: {flag} must be {what}, got {value!r} (see mockserver serve --help)\n"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["record", "--target", "a=http://127.0.0.1:1", "--out", "o", "--timeout", "x"],
        ["healthcheck", "--timeout", "x"],
        ["diff", "stubs", "--timeout", "x"],
    ],
    ids=["record", "healthcheck", "diff"],
)
def test_every_command_says_what_a_value_must_be(args: list[str], tmp_path: Path) -> None:
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        f"mockserver: error: --timeout must be a number of seconds above 0, got 'x' "
        f"(see mockserver {args[0]} --help)\n"
    )


def test_in_json_log_mode_a_start_up_error_is_one_json_line(tmp_path: Path) -> None:
    usage = run("serve", env={"MOCKSERVER_LOG_FORMAT": "json", "MOCKSERVER_PORT": "abc"})
    option = run("serve", "--log-format", "json", "--port", "abc")
    stubs = run("serve", str(tmp_path / "missing"), env={"MOCKSERVER_LOG_FORMAT": "json"})
    for result, status, said in [
        (usage, 2, "error: MOCKSERVER_PORT must be a port number, got 'abc'"),
        (option, 2, "error: --port must be a port number, got 'abc' (see mockserver serve"),
        (stubs, 1, "not starting: 1 problem in the stub files:\n  "),
    ]:
        assert result.returncode == status
        [line] = result.stderr.splitlines()
        entry = json.loads(line)
        assert (entry["level"], entry["logger"]) == ("error", "mockserver")
        assert entry["message"].startswith(said), entry


def test_serve_refuses_a_bad_stub_set_before_binding(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN_YAML)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # Had it tried to bind, it would complain about the port; it complains of the stubs.
        served = run("serve", "broken.yaml", "--port", str(port), cwd=tmp_path)
    validated = run("validate", "broken.yaml", cwd=tmp_path)
    assert (served.returncode, validated.returncode) == (1, 1)
    assert served.stdout == validated.stdout == ""
    assert served.stderr == "mockserver: not starting: " + validated.stderr
    assert "in use" not in served.stderr


def test_validate_reproduces_the_readme_example(tmp_path: Path) -> None:
    example, status = next(
        examples
        for block in fenced_blocks("console")
        if (examples := console_examples(block))[0].command.startswith("mockserver validate")
    )
    assert (example.command, status.command) == ("mockserver validate broken.yaml", "echo $?")
    (tmp_path / "broken.yaml").write_text(BROKEN_YAML)
    result = run("validate", "broken.yaml", cwd=tmp_path)
    assert result.stderr.splitlines() == list(example.output)
    assert [str(result.returncode)] == list(status.output)


def test_validate_counts_what_it_loaded(make_stubs: Callable[[dict[str, str]], Path]) -> None:
    one = make_stubs({"a.yaml": "stubs:\n  - request: {path: /a}\n"})
    assert run("validate", str(one)).stdout == "ok: 1 file, 1 service, 1 stub\n"
    bundled = run("validate", cwd=REPO)  # default ./stubs
    stubs = load_paths([REPO / "stubs"])
    counts = f"2 files, {len(stubs.services)} services, {len(stubs.stubs)} stubs"
    assert (bundled.returncode, bundled.stdout) == (0, f"ok: {counts}\n")
    missing = run("validate", "no-such-dir", cwd=one)
    assert missing.returncode == 1
    assert "no-such-dir: no such file or directory" in missing.stderr


def test_help_names_every_option_and_its_variable() -> None:
    assert set(OPTIONS) >= {"PATH ...", "--host", "--port", "--max-body-bytes"}
    top, serve_help, validate_help = (run(*a, "--help") for a in ([], ["serve"], ["validate"]))
    assert top.returncode == serve_help.returncode == validate_help.returncode == 0
    for command in ("serve", "validate", "--version"):
        assert command in top.stdout
    assert "MOCKSERVER_<OPTION>" in top.stdout
    for option, variable in OPTIONS.items():
        if option != "PATH ...":
            assert option in serve_help.stdout
        assert variable in serve_help.stdout, variable
    offered = set(re.findall(r"(?<![\w-])--(?!no-)[a-z][a-z-]+", serve_help.stdout))
    undocumented = offered - {"--help"} - set(OPTIONS)
    assert not undocumented, f"serve options missing from docs/cli.md's table: {undocumented}"
    assert "PATH" in validate_help.stdout
    assert "MOCKSERVER_STUBS" in validate_help.stdout


def test_python_m_mockserver_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "--version"],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
        env=clean_env(),
    )
    assert (result.returncode, result.stdout) == (0, f"mockserver {__version__}\n")
