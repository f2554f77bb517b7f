"""How the image is built, checked on the image itself: its labels, its layers, and what its
final stage leaves out (pip, the build tools)."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from .conftest import BUILD_ARGS, DEADLINE, REPO
from .layers import hidden_bytes, saved_layers

if TYPE_CHECKING:
    from docker import DockerClient

HIDDEN_LIMIT = 64 * 1024  # bytes; useradd rewriting /etc/passwd and its kin hides about 3 KiB


def run_once(docker: DockerClient, image: str, entrypoint: list[str]) -> tuple[int, str]:
    """Exit status and output of ``entrypoint`` run in a container of ``image``."""
    container = docker.containers.run(
        image, entrypoint=entrypoint, detach=True, network_mode="host", read_only=True
    )
    try:
        status = int(container.wait(timeout=DEADLINE)["StatusCode"])
        return status, container.logs().decode("utf-8", "replace").strip()
    finally:
        container.remove(force=True)


def test_the_oci_labels_name_what_was_built(docker: DockerClient, image: str) -> None:
    labels = docker.images.get(image).attrs["Config"]["Labels"]
    # The version label is the version the image runs (ARG VERSION's default must follow it).
    status, version = run_once(docker, image, ["mockserver", "--version"])
    assert (status, version) == (0, f"mockserver {labels['org.opencontainers.image.version']}")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert labels["org.opencontainers.image.version"] == project["version"]
    assert labels["org.opencontainers.image.licenses"] == project["license"]
    assert labels["org.opencontainers.image.revision"] == BUILD_ARGS.get("REVISION", "unknown")
    assert labels["org.opencontainers.image.source"] == BUILD_ARGS["SOURCE"]
    assert labels["org.opencontainers.image.title"] == "mockserver"


def test_no_layer_ships_what_a_later_layer_hides(
    docker: DockerClient, image: str, tmp_path: Path
) -> None:
    """Every byte pulled is a byte the container sees: no layer copies files (wheels, say)
    that a later layer deletes or replaces."""
    saved = tmp_path / "image.tar"
    with saved.open("wb") as out:
        for chunk in docker.images.get(image).save(named=False):
            out.write(chunk)
    report = hidden_bytes(saved_layers(saved))
    for name, hidden, largest in report:
        print(f"\n{name}: {hidden} bytes hidden by later layers {largest}", file=sys.stderr)
    assert sum(hidden for _, hidden, _ in report) < HIDDEN_LIMIT, report


def test_the_server_runs_from_a_venv_without_pip_or_build_tools(
    docker: DockerClient, image: str
) -> None:
    probe = (
        "import importlib.util as u, shutil, sys; "
        "print(sys.prefix, shutil.which('mockserver'), "
        "[m for m in ('pip', 'setuptools', 'hatchling', 'wheel') if u.find_spec(m)])"
    )
    status, output = run_once(docker, image, ["/opt/mockserver/bin/python", "-c", probe])
    assert (status, output) == (0, "/opt/mockserver /opt/mockserver/bin/mockserver []"), output
    status, output = run_once(docker, image, ["ls", "/opt"])
    assert (status, output.split()) == (0, ["mockserver"])  # the builder's venv stayed behind
