"""The real image, built once per session from this source tree, and a Docker engine to run it.

Every test here is skipped, with the reason, when no Docker engine is reachable (DOCKER_HOST or
the default socket, checked with a ping); with MOCKSERVER_REQUIRE_DOCKER=1 (set by .ci/run)
they fail instead, so CI cannot pass by skipping them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mockserver.cli.healthcheck import check
from mockserver.core.config import Settings
from mockserver.testing.container import DockerUnavailable, docker_client

from .. import waiting

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

REPO = Path(__file__).resolve().parents[2]
# MOCKSERVER_TEST_IMAGE: another tag, so checkouts sharing one engine do not build over each
# other's image.
TAG = os.environ.get("MOCKSERVER_TEST_IMAGE", "mockserver:test")
DEADLINE = 60.0  # seconds; a healthy run takes about one
TOKEN = "s3cret-token-for-tests"
GREETING_V1 = """
    service: greeter
    stubs:
      - id: hello
        request: {method: GET, path: /hello}
        response: {json: {greeting: hello}}
"""
GREETING_V2 = GREETING_V1.replace("greeting: hello", "greeting: bonjour")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_stubs(root: Path, files: dict[str, str]) -> Path:
    """Stub files the image's non-root user can read (tmp dirs are 0700 by default)."""
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    for name, text in files.items():
        path = root / name
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        path.chmod(0o644)
    return root


def validate(docker: DockerClient, image: str, stubs: Path) -> tuple[int, str]:
    """``mockserver validate`` in the image over ``stubs`` mounted at /stubs: its exit status
    and its output."""
    container = docker.containers.run(
        image,
        ["validate"],
        detach=True,
        network_mode="host",
        volumes={str(stubs): {"bind": "/stubs", "mode": "ro"}},
    )
    try:
        exit_status = container.wait(timeout=DEADLINE)["StatusCode"]
        return int(exit_status), container.logs().decode()
    finally:
        container.remove(force=True)


@dataclass
class Running:
    container: Container
    url: str
    stubs: Path

    def logs(self) -> str:
        return self.container.logs().decode("utf-8", "replace")


def wait_until(condition: Callable[[], bool], what: str, running: Running | None = None) -> None:
    try:
        waiting.wait_until(condition, what, DEADLINE)
    except AssertionError as exc:
        logs = f"\ncontainer log:\n{running.logs()}" if running else ""
        pytest.fail(f"{exc}{logs}")


def healthy(url: str) -> bool:
    return check(url, timeout=1.0)[0]


@pytest.fixture
def run_image(docker: DockerClient, image: str) -> Iterator[Callable[..., Running]]:
    """Start containers of the image (removed afterwards); returns once each is healthy."""
    from docker.errors import NotFound

    started: list[Container] = []

    def run(
        stubs: Path | None = None,
        env: dict[str, str] | None = None,
        image: str = image,
        *,
        port_option: bool = False,
        wait: bool = True,
        **options: Any,
    ) -> Running:
        """``port_option``: the port is given as ``serve --port`` rather than in
        MOCKSERVER_PORT; ``wait``: return once the server answers its health URL."""
        port = free_port()
        volumes = {str(stubs): {"bind": "/stubs", "mode": "ro"}} if stubs else {}
        environment = dict(env or {})
        if port_option:
            options["command"] = [*options.get("command", ["serve"]), "--port", str(port)]
        else:
            environment["MOCKSERVER_PORT"] = str(port)
        container = docker.containers.run(
            image,
            detach=True,
            network_mode="host",
            environment=environment,
            volumes=volumes,
            labels={"mockserver.test": "1"},
            **options,
        )
        started.append(container)
        running = Running(container, f"http://127.0.0.1:{port}", stubs or Path("/stubs"))
        if wait:
            wait_until(lambda: healthy(running.url), "healthy", running)
        return running

    yield run
    for container in started:
        with contextlib.suppress(NotFound):  # a test may have removed it already
            container.remove(force=True)


@pytest.fixture(scope="session")
def docker() -> Iterator[DockerClient]:
    try:
        client = docker_client()
    except DockerUnavailable as exc:
        if os.environ.get("MOCKSERVER_REQUIRE_DOCKER") == "1":
            pytest.fail(f"MOCKSERVER_REQUIRE_DOCKER=1 but {exc}", pytrace=False)
        pytest.skip(f"container tests need a Docker engine: {exc}")
    try:
        yield client
    finally:
        client.close()


def build_args() -> dict[str, str]:
    """The labels' build arguments, and the base: where Docker Hub cannot be reached,
    MOCKSERVER_BUILD_BASE names a local stand-in for the digest-pinned one (.ci/docker-base.sh
    makes it and sets this)."""
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    )
    args = {"SOURCE": REPO.as_uri()}
    if revision.returncode == 0:
        args["REVISION"] = revision.stdout.strip()
    if os.environ.get("MOCKSERVER_BUILD_BASE"):
        args["BASE"] = os.environ["MOCKSERVER_BUILD_BASE"]
    return args


BUILD_ARGS = build_args()
NO_DOCKER_HUB = (
    "where Docker Hub cannot be reached, MOCKSERVER_BUILD_BASE=<a local image> builds from a"
    " stand-in for the pinned base (.ci/docker-base.sh makes one and sets it)"
)


@pytest.fixture(scope="session")
def image(docker: DockerClient) -> str:
    """The Dockerfile built into TAG (network host: the build's pip reaches PyPI that way)."""
    from docker.errors import BuildError

    started = time.monotonic()
    try:
        docker.images.build(
            path=str(REPO),
            tag=TAG,
            network_mode="host",
            rm=True,
            forcerm=True,
            buildargs=BUILD_ARGS,
        )
    except BuildError as exc:
        hint = "" if "BASE" in BUILD_ARGS else f"; {NO_DOCKER_HUB}"
        pytest.fail(f"docker build failed: {exc}{hint}", pytrace=False)
    print(f"\nbuilt {TAG} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return TAG


@pytest.fixture(scope="session")
def mockserver_image(image: str) -> str:
    """The plugin's mockserver_container fixture runs the image just built."""
    return image


@pytest.fixture(scope="session")
def mockserver_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Stubs for the plugin's fixtures here: one service on the main port (no declared port,
    which the host network would take as it is)."""
    root = write_stubs(
        tmp_path_factory.mktemp("container-stubs"),
        {
            "inventory.yaml": """
                service: inventory
                stubs:
                  - id: stock-abc
                    request: {method: GET, path: /stock/ABC-123}
                    response: {json: {sku: ABC-123, in_stock: 7}}
            """
        },
    )
    return Settings(paths=(str(root),), host="127.0.0.1", port=0, log_level="warning")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The first test to use the image builds it inside its own time limit: on a busy 2-core
    machine a build whose pip step reruns takes over the suite's 120 s, so these tests get
    more (a hung container still fails them)."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(600))
