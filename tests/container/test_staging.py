"""The image under a restricted platform's constraints, as OpenShift and a restricted
Kubernetes namespace run it: an arbitrary uid in group 0, a read-only root, no capabilities,
no privilege escalation, the stubs mounted read-only.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from .. import waiting
from .conftest import GREETING_V1, TOKEN, Running, wait_until, write_stubs

if TYPE_CHECKING:
    from docker.models.containers import Container

RESTRICTED: dict[str, Any] = {
    "user": "123456:0",
    "read_only": True,
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
    # The image's HEALTHCHECK command, asked every second instead of every 10.
    "healthcheck": {"test": [], "interval": 1_000_000_000},
}
UPSTREAM = 'service: greeter\nupstream: "http://127.0.0.1:9"\nstubs: []\n'


def health_status(container: Container) -> str:
    container.reload()
    return str(container.attrs["State"]["Health"]["Status"])


def json_lines(running: Running) -> list[dict[str, Any]]:
    """Every line of the log, each of which must be a JSON object."""
    return [json.loads(line) for line in running.logs().splitlines()]


def stop_timed(container: Container) -> tuple[float, int]:
    started = time.monotonic()
    container.stop(timeout=10)  # SIGTERM, then SIGKILL after 10 s
    took = time.monotonic() - started
    return took, int(container.wait(timeout=10)["StatusCode"])


def test_two_workers_an_empty_token_and_every_restriction(
    run_image: Callable[..., Running], tmp_path: Path
) -> None:
    stubs = write_stubs(tmp_path / "stubs", {"greeter.yaml": GREETING_V1})
    env = {"MOCKSERVER_WORKERS": "2", "MOCKSERVER_ADMIN_TOKEN": "", "MOCKSERVER_LOG_FORMAT": "json"}
    running = run_image(stubs, env, **RESTRICTED)
    assert requests.get(running.url + "/hello", timeout=5).json() == {"greeting": "hello"}
    # No token to send (it was generated, and is not shown): health says only that it serves.
    health = requests.get(running.url + "/__admin/health", timeout=5).json()
    assert health == {"status": "ok", "message": "serving"}
    # An empty token is no token: the admin API is closed, not open.
    assert requests.get(running.url + "/__admin/requests", timeout=5).status_code == 401
    code, uid = running.container.exec_run(["id", "-u"])
    assert (code, uid.decode().strip()) == (0, "123456")
    wait_until(lambda: health_status(running.container) == "healthy", "healthy", running)
    # A worker may answer (and log) a request before the parent prints its banner.
    events = [line for line in json_lines(running) if "event" in line]
    assert [e["event"] for e in events[:2]] == ["started", "workers"], running.logs()
    assert len(events[1]["workers"]) == 2  # their pids
    took, status = stop_timed(running.container)
    print(f"\ndocker stop (2 workers, restricted) took {took:.2f} s", file=sys.stderr)
    assert (status, took < 3.0) == (0, True), running.logs()
    assert json_lines(running)[-1]["event"] == "stopped"


def test_a_port_given_on_the_command_line_turns_healthy(
    run_image: Callable[..., Running], tmp_path: Path
) -> None:
    """MOCKSERVER_PORT is not set: the health check reads the server's own command line."""
    stubs = write_stubs(tmp_path / "stubs", {"greeter.yaml": GREETING_V1})
    running = run_image(stubs, {"MOCKSERVER_ADMIN_TOKEN": TOKEN}, port_option=True, **RESTRICTED)
    wait_until(lambda: health_status(running.container) == "healthy", "healthy", running)
    probe = running.container.attrs["State"]["Health"]["Log"][-1]
    assert (probe["ExitCode"], probe["Output"].strip()) == (0, "ok: 1 service, 1 stub")


def test_a_stop_during_start_up_is_quick(run_image: Callable[..., Running], tmp_path: Path) -> None:
    """docker stop as soon as the container runs (before Python has started), and again once
    mockserver's process exists, while it loads 20,000 stubs: neither stop is lost."""
    many = "service: many\nstubs:\n" + "".join(
        f"  - request: {{path: /item/{i}}}\n    response: {{json: {{n: {i}}}}}\n"
        for i in range(20_000)
    )
    stubs = write_stubs(tmp_path / "stubs", {"greeter.yaml": GREETING_V1, "many.yaml": many})

    def running_state(running: Running) -> bool:
        running.container.reload()
        return running.container.status == "running"

    def mockserver_started(running: Running) -> bool:
        # dumb-init (PID 1) has started its child: mockserver, loading its stubs.
        return running_state(running) and len(running.container.top()["Processes"] or []) >= 2

    for moment, reached in (("running", running_state), ("loading", mockserver_started)):
        running = run_image(stubs, {"MOCKSERVER_ADMIN_TOKEN": TOKEN}, wait=False, **RESTRICTED)
        wait_until(lambda: reached(running), f"the container {moment}", running)  # noqa: B023
        took, status = stop_timed(running.container)
        print(f"\ndocker stop once {moment} took {took:.2f} s, status {status}")
        # 0 once Python handles SIGTERM; 143 if it came before the interpreter had started
        # (dumb-init passed it on and the default action ended it). Never 137: no SIGKILL.
        assert status in (0, 143), running.logs()
        assert took < 3.0, running.logs()


def test_orphaned_children_are_reaped(run_image: Callable[..., Running], tmp_path: Path) -> None:
    stubs = write_stubs(tmp_path / "stubs", {"greeter.yaml": GREETING_V1})
    running = run_image(stubs, {"MOCKSERVER_ADMIN_TOKEN": TOKEN}, **RESTRICTED)
    code, _ = running.container.exec_run(["sh", "-c", "sleep 1 & exit"])
    assert code == 0

    def states() -> str:
        script = "for f in /proc/[0-9]*/stat; do cat $f 2>/dev/null; echo; done"
        return running.container.exec_run(["sh", "-c", script])[1].decode()

    def sleeping() -> bool:
        return "(sleep)" in states()

    # Gone altogether once it ends: a zombie would stay "(sleep) Z" under PID 1 for ever.
    waiting.wait_until(lambda: not sleeping(), "the orphaned sleep to be reaped", 15.0)
    assert " Z " not in states()


def run_to_exit(docker: Any, image: str, env: dict[str, str], **options: Any) -> tuple[int, str]:
    """A restricted container that should stop by itself: its exit status and its log."""
    restricted = {k: v for k, v in RESTRICTED.items() if k != "healthcheck"}
    container = docker.containers.run(
        image, detach=True, network_mode="host", environment=env, **restricted, **options
    )
    try:
        status = container.wait(timeout=60)["StatusCode"]
        return int(status), container.logs().decode()
    finally:
        container.remove(force=True)


def test_record_new_on_a_read_only_mount_is_refused_at_start(
    docker: Any, image: str, tmp_path: Path
) -> None:
    stubs = write_stubs(tmp_path / "stubs", {"greeter.yaml": UPSTREAM})
    env = {"MOCKSERVER_SPY": "1", "MOCKSERVER_RECORD_NEW": "1", "MOCKSERVER_PORT": "0"}
    volumes = {str(stubs): {"bind": "/stubs", "mode": "ro"}}
    status, output = run_to_exit(docker, image, env, volumes=volumes)
    assert status == 2, output
    [line] = output.splitlines()
    assert line.startswith("mockserver: error: --record-new writes greeter's recordings"), line
    assert "Read-only file system" in line
    assert "mount the stubs writable" in line


def test_a_start_up_error_in_json_mode_is_one_json_line(docker: Any, image: str) -> None:
    env = {"MOCKSERVER_PORT": "abc", "MOCKSERVER_LOG_FORMAT": "json"}
    status, output = run_to_exit(docker, image, env)
    [line] = output.splitlines()
    entry = json.loads(line)
    assert (status, entry["level"]) == (2, "error")
    assert entry["message"] == "error: MOCKSERVER_PORT must be a port number, got 'abc'"
