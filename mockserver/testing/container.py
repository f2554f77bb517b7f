"""The mockserver image as a test double: started through the docker SDK, driven by its admin API.

The pytest fixture ``mockserver_container`` is built on this; it works without pytest too::

    with MockServerContainer("mockserver:latest", ["stubs"]) as container:
        handle = container.handle()            # .url, .service(name).stub(...), .requests...

The container runs on the host's network (``network_mode="host"``), bound to 127.0.0.1 on a
free port, so its URLs are the same from the test as from inside it and nothing is published
beyond loopback. Stub paths are mounted read-only under ``/stubs``. The ``docker`` package is
imported only here, and only when a container is asked for.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit

from mockserver.core.errors import MockServerError
from mockserver.testing.client import MockServerClient
from mockserver.testing.handle import MockServerHandle, RemoteBackend
from mockserver.testing.health import check

if TYPE_CHECKING:
    from docker import DockerClient
    from docker.models.containers import Container

__all__ = [
    "DEFAULT_DOCKER_HOST",
    "DEFAULT_IMAGE",
    "DockerUnavailable",
    "MockServerContainer",
    "docker_client",
]

DEFAULT_IMAGE = "mockserver:latest"


class DockerUnavailable(MockServerError):
    """No Docker engine can be reached (or the docker package is missing); says which and why."""


DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


def _engine() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_DOCKER_HOST


def _connectable(host: str) -> None:
    """Connect to the engine's socket ourselves, and close it.

    docker-py leaves the socket of a failed unix connection open (a ResourceWarning, which
    ``filterwarnings = error`` turns into a failure), so an engine that is not there is found
    here, before a docker client exists.
    """
    parts = urlsplit(host)
    try:
        if parts.scheme == "unix":
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(5.0)
                sock.connect(parts.path)
        elif parts.scheme in ("tcp", "http", "https") and parts.hostname:
            port = parts.port or (2376 if parts.scheme == "https" else 2375)
            with socket.create_connection((parts.hostname, port), timeout=5.0):
                pass
    except OSError as exc:
        raise DockerUnavailable(
            f"no Docker engine reachable at {host}: {exc.strerror or exc}"
        ) from None


def docker_client() -> DockerClient:
    """A client of the engine DOCKER_HOST (or the default socket) names, checked with a ping.

    Raises:
        DockerUnavailable: the docker package is not installed or no engine answers.
    """
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        raise DockerUnavailable(
            "the docker package is not installed (pip install docker)"
        ) from None
    _connectable(_engine())
    try:
        client = docker.from_env(timeout=10)
    except DockerException as exc:
        raise DockerUnavailable(f"no Docker engine reachable at {_engine()}: {exc}") from None
    try:
        client.ping()
    except Exception as exc:  # requests' and docker's errors alike: the engine is not there
        client.close()
        raise DockerUnavailable(
            f"the Docker engine at {_engine()} does not answer: {exc}"
        ) from None
    return client


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mounts(paths: Sequence[str | os.PathLike[str]]) -> tuple[dict[str, dict[str, str]], str]:
    """Bind mounts for the stub paths (read-only, under /stubs) and MOCKSERVER_STUBS for them.

    A directory is mounted as it is; a file through its folder, so the body files beside it
    are there too.
    """
    volumes: dict[str, dict[str, str]] = {}
    inside: list[str] = []
    for number, given in enumerate(paths):
        path = Path(given).resolve()
        if not path.exists():
            raise MockServerError(f"stub path {given} does not exist")
        target = f"/stubs/{number}"
        folder = path if path.is_dir() else path.parent
        volumes[str(folder)] = {"bind": target, "mode": "ro"}
        inside.append(target if path.is_dir() else f"{target}/{path.name}")
    return volumes, ":".join(inside)


class MockServerContainer:
    """One container of the mockserver image, serving stub paths from the host.

    Args:
        image: the image to run (it is not pulled: build it first).
        stub_paths: stub files or directories on this machine, mounted read-only.
        env: more MOCKSERVER_* settings (e.g. ``{"MOCKSERVER_JOURNAL_SIZE": "50"}``).
        startup_timeout: seconds to wait for ``GET /__admin/health`` to say ok.
        as_current_user: run as this process's user and group rather than the image's
            non-root user, so the container reads every stub file the test can read.
        client: a docker client to use (and not close); default: one from the environment.

    Raises:
        DockerUnavailable: (on start) no Docker engine reachable.
        MockServerError: (on start) the image is missing, or the server did not become
            healthy in time; the message carries the container's log.
    """

    def __init__(
        self,
        image: str = DEFAULT_IMAGE,
        stub_paths: Sequence[str | os.PathLike[str]] = (),
        *,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 60.0,
        as_current_user: bool = True,
        client: DockerClient | None = None,
    ) -> None:
        self.image = image
        self.stub_paths = tuple(stub_paths)
        self.env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.as_current_user = as_current_user
        self.token = secrets.token_urlsafe(24)
        self.url = ""
        self.container: Container | None = None
        self._client = client
        self._own_client = client is None
        self._admin: MockServerClient | None = None

    def start(self) -> Self:
        """Run the container and wait until its health check says ok."""
        if self.container is not None:
            return self
        client = self._client = self._client or docker_client()
        from docker.errors import ImageNotFound

        try:
            client.images.get(self.image)
        except ImageNotFound:
            self.stop()
            raise MockServerError(
                f"no image {self.image!r} on the Docker engine at {_engine()}; "
                f"build it first: docker build -t {self.image} ."
            ) from None
        try:
            self._run(client)
        except BaseException:
            self.stop()
            raise
        return self

    def _run(self, client: DockerClient) -> None:
        volumes, stubs = _mounts(self.stub_paths) if self.stub_paths else ({}, "/stubs")
        port = _free_port()
        environment = {
            # Loopback: on the host network, 0.0.0.0 would put the double on every interface.
            "MOCKSERVER_HOST": "127.0.0.1",
            "MOCKSERVER_PORT": str(port),
            "MOCKSERVER_STUBS": stubs,
            "MOCKSERVER_ADMIN_TOKEN": self.token,
            **self.env,
        }
        user = f"{os.getuid()}:{os.getgid()}" if self.as_current_user and os.name == "posix" else ""
        self.container = client.containers.run(
            self.image,
            detach=True,
            network_mode="host",
            environment=environment,
            volumes=volumes,
            user=user,
            labels={"mockserver.test": "1"},
        )
        self.url = f"http://127.0.0.1:{port}"
        self._wait_healthy()
        self._admin = MockServerClient(self.url, token=environment["MOCKSERVER_ADMIN_TOKEN"])

    def _wait_healthy(self) -> None:
        assert self.container is not None
        deadline = time.monotonic() + self.startup_timeout
        reason = "not asked yet"
        while time.monotonic() < deadline:
            healthy, reason = check(self.url, timeout=1.0)
            if healthy:
                return
            self.container.reload()
            if self.container.status in ("exited", "dead"):
                raise MockServerError(
                    f"the mockserver container exited before it was healthy:\n{self.logs()}"
                )
            time.sleep(0.05)  # poll again, within the deadline
        raise MockServerError(
            f"the mockserver container was not healthy within {self.startup_timeout:g} s "
            f"({reason}); its log:\n{self.logs()}"
        )

    def logs(self) -> str:
        """What the server printed so far (stdout and stderr)."""
        if self.container is None:
            return ""
        return self.container.logs().decode("utf-8", "replace")

    @property
    def admin(self) -> MockServerClient:
        """The admin API client (with the container's token)."""
        if self._admin is None:
            raise MockServerError("the container is not running")
        return self._admin

    def handle(self) -> MockServerHandle:
        """The same handle the in-process fixture gives: .url, .service(name), .requests..."""
        return MockServerHandle(RemoteBackend(self.admin))

    def stop(self) -> None:
        """Stop and remove the container. Safe to call twice."""
        admin, self._admin = self._admin, None
        if admin is not None:
            admin.close()
        container, self.container = self.container, None
        if container is not None:
            try:
                container.stop(timeout=5)
            finally:
                container.remove(force=True)
        client, self._client = self._client, None
        if client is not None and self._own_client:
            client.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
