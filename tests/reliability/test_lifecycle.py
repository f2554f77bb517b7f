"""research/reliability.md §4 rows 41-43: stopping under load, refusing to start clearly, and
the pytest plugin's promises.

The console script runs as a subprocess here (signals, exit codes and stderr are what a
container or CI sees); the plugin runs in inner pytest sessions through pytester.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from ..console import run_console
from ..integration.admin_helpers import write_stubs
from .helpers import DEADLINE, Console, clean_env, wait_for
from .scripted import ScriptedUpstream

STUBS = """
service: app
stubs:
  - id: quick
    request: {method: GET, path: /quick}
    response: {body: quick}
  - id: half-second
    request: {method: GET, path: /half-second}
    response: {body: done, delay_ms: 500}
  - id: forever
    request: {method: GET, path: /forever}
    response: {body: never, delay_ms: 60000}
"""


def test_row_41_sigterm_under_load_drains_and_exits_0(tmp_path: Path) -> None:
    root = write_stubs(tmp_path, {"app.yaml": STUBS})
    outcomes: Counter[str] = Counter()
    in_flight = threading.Semaphore(0)
    stop = threading.Event()
    with Console("serve", str(root), "--port", "0", "--shutdown-timeout", "3") as console:
        url = f"http://127.0.0.1:{console.port()}"

        def client(path: str) -> None:
            with requests.Session() as session:
                while not stop.is_set():
                    in_flight.release()
                    try:
                        answer = session.get(url + path, timeout=DEADLINE)
                    except requests.ConnectionError:
                        outcomes["refused or closed"] += 1
                        return  # the server is going: this client is done
                    outcomes[f"{answer.status_code} {answer.text}"] += 1

        clients = [threading.Thread(target=client, args=("/quick",)) for _ in range(4)]
        clients += [threading.Thread(target=client, args=("/half-second",)) for _ in range(4)]
        for thread in clients:
            thread.start()
        for _ in range(200):  # under load: requests have been sent from every client
            assert in_flight.acquire(timeout=DEADLINE)
        signalled = time.monotonic()
        console.process.send_signal(signal.SIGTERM)
        code = console.process.wait(timeout=DEADLINE)
        took = time.monotonic() - signalled
        stop.set()
        for thread in clients:
            thread.join()
    assert code == 0
    assert took < 3 + 1.5  # the shutdown deadline, and a margin
    printed = console.rest()
    assert "mockserver: stopped" in printed
    assert not [line for line in printed if "Traceback" in line or "ERROR" in line]
    assert outcomes["200 done"] > 0  # half-second requests in flight at SIGTERM finished
    assert set(outcomes) <= {"200 quick", "200 done", "refused or closed"}, outcomes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_row_41_the_deadline_holds_for_every_listener_at_once(tmp_path: Path) -> None:
    ports = [free_port(), free_port()]
    files = {"app.yaml": STUBS}
    for i, port in enumerate(ports):
        other = STUBS.replace("service: app", f"service: s{i}\nport: {port}")
        files[f"s{i}.yaml"] = other.replace("id: ", f"id: s{i}-")
    root = write_stubs(tmp_path, files)
    with Console("serve", str(root), "--port", "0", "--shutdown-timeout", "2") as console:
        main = console.port()
        hung = []
        for port in [main, *ports]:  # a request that outlives the deadline, on each listener
            hung.append(socket.create_connection(("127.0.0.1", port)))
            hung[-1].sendall(b"GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
        journal = f"http://127.0.0.1:{main}/__admin/requests"
        wait_for(
            lambda: requests.get(journal, timeout=DEADLINE).json()["total"] == 3,
            "the three requests to be in their delay",
        )
        signalled = time.monotonic()
        console.process.send_signal(signal.SIGTERM)
        assert console.process.wait(timeout=DEADLINE) == 0
        took = time.monotonic() - signalled
        for sock in hung:
            sock.close()
    # Each listener gives its request the 2 s together (one after another: 6 s), and only
    # once (aiohttp alone waits as long again after asking the handler to stop).
    assert took > 1.5, "stopped before the 2 s shutdown deadline: the requests were cut short"
    assert took < 3.5, "waited longer than one shutdown deadline"
    printed = console.rest()
    assert not [line for line in printed if "Traceback" in line or "ERROR" in line], printed


def test_row_41_sigterm_while_recording_writes_the_file_whole(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["record", "--target", "users=URL", "--out", str(out), "--port", "0"]
    with (
        ScriptedUpstream() as upstream,
        Console(*args[:2], f"users={upstream.url}", *args[3:]) as console,
    ):
        port = int(console.wait_for(r"users  http://127.0.0.1:(\d+)").group(1))
        for _ in range(20):
            assert requests.get(f"http://127.0.0.1:{port}/plain", timeout=DEADLINE).ok
        console.process.send_signal(signal.SIGTERM)
        assert console.process.wait(timeout=DEADLINE) == 0
    assert sorted(p.name for p in out.iterdir()) == ["users.yaml"]  # no temporary left
    assert "path: /plain" in (out / "users.yaml").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["serve", "{stubs}", "--port", "{taken}"],
            r"cannot listen on 127\.0\.0\.1:\d+ \(the "
            r"main port\): the address is already in use",
        ),
        (["serve", "{missing}"], r"no such file or directory"),
        (
            ["record", "--target", "a=http://127.0.0.1:9", "--out", "{file}/sub"],
            r"cannot write to --out .*/sub: Not a directory",
        ),
        (
            ["serve", "{stubs}", "--host", "203.0.113.7", "--port", "0"],
            r"cannot listen on "
            r"203\.0\.113\.7:0 \(the main port\)",
        ),
    ],
    ids=["port-in-use", "missing-stubs", "unwritable-out", "address-not-here"],
)
def test_row_42_a_start_that_cannot_work_says_why_in_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    root = write_stubs(tmp_path / "stubs", {"app.yaml": STUBS})
    (tmp_path / "file").write_text("not a directory")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        values = {
            "{stubs}": str(root),
            "{taken}": str(taken.getsockname()[1]),
            "{missing}": str(tmp_path / "missing"),
            "{file}": str(tmp_path / "file"),
        }
        for key, value in values.items():
            args = [a.replace(key, value) for a in args]
        result = run_console(*args)
    assert result.returncode in (1, 2)
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) <= 2, result.stderr  # a headline, and at most the one problem
    assert re.search(message, result.stderr), result.stderr
    assert "Traceback" not in result.stderr + result.stdout


INNER = """
import os
import requests

URLS = os.path.join(os.path.dirname(__file__), "urls.txt")


def test_unmatched_fails_the_test(mockserver):
    with open(URLS, "a") as handle:
        handle.write(mockserver.url + "\\n" + mockserver.service("orders").url + "\\n")
    assert requests.get(os.environ["USERS_URL"] + "/nothing/here", timeout=5).status_code == 404


def test_served(mockserver):
    assert requests.get(os.environ["ORDERS_URL"] + "/orders/1", timeout=5).text == "one"
"""
INNER_STUBS = {
    "stubs/users.yaml": "stubs:\n  - request: {path: /api/user/1}\n    response: {body: u}\n",
    "stubs/orders.yaml": "port: 8089\nstubs:\n"
    "  - request: {path: /orders/1}\n    response: {body: one}\n",
}
INI = "[pytest]\nfilterwarnings = error\naddopts = -p no:cacheprovider -p no:hypothesispytest\n"


def inner_project(pytester: pytest.Pytester, test: str = INNER) -> Path:
    pytester.makefile(".ini", pytest=INI)
    for name, text in INNER_STUBS.items():
        (pytester.path / name).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / name).write_text(text)
    pytester.makepyfile(test_inner=textwrap.dedent(test))
    return pytester.path


def test_row_43_unmatched_requests_fail_their_test_on_ephemeral_ports_stopped_after(
    pytester: pytest.Pytester,
) -> None:
    path = inner_project(pytester)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*_ test_unmatched_fails_the_test _*", "*No stub matched GET*"])
    main, orders = (path / "urls.txt").read_text().split()
    assert not orders.endswith(":8089")  # a declared port became an ephemeral one
    for url in (main, orders):  # and after the session, nothing listens there any more
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/__admin/health", timeout=5)
    assert not [t for t in threading.enumerate() if t.name == "mockserver"]


def test_row_43_parallel_sessions_never_collide(pytester: pytest.Pytester) -> None:
    path = inner_project(
        pytester,
        INNER.replace("/nothing/here", "/api/user/1").replace("status_code == 404", "text == 'u'"),
    )
    env = clean_env(PYTHONPATH=os.pathsep.join(sys.path))
    sessions = [
        subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q"],
            cwd=path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [session.communicate(timeout=DEADLINE * 2)[0] for session in sessions]
    assert [s.returncode for s in sessions] == [0, 0, 0], outputs
    urls = (path / "urls.txt").read_text().split()
    assert len(set(urls)) == len(urls) == 6  # six listeners, six distinct ports


def test_row_43_a_server_side_exception_fails_the_test(pytester: pytest.Pytester) -> None:
    inner_project(
        pytester,
        """
        import os

        import requests

        import mockserver.server.handler as server_module


        def test_breaks_the_server(mockserver, monkeypatch):
            def broken(*args, **kwargs):
                raise RuntimeError("a bug in the server")

            monkeypatch.setattr(server_module, "respond", broken)
            answer = requests.get(os.environ["USERS_URL"] + "/api/user/1", timeout=5)
            assert answer.status_code == 500
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*a bug in the server*"])
