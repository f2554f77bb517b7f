"""The real image, built once per session from this source tree, and a Docker engine to run it.

Every test here is skipped, with the reason, when no Docker engine is reachable (DOCKER_HOST or
the default socket, checked with a ping); with MOCKSERVER_REQUIRE_DOCKER=1 (set by .ci/run)
they fail instead, so CI cannot pass by skipping them.
"""

from __future__ import annotations

import os
import socket
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mockserver.config import Settings
from mockserver.container import DockerUnavailable, docker_client

if TYPE_CHECKING:
    from docker import DockerClient

REPO = Path(__file__).resolve().parents[2]
TAG = "mockserver:test"


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


@pytest.fixture(scope="session")
def image(docker: DockerClient) -> str:
    """The Dockerfile built into TAG (network host: the build's pip reaches PyPI that way)."""
    started = time.monotonic()
    docker.images.build(path=str(REPO), tag=TAG, network_mode="host", rm=True, forcerm=True)
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
