"""examples/compose/replicas.yml with the real image: three replicas as compose runs them
(read-only root, a tmpfs /tmp, no capabilities, no-new-privileges), on the host network, with
MOCKSERVER_STATE pointing at a private redis-server instead of the compose service `redis`
(Docker Hub, where its image comes from, cannot be reached from CI)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import yaml

from ..redisserver import RedisServer
from .conftest import REPO, TOKEN, Running

EXAMPLE = REPO / "examples" / "compose"


def tmpfs(entries: list[str]) -> dict[str, str]:
    """Compose's tmpfs list (``PATH[:OPTIONS]``) as the Docker API's mapping."""
    mounts = {}
    for entry in entries:
        path, _, options = entry.partition(":")
        mounts[path] = options
    return mounts


def test_three_replicas_as_the_compose_file_runs_them(
    run_image: Callable[..., Running], tmp_path: Path
) -> None:
    service: dict[str, Any] = yaml.safe_load((EXAMPLE / "replicas.yml").read_text())["services"][
        "mockserver"
    ]
    assert service["volumes"] == ["./stubs/users:/stubs:ro"]
    stubs = tmp_path / "users"
    shutil.copytree(EXAMPLE / "stubs" / "users", stubs)
    stubs.chmod(0o755)
    env = dict(service["environment"])
    assert env["MOCKSERVER_STATE"] == "redis://redis:6379/0"
    with RedisServer() as redis:
        env.update(MOCKSERVER_STATE=redis.url, MOCKSERVER_ADMIN_TOKEN=TOKEN)
        replicas = [
            run_image(
                stubs,
                env=env,
                command=service["command"],
                read_only=service["read_only"],
                tmpfs=tmpfs(service["tmpfs"]),
                cap_drop=service["cap_drop"],
                security_opt=service["security_opt"],
            )
            for _ in range(service["deploy"]["replicas"])
        ]
        auth = {"Authorization": f"Bearer {TOKEN}"}
        for replica in replicas:
            answer = requests.get(replica.url + "/api/user/1", timeout=5)
            assert (answer.status_code, answer.json()["name"]) == (200, "Simon")
            health = requests.get(replica.url + "/__admin/health", headers=auth, timeout=5)
            assert health.status_code == 200, health.text
            # The root is read-only and /tmp is the tmpfs, writable by the image's user.
            code, output = replica.container.exec_run(
                ["sh", "-c", "touch /tmp/probe && ! touch /probe 2>/dev/null && id -u"]
            )
            assert (code, output.decode().strip()) == (0, "10001"), output
