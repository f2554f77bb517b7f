"""The journal and counts replicas share through Redis (``serve --state redis://...``).

A real redis-server (tests/redisserver.py) and three real ``mockserver serve`` processes
(tests/replicas.py); requests spread over them from several threads at once, then every
replica's admin API is asked: each must see what all of them answered, within 1 s.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.redisserver import RedisServer
from tests.replicas import replicas
from tests.waiting import wait_until

STUBS = """
stubs:
  - id: hello
    request: {method: GET, path: /hello}
    response: {status: 200, body: "hello"}
  - id: item
    request: {method: GET, path: "/items/{n}"}
    response: {status: 200, json: {ok: true}}
  - id: orders
    request: {method: POST, path: /orders}
    response: {status: 201}
"""
BOUND = 1.0  # a request answered by one replica is counted by all within this (DESIGN.md)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "stubs.yaml").write_text(STUBS, encoding="utf-8")
    return tmp_path


@pytest.fixture
def three(root: Path, redis_server: RedisServer) -> Iterator[list[str]]:
    with replicas(root, redis_server.url, 3) as started:
        yield [url for _, url in started]


def spread(urls: list[str], paths: list[str], method: str = "GET") -> list[int]:
    """Send each path to the next replica in turn, eight at a time; their statuses."""
    targets = zip(itertools.cycle(urls), paths, strict=False)

    def send(target: tuple[str, str]) -> int:
        url, path = target
        return requests.request(method, url + path, timeout=10, json={"n": 1}).status_code

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(send, targets))


def count(url: str, pattern: dict[str, Any]) -> int:
    reply = requests.post(f"{url}/__admin/requests/count", json=pattern, timeout=10)
    assert reply.status_code == 200, reply.text
    return int(reply.json()["count"])


def journal(url: str, **query: int) -> dict[str, Any]:
    reply = requests.get(f"{url}/__admin/requests", params=query, timeout=10)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def test_counts_are_exact_on_every_replica_within_a_second(three: list[str]) -> None:
    statuses = spread(three, ["/hello"] * 90 + [f"/items/{n}" for n in range(30)])
    assert statuses == [200] * 120
    for url in three:

        def counted(url: str = url) -> bool:
            hello = count(url, {"method": "GET", "path": "/hello"})
            return hello == 90 and count(url, {"method": "GET", "path": "/items/{n}"}) == 30

        wait_until(counted, f"90 GET /hello and 30 /items counted at {url}", timeout=BOUND)
        assert count(url, {"method": "POST"}) == 0


def test_the_journal_lists_every_replicas_requests_oldest_first(three: list[str]) -> None:
    paths = [f"/items/{n}" for n in range(12)]
    for path, url in zip(paths, itertools.cycle(three), strict=False):
        assert requests.get(url + path, timeout=10).status_code == 200  # one after another
    listed = wait_until(
        lambda: (found := journal(three[2]))["total"] == 12 and found,
        "the twelve requests listed",
        timeout=BOUND,
    )
    assert [e["path"] for e in listed["requests"]] == paths  # newest last
    assert {e["stub"] for e in listed["requests"]} == {"item"}
    page = journal(three[0], offset=10, limit=5)
    assert [e["path"] for e in page["requests"]] == paths[10:]


def test_the_shared_journal_keeps_the_newest_journal_size_entries(
    root: Path, redis_server: RedisServer
) -> None:
    with replicas(root, redis_server.url, 3, "--journal-size", "5") as started:
        urls = [url for _, url in started]
        paths = [f"/items/{n}" for n in range(20)]
        for path, url in zip(paths, itertools.cycle(urls), strict=False):
            requests.get(url + path, timeout=10)
        listed = wait_until(
            lambda: (
                (found := journal(urls[1]))["requests"]
                and [e["path"] for e in found["requests"]] == paths[-5:]
                and found
            ),
            "the newest five requests listed",
            timeout=BOUND,
        )
        assert listed["journal_size"] == 5
        assert listed["total"] == 5
        # The hits count every request, past the journal's bound.
        stubs = requests.get(f"{urls[2]}/__admin/stubs", timeout=10).json()["stubs"]
        assert {s["id"]: s["hits"] for s in stubs}["item"] == 20


def test_delete_requests_clears_the_journal_on_every_replica(three: list[str]) -> None:
    spread(three, ["/hello"] * 30)
    wait_until(lambda: count(three[0], {"path": "/hello"}) == 30, "30 counted", timeout=BOUND)
    reply = requests.delete(f"{three[1]}/__admin/requests", timeout=10)
    assert reply.status_code == 200, reply.text
    for url in three:
        assert journal(url)["requests"] == []
        assert count(url, {"path": "/hello"}) == 0
    spread(three, ["/hello"] * 3)
    wait_until(lambda: count(three[2], {"path": "/hello"}) == 3, "3 counted", timeout=BOUND)


def test_a_reset_on_one_replica_is_not_undone_by_the_others_late_flushes(
    three: list[str],
) -> None:
    spread(three, ["/hello"] * 60)  # answered, most still in the replicas' queues
    assert requests.post(f"{three[0]}/__admin/reset", timeout=10).status_code == 200
    # A marker sent to each replica after the reset: once all three are counted, every queue
    # has been flushed past what it held before (each sends in the order it answered).
    for url in three:
        requests.get(f"{url}/items/marker", timeout=10)
    wait_until(
        lambda: count(three[1], {"path": "/items/marker"}) == 3, "the markers", timeout=BOUND
    )
    assert count(three[2], {"path": "/hello"}) == 0
    stubs = requests.get(f"{three[0]}/__admin/stubs", timeout=10).json()["stubs"]
    assert {s["id"]: s["hits"] for s in stubs} == {"hello": 0, "item": 3, "orders": 0}


def test_unmatched_requests_with_their_near_misses_on_every_replica(three: list[str]) -> None:
    assert requests.get(f"{three[0]}/hellp", timeout=10).status_code == 404
    assert requests.post(f"{three[1]}/orders/1", timeout=10).status_code == 404

    def listed() -> dict[str, Any] | None:
        reply = requests.get(f"{three[2]}/__admin/requests/unmatched", timeout=10).json()
        return reply if reply["total"] == 2 else None

    found = wait_until(listed, "two unmatched requests", timeout=BOUND)
    assert sorted(e["path"] for e in found["requests"]) == ["/hellp", "/orders/1"]
    nearest = {e["path"]: e["nearest"][0]["stub"] for e in found["requests"]}
    assert nearest["/hellp"] == "hello"  # the report came across, rebuilt
    health = requests.get(f"{three[0]}/__admin/requests", timeout=10).json()
    assert health["total"] == 2


def test_a_namespaces_journal_is_shared_and_kept_apart(three: list[str]) -> None:
    for url in three:  # an admin call in it opens the namespace there
        reply = requests.post(f"{url}/__ns/ci-1/__admin/reset", timeout=10)
        assert reply.status_code == 200, reply.text
    spread([f"{u}/__ns/ci-1" for u in three], ["/hello"] * 9)
    spread(three, ["/hello"] * 4)  # the default namespace's
    wait_until(
        lambda: count(f"{three[1]}/__ns/ci-1", {"path": "/hello"}) == 9,
        "the namespace's 9 requests counted",
        timeout=BOUND,
    )
    wait_until(lambda: count(three[2], {"path": "/hello"}) == 4, "the default's 4", timeout=BOUND)
    listed = journal(f"{three[2]}/__ns/ci-1")
    assert [e["path"] for e in listed["requests"]] == ["/hello"] * 9  # without the prefix


def test_wiremock_request_routes_read_the_shared_journal(
    root: Path, redis_server: RedisServer
) -> None:
    with replicas(root, redis_server.url, 2, "--admin-api", "wiremock") as started:
        urls = [url for _, url in started]
        spread(urls, ["/hello"] * 10)
        pattern = {"method": "GET", "url": "/hello"}

        def counted() -> int:
            reply = requests.post(f"{urls[1]}/__admin/requests/count", json=pattern, timeout=10)
            return int(reply.json()["count"])

        wait_until(lambda: counted() == 10, "WireMock's count of 10", timeout=BOUND)
        logged = requests.get(f"{urls[0]}/__admin/requests", timeout=10).json()
        assert logged["meta"]["total"] == 10
        assert requests.delete(f"{urls[0]}/__admin/requests", timeout=10).status_code == 200
        assert counted() == 0


def test_redis_away_requests_are_answered_and_counted_once_it_is_back(
    root: Path, redis_server: RedisServer
) -> None:
    with replicas(root, redis_server.url, 3) as started:
        urls = [url for _, url in started]
        redis_server.stop()
        # Static stubs keep serving; the journal waits in each replica's queue.
        assert spread(urls, ["/hello"] * 60) == [200] * 60
        reply = requests.get(f"{urls[0]}/__admin/requests", timeout=10)
        assert reply.status_code == 503, reply.text
        assert reply.json()["error"] == "state store unavailable"
        assert f"127.0.0.1:{redis_server.port}" in reply.json()["detail"]
        redis_server.start()  # empty: it keeps nothing on disk
        for url in urls:
            wait_until(
                lambda url=url: _count_or_none(url) == 60,
                f"the 60 requests made while Redis was away, counted at {url}",
                timeout=10,
            )
        spread(urls, ["/hello"] * 6)
        wait_until(lambda: _count_or_none(urls[1]) == 66, "66 counted", timeout=BOUND)


def _count_or_none(url: str) -> int | None:
    reply = requests.post(f"{url}/__admin/requests/count", json={"path": "/hello"}, timeout=10)
    return int(reply.json()["count"]) if reply.status_code == 200 else None


INNER_TESTS = """
import os
import time

import requests

OTHER = os.environ["OTHER_REPLICA"]


def test_calls_made_to_another_replica_are_seen(mockserver):
    for _ in range(3):
        assert requests.get(OTHER + "/hello", timeout=5).status_code == 200
    started = time.monotonic()
    mockserver.assert_called("GET", "/hello", times=3)
    mockserver.assert_not_called("POST", "/orders")
    assert time.monotonic() - started < 5


def test_a_count_another_replica_makes_wrong_fails(mockserver):
    for _ in range(2):
        requests.get(OTHER + "/hello", timeout=5)
    mockserver.assert_called("GET", "/hello", times=1)
"""


def test_the_plugin_waits_for_calls_another_replica_answered(
    root: Path, redis_server: RedisServer, pytester: pytest.Pytester, monkeypatch: Any
) -> None:
    pytester.makepyfile(test_inner=INNER_TESTS)
    with replicas(root, redis_server.url, 2) as started:
        (_, here), (_, other) = started
        monkeypatch.setenv("OTHER_REPLICA", other)
        monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # when this run is a worker
        result = pytester.runpytest_subprocess(
            f"--mockserver-url={here}", "--mockserver-namespace=none", "-p", "no:randomly"
        )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*expected GET /hello 1 time on the mock server, got 2*"])
