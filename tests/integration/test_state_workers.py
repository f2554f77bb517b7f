"""``serve --workers N --state redis://...``: the workers share their state through Redis.

Each worker answers admin calls itself (no coordinator merges them), and what was refused
under --workers with the memory store (sequences, scenarios, resources, WireMock's admin API)
works, because every worker reads and steps the same state. Requests go on fresh connections
so the kernel spreads them over the workers by source port.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.console import MOCKSERVER, Console, clean_env, run_console

# Those of the replicas' tests: a sequence of ANSWERS, a scenario, a resource.
from tests.integration.test_state_steps import ANSWERS, STUBS
from tests.redisserver import RedisServer
from tests.waiting import wait_until


def fresh(method: str, url: str, **kwargs: Any) -> requests.Response:
    """One request on a connection of its own, so the kernel picks a worker for it."""
    return requests.request(method, url, headers={"Connection": "close"}, timeout=10, **kwargs)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "shop.yaml").write_text(STUBS, encoding="utf-8")
    return tmp_path


@pytest.fixture
def workers(root: Path, redis_server: RedisServer) -> Iterator[Callable[..., str]]:
    """Start ``serve ROOT --workers 2 --state REDIS`` (and more options); its main URL."""
    with ExitStack() as stack:

        def start(*extra: str) -> str:
            command = [MOCKSERVER, "serve", str(root), "--port", "0", "--workers", "2"]
            command += ["--state", redis_server.url, *extra]
            console = stack.enter_context(Console(command, env=clean_env()))
            line = console.next_line(lambda text: text.startswith("  admin: "))
            console.next_line(lambda text: "worker processes (pids" in text)
            found = re.search(r"(http://\S+)/__admin/health", line)
            assert found is not None, line
            return found.group(1)

        yield start


def test_stateful_stubs_are_served_by_two_workers_with_redis(
    workers: Callable[..., str],
) -> None:
    url = workers()
    # The sequence: each answer once, in order, whichever worker takes the request.
    numbers = [fresh("GET", url + "/ticket").json()["n"] for _ in range(ANSWERS)]
    assert numbers == list(range(1, ANSWERS + 1))
    # The scenario moves once, and every worker sees it moved.
    assert fresh("GET", url + "/todo").json() == []
    assert fresh("POST", url + "/todo").status_code == 201
    assert fresh("POST", url + "/todo").status_code == 409  # moved once, for every worker
    assert all(fresh("GET", url + "/todo").json() == [{"title": "milk"}] for _ in range(10))
    scenarios = fresh("GET", url + "/__admin/scenarios").json()
    assert scenarios["scenarios"][0]["state"] == "added"
    # A resource created through one worker is read through the others.
    created = fresh("POST", url + "/carts", json={"owner": "Bea"})
    assert created.status_code == 201, created.text
    assert all(len(fresh("GET", url + "/carts").json()) == 2 for _ in range(10))


def test_admin_calls_are_answered_by_any_worker_from_the_shared_state(
    workers: Callable[..., str],
) -> None:
    url = workers()
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: fresh("GET", url + "/hello").status_code, range(40)))
    assert statuses == [200] * 40

    def counted() -> int:
        reply = fresh("POST", url + "/__admin/requests/count", json={"path": "/hello"})
        return int(reply.json()["count"])

    # Whichever worker answers the count, it counts both workers' requests.
    wait_until(lambda: counted() == 40, "40 requests counted", timeout=1.0)
    assert all(counted() == 40 for _ in range(10))
    added = fresh(
        "POST", url + "/__admin/stubs", json={"request": {"path": "/new"}, "response": {}}
    )
    assert added.status_code == 201, added.text
    wait_until(
        lambda: all(fresh("GET", url + "/new").status_code == 200 for _ in range(10)),
        "the runtime stub served by every worker",
        timeout=2.0,
    )
    assert fresh("POST", url + "/__admin/reset").status_code == 200
    assert all(counted() == 0 for _ in range(10))
    assert all(fresh("GET", url + "/new").status_code == 404 for _ in range(10))


def test_wiremock_admin_api_with_workers_and_redis(workers: Callable[..., str]) -> None:
    url = workers("--admin-api", "wiremock")
    for _ in range(6):
        fresh("GET", url + "/hello")

    def counted() -> int:
        reply = fresh("POST", url + "/__admin/requests/count", json={"url": "/hello"})
        return int(reply.json()["count"])

    wait_until(lambda: counted() == 6, "WireMock's count of 6", timeout=1.0)


def test_record_new_is_still_refused_with_workers_and_redis(
    root: Path, redis_server: RedisServer
) -> None:
    result = run_console(
        "serve", str(root), "--port", "0", "--workers", "2", "--state", redis_server.url,
        "--spy", "--record-new",
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--record-new writes one file per process" in result.stderr
