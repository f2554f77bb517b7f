"""What `serve` says and checks as it starts, read from a real `serve` subprocess: spy mode in
the banner, a spy with nothing to forward to, the health check finding the server by its
command line, a stop while loading, `--workers` leaving no file behind, and how the admin API
is guarded on a network (an empty token, `--admin-open`)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import requests

from ..console import MOCKSERVER, Console, clean_env, run_console
from ..waiting import wait_until

NO_UPSTREAM = "service: users\nstubs:\n  - request: {path: /one}\n"
WITH_UPSTREAM = 'service: users\nupstream: "http://127.0.0.1:9"\nstubs: []\n'


def serve(root: Path, port: int, *args: str, **env: str) -> Console:
    return Console(
        [MOCKSERVER, "serve", str(root), "--port", str(port), *args], env=clean_env(**env)
    )


def stop(console: Console) -> list[str]:
    console.process.send_signal(signal.SIGTERM)
    assert console.process.wait(timeout=30) == 0
    return console.rest()


def test_spy_with_no_upstream_says_nothing_is_forwarded_and_how_to_fix_it(
    make_stubs: Callable[[dict[str, str]], Path], free_port: Callable[[], int]
) -> None:
    with serve(make_stubs({"users.yaml": NO_UPSTREAM}), free_port(), "--spy", "--record-new") as c:
        warning = c.next_line(lambda line: "WARNING" in line)
        c.next_line(lambda line: line.startswith("  admin: "))
        banner = c.next_line(lambda line: line.startswith("  spy: "))
        stop(c)
    assert "no service in" in warning
    assert "names an 'upstream:', so nothing is forwarded or recorded" in warning
    assert "add 'upstream: http://host:port' beside 'service:'" in warning
    assert banner == "  spy: on, but no service has an upstream: nothing is forwarded"


def test_spy_mode_is_in_the_banner_with_each_upstream(
    make_stubs: Callable[[dict[str, str]], Path], free_port: Callable[[], int]
) -> None:
    root = make_stubs({"users.yaml": WITH_UPSTREAM})
    with serve(root, free_port(), "--spy", "--record-new") as c:
        c.next_line(lambda line: line == "  spy: requests no stub matches are forwarded to")
        upstream = c.next_line(lambda line: line.startswith("    users"))
        lines = stop(c)
    assert upstream.split() == [
        "users", "http://127.0.0.1:9", "(new", "ones", "recorded", "into", f"{root})"
    ]  # fmt: skip
    assert not [line for line in lines if "WARNING" in line]


def test_spy_mode_in_the_json_start_line(
    make_stubs: Callable[[dict[str, str]], Path], free_port: Callable[[], int]
) -> None:
    root = make_stubs({"users.yaml": WITH_UPSTREAM})
    with serve(root, free_port(), "--spy", MOCKSERVER_LOG_FORMAT="json") as c:
        started = json.loads(c.next_line(lambda line: '"event":"started"' in line))
        stop(c)
    assert started["spy"] == {
        "upstreams": {"users": "http://127.0.0.1:9"},
        "record_new": False,
        "recording_into": {},
    }
    with serve(root, free_port(), MOCKSERVER_LOG_FORMAT="json") as c:
        started = json.loads(c.next_line(lambda line: '"event":"started"' in line))
        stop(c)
    assert started["spy"] is None


def test_the_health_check_finds_the_port_on_the_servers_command_line(
    make_stubs: Callable[[dict[str, str]], Path], free_port: Callable[[], int]
) -> None:
    port = free_port()
    with serve(make_stubs({"users.yaml": NO_UPSTREAM}), port) as server:
        server.next_line(lambda line: line.startswith("  admin: "))
        pid = str(server.process.pid)
        # MOCKSERVER_PORT names another port: the server's own --port wins, as in serve.
        found = run_console("healthcheck", "--pid", pid, MOCKSERVER_PORT=str(free_port()))
        told = run_console("healthcheck", "--pid", pid, "--port", str(free_port()))
        stop(server)
    assert (found.returncode, found.stdout) == (0, "ok: 1 service, 1 stub\n")
    assert told.returncode == 1  # an explicit --port is asked, whatever the server says
    assert "Connection refused" in told.stdout


def test_a_sigterm_while_the_stubs_load_stops_at_once(tmp_path: Path) -> None:
    many = "service: many\nstubs:\n" + "".join(
        f"  - request: {{path: /item/{i}}}\n    response: {{json: {{n: {i}}}}}\n"
        for i in range(20000)
    )
    (tmp_path / "many.yaml").write_text(many)
    with Console([MOCKSERVER, "serve", str(tmp_path), "--port", "0"]) as console:
        pid = console.process.pid

        def catches_sigterm() -> bool:  # main() has run its first line
            status = Path(f"/proc/{pid}/status").read_text()
            caught = int(status.split("SigCgt:")[1].split()[0], 16)
            return bool(caught & (1 << (signal.SIGTERM - 1)))

        wait_until(catches_sigterm, "a SIGTERM handler", 30.0)
        console.process.send_signal(signal.SIGTERM)
        status = console.process.wait(timeout=10)
        lines = console.rest()
    # Stopped before serving: no banner, and not killed by the signal's default action.
    assert (status, lines) == (0, ["mockserver: stopped while starting"])


def test_workers_need_no_temporary_directory(
    make_stubs: Callable[[dict[str, str]], Path], free_port: Callable[[], int], tmp_path: Path
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    root = make_stubs({"users.yaml": NO_UPSTREAM})
    with serve(root, free_port(), "--workers", "2", TMPDIR=str(tmp)) as c:
        c.next_line(lambda line: line.startswith("  2 worker processes"))
        assert list(tmp.iterdir()) == []  # the private sockets are abstract: no file
        stop(c)


def test_an_empty_token_on_the_network_keeps_the_admin_api_closed_and_the_token_unlogged(
    make_stubs: Callable[[dict[str, str]], Path], free_port: Callable[[], int]
) -> None:
    port = free_port()
    root = make_stubs({"users.yaml": NO_UPSTREAM})
    with serve(root, port, "--host", "0.0.0.0", "--admin-token", "") as c:
        said = c.next_line(lambda line: line.startswith("  admin token: "))
        answer = requests.get(f"http://127.0.0.1:{port}/__admin/requests", timeout=10)
        lines = stop(c)
    assert answer.status_code == 401
    assert said == (
        "  admin token: generated and not shown (a log is no place for a secret); "
        "set MOCKSERVER_ADMIN_TOKEN (--admin-token) to call the admin API"
    )
    assert not [line for line in lines if "shown once" in line]


def test_admin_open_is_named_and_warned_about(
    make_stubs: Callable[[dict[str, str]], Path], free_port: Callable[[], int]
) -> None:
    port = free_port()
    root = make_stubs({"users.yaml": NO_UPSTREAM})
    with serve(root, port, "--host", "0.0.0.0", MOCKSERVER_ADMIN_OPEN="1") as c:
        warning = c.next_line(lambda line: "WARNING" in line)
        answer = requests.get(f"http://127.0.0.1:{port}/__admin/requests", timeout=10)
        stop(c)
    assert answer.status_code == 200
    assert (
        warning == "  WARNING: the admin API is open to anyone who can reach 0.0.0.0 (--admin-open)"
    )


def abstract_sockets(pid: int) -> list[str]:
    """The abstract Unix socket names a `serve --workers` started by ``pid`` listens on."""
    names = []
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) == 8 and fields[7].startswith(f"@mockserver-{pid}-"):
            names.append(fields[7])
    return sorted(set(names))


ASK_WORKER = """
import socket, sys
sock = socket.socket(socket.AF_UNIX)
sock.connect("\\0" + sys.argv[1][1:])
sock.sendall(b"GET /_cluster/worker HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
print(sock.recv(100).split(b"\\r\\n")[0].decode())
"""


# The system's Python, which any user may run (a virtual environment under /root is not).
SYSTEM_PYTHON = Path("/usr/bin/python3")


def test_the_private_sockets_answer_only_our_user(
    make_stubs: Callable[[dict[str, str]], Path], free_port: Callable[[], int]
) -> None:
    root = make_stubs({"users.yaml": NO_UPSTREAM})
    with serve(root, free_port(), "--workers", "2") as c:
        c.next_line(lambda line: line.startswith("  2 worker processes"))
        names = abstract_sockets(c.process.pid)
        worker = next(name for name in names if name.endswith("/worker-0.sock"))

        def ask(**user: int) -> str:
            return subprocess.run(
                [str(SYSTEM_PYTHON), "-c", ASK_WORKER, worker],
                capture_output=True, text=True, timeout=30, check=True, **user,
            ).stdout.strip()  # fmt: skip

        # Asking as another user needs root to switch (CI runs as root) and a Python that user
        # may run: said plainly when missing, never skipped.
        assert os.getuid() == 0, "this test asks as another user: run the suite as root"
        assert SYSTEM_PYTHON.exists(), f"{SYSTEM_PYTHON}: a Python every user may run"
        ours, theirs = ask(), ask(user=65534)
        stop(c)
    assert len(names) == 3  # the coordinator and two workers, no file among them
    assert ours == "HTTP/1.0 200 OK"
    assert theirs == "HTTP/1.0 403 Forbidden"


def test_a_request_forwarded_by_spy_mode_is_logged_like_any_other(
    make_stubs: Callable[[dict[str, str]], Path], free_port: Callable[[], int]
) -> None:
    from .upstream import Upstream

    with Upstream() as real:
        stub_file = f'service: users\nupstream: "{real.url}"\nstubs:\n  - request: {{path: /one}}\n'
        root = make_stubs({"users.yaml": stub_file})
        port = free_port()
        with serve(root, port, "--spy") as c:
            c.next_line(lambda line: line.startswith("  admin: "))
            url = f"http://127.0.0.1:{port}"
            assert requests.get(url + "/one", timeout=10).status_code == 200
            forwarded = requests.get(url + "/api/user/2?token=QSECRET", timeout=10)
            assert forwarded.status_code == 200
            line = c.next_line(lambda line: "GET /api/user/2" in line)
            stop(c)
    assert line.endswith(" INFO mockserver: GET /api/user/2?token=<redacted> -> 200 upstream:users")
