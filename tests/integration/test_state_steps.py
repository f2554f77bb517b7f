"""Sequences, scenarios and resources shared by replicas through Redis: each advances once.

A real redis-server (tests/redisserver.py) and three real ``mockserver serve`` processes on it
(tests/replicas.py), driven by real clients from many threads at once.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from mockserver.state.keys import Keys
from tests.redisserver import RedisServer
from tests.replicas import replica, replicas
from tests.waiting import wait_until

ANSWERS = 12
STUBS = f"""
service: shop
resources:
  - path: /carts
    id_field: id
    items:
      - {{id: 1, owner: Ada}}
stubs:
  - id: hello
    request: {{method: GET, path: /hello}}
    response: {{body: hello}}
  - id: ticket
    request: {{method: GET, path: /ticket}}
    responses:
{"".join(f"      - {{json: {{n: {n}}}}}{chr(10)}" for n in range(1, ANSWERS + 1))}
  - id: wizard
    request: {{method: POST, path: /wizard}}
    scenario: {{name: wizard, next: stepped}}
    responses:
      - {{json: {{n: 1}}}}
      - {{json: {{n: 2}}}}
      - {{json: {{n: 3}}}}
  - id: todo-empty
    request: {{method: GET, path: /todo}}
    scenario: {{name: todo, state: started}}
    response: {{json: []}}
  - id: todo-add
    request: {{method: POST, path: /todo}}
    scenario: {{name: todo, state: started, next: added}}
    response: {{status: 201, json: {{moved: true}}}}
  - id: todo-full
    request: {{method: GET, path: /todo}}
    scenario: {{name: todo, state: added}}
    response: {{json: [{{title: milk}}]}}
  - id: todo-again
    request: {{method: POST, path: /todo}}
    scenario: {{name: todo, state: added}}
    response: {{status: 409, json: {{error: already added}}}}
"""


@pytest.fixture
def urls(tmp_path: Path, redis_server: RedisServer) -> Iterator[list[str]]:
    (tmp_path / "shop.yaml").write_text(STUBS, encoding="utf-8")
    with replicas(tmp_path, redis_server.url, 3) as running:
        yield [url for _, url in running]


def ticket(base: str) -> int:
    answer = requests.get(base + "/ticket", timeout=10)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["n"])


def full(base: str) -> bool:
    return bool(requests.get(base + "/todo", timeout=10).json() == [{"title": "milk"}])


def spread(urls: list[str], count: int) -> Iterator[str]:
    """``count`` base URLs, taking the replicas in turn."""
    return itertools.islice(itertools.cycle(urls), count)


def test_a_sequence_gives_each_answer_once_across_replicas_then_repeats_the_last(
    urls: list[str],
) -> None:
    with ThreadPoolExecutor(max_workers=12) as pool:
        numbers = list(pool.map(ticket, spread(urls, ANSWERS + 9)))
    counts = Counter(numbers)
    assert sorted(n for n in counts if n < ANSWERS) == list(range(1, ANSWERS))
    assert all(counts[n] == 1 for n in range(1, ANSWERS)), counts
    assert counts[ANSWERS] == 10  # the last answer, once in turn and then repeated


def test_concurrent_posts_on_every_replica_move_the_scenario_once(urls: list[str]) -> None:
    for base in urls:
        assert requests.get(base + "/todo", timeout=10).json() == []

    def post(base: str) -> int:
        return requests.post(base + "/todo", timeout=30).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(post, spread(urls, 48)))
    assert sorted(statuses) == [201] + [409] * 47
    for base in urls:  # every replica serves the new state within 1 s
        wait_until(lambda base=base: full(base), f"{base} to serve the moved scenario", 1.0)


def test_a_stub_that_moves_a_scenario_and_steps_a_sequence_does_both_once(
    urls: list[str],
) -> None:
    def post(base: str) -> int:
        return int(requests.post(base + "/wizard", timeout=30).json()["n"])

    with ThreadPoolExecutor(max_workers=9) as pool:
        numbers = sorted(pool.map(post, spread(urls, 9)))
    assert numbers == [1, 2] + [3] * 7  # those that found it moved matched again and stepped
    listing = requests.get(urls[1] + "/__admin/scenarios", timeout=10).json()["scenarios"]
    assert {"name": "wizard", "state": "stepped"} in listing


def test_a_resource_is_shared_by_replicas_with_its_versions(urls: list[str]) -> None:
    first, second, third = urls
    created = requests.post(first + "/carts", json={"owner": "Bob"}, timeout=10)
    assert (created.status_code, created.headers["Location"]) == (201, "/carts/2")
    read = requests.get(second + "/carts/2", timeout=10)
    assert (read.json(), read.headers["ETag"]) == (
        {"owner": "Bob", "id": "2"},
        created.headers["ETag"],
    )
    seen = read.headers["ETag"]
    patched = requests.patch(
        third + "/carts/2", json={"owner": "Cy"}, headers={"If-Match": seen}, timeout=10
    )
    assert patched.status_code == 200, patched.text
    stale = requests.patch(
        first + "/carts/2", json={"owner": "Di"}, headers={"If-Match": seen}, timeout=10
    )
    assert stale.status_code == 412, stale.text  # the version read on another replica is old
    listing = requests.get(second + "/carts", timeout=10).json()
    assert listing == [{"id": 1, "owner": "Ada"}, {"owner": "Cy", "id": "2"}]


def test_concurrent_writes_across_replicas_lose_nothing(urls: list[str]) -> None:
    seen = requests.get(urls[0] + "/carts/1", timeout=10).headers["ETag"]

    def patch(pair: tuple[int, str]) -> int:
        n, base = pair
        headers = {"If-Match": seen}
        return requests.patch(
            base + "/carts/1", json={"n": n}, headers=headers, timeout=30
        ).status_code

    def post(base: str) -> str:
        created = requests.post(base + "/carts", json={"owner": "Eve"}, timeout=30)
        assert created.status_code == 201, created.text
        return str(created.headers["Location"])

    with ThreadPoolExecutor(max_workers=12) as pool:
        patched = list(pool.map(patch, enumerate(spread(urls, 12))))
        locations = list(pool.map(post, spread(urls, 12)))
    assert sorted(patched) == [200] + [412] * 11  # one writer had the version it read
    assert len(set(locations)) == 12  # every POST made an item of its own
    items = requests.get(urls[1] + "/carts", timeout=10).json()
    assert len(items) == 13


def test_the_scenario_admin_routes_act_on_every_replica(urls: list[str]) -> None:
    first, second, third = urls
    moved = requests.put(first + "/__admin/scenarios/todo", json={"state": "added"}, timeout=10)
    assert moved.json() == {"name": "todo", "state": "added"}
    listing = requests.get(second + "/__admin/scenarios", timeout=10).json()
    assert {"name": "todo", "state": "added"} in listing["scenarios"]  # read from Redis
    wait_until(lambda: full(third), "the third replica to serve the moved scenario", 1.0)
    requests.post(second + "/__admin/scenarios/reset", timeout=10).raise_for_status()
    for base in urls:
        wait_until(lambda base=base: not full(base), f"{base} to serve the reset scenario", 1.0)
    assert requests.post(third + "/todo", timeout=10).status_code == 201  # it moves again


def test_wiremocks_scenario_routes_act_on_every_replica(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    (tmp_path / "shop.yaml").write_text(STUBS, encoding="utf-8")
    with replicas(tmp_path, redis_server.url, 3, "--admin-api", "wiremock") as running:
        first, second, third = (url for _, url in running)
        put = requests.put(
            first + "/__admin/scenarios/todo/state", json={"state": "added"}, timeout=10
        )
        assert put.status_code == 200, put.text
        listing = requests.get(second + "/__admin/scenarios", timeout=10).json()["scenarios"]
        assert {(s["name"], s["state"]) for s in listing} == {
            ("todo", "added"),
            ("wizard", "Started"),
        }
        wait_until(lambda: full(third), "the third replica to serve the moved scenario", 1.0)
        requests.put(first + "/__admin/scenarios/todo/state", timeout=10).raise_for_status()
        wait_until(lambda: not full(second), "a scenario reset without a state", 1.0)
        requests.post(third + "/todo", timeout=10).raise_for_status()
        requests.post(third + "/__admin/scenarios/reset", timeout=10).raise_for_status()
        for base in (first, second, third):
            wait_until(lambda base=base: not full(base), f"{base} to reset the scenario", 1.0)


def test_with_redis_gone_stateful_stubs_answer_503_static_ones_200_then_recover(
    urls: list[str], redis_server: RedisServer
) -> None:
    base = urls[0]
    assert requests.get(base + "/todo", timeout=10).json() == []  # its states, cached
    redis_server.stop()
    assert requests.get(base + "/hello", timeout=10).text == "hello"
    assert requests.get(base + "/todo", timeout=10).json() == []  # what it cached
    never_read = urls[2]  # asked nothing before: it holds no scenario states
    assert requests.get(never_read + "/hello", timeout=10).text == "hello"
    assert requests.get(never_read + "/todo", timeout=30).status_code == 503
    location = f"redis://127.0.0.1:{redis_server.port}/0"
    for method, path in (("GET", "/ticket"), ("POST", "/todo"), ("GET", "/carts/1")):
        refused = requests.request(method, base + path, timeout=30)
        assert refused.status_code == 503, (path, refused.text)
        assert refused.json()["error"] == "state store unavailable"
        assert location in refused.json()["detail"]
    moved = requests.put(base + "/__admin/scenarios/todo", json={"state": "added"}, timeout=30)
    assert (moved.status_code, moved.json()["error"]) == (503, "state store unavailable")
    # The journal is Redis's too (redisC): read while it is away, it is a 503 naming it...
    unread = requests.get(base + "/__admin/requests", timeout=30)
    assert (unread.status_code, unread.json()["error"]) == (503, "state store unavailable")
    redis_server.start()
    wait_until(
        lambda: requests.get(base + "/ticket", timeout=10).status_code == 200,
        "stateful stubs to answer once Redis is back",
    )

    def refused_ticket() -> list[dict[str, Any]]:
        journal = requests.get(base + "/__admin/requests", timeout=10).json()["requests"]
        return [e for e in journal if e["path"] == "/ticket" and e["status"] == 503]

    # ... and what was journaled meanwhile waited in the replica's queue for it.
    (entry,) = wait_until(refused_ticket, "the refused request in the journal", 1.0)
    assert (entry["status"], entry["matched"]) == (503, False)  # a strict test fails on it
    assert entry["error"].startswith("state store unavailable: ")
    assert requests.post(urls[1] + "/todo", timeout=10).status_code == 201


def test_a_reset_on_one_replica_starts_everything_over_on_all(urls: list[str]) -> None:
    first, second, third = urls
    assert [ticket(first), ticket(second)] == [1, 2]
    assert requests.post(third + "/todo", timeout=10).status_code == 201
    assert requests.post(first + "/carts", json={"owner": "Bob"}, timeout=10).status_code == 201
    for base in urls:
        wait_until(lambda base=base: full(base), f"{base} to serve the moved scenario", 1.0)
    requests.post(second + "/__admin/reset", timeout=10).raise_for_status()
    assert ticket(third) == 1
    for base in urls:
        wait_until(lambda base=base: not full(base), f"{base} to serve the reset scenario", 1.0)
    assert requests.get(first + "/carts", timeout=10).json() == [{"id": 1, "owner": "Ada"}]
    assert requests.post(first + "/todo", timeout=10).status_code == 201


def test_a_reload_starts_sequences_over(urls: list[str]) -> None:
    assert [ticket(base) for base in urls] == [1, 2, 3]
    requests.post(urls[0] + "/__admin/reload", timeout=10).raise_for_status()
    wait_until(lambda: ticket(urls[1]) == 1, "the sequence to start over")


def test_a_namespace_has_sequences_and_scenarios_of_its_own_across_replicas(
    urls: list[str],
) -> None:
    for base in urls:  # held by each replica
        requests.post(base + "/__ns/suite-a/__admin/reset", timeout=10).raise_for_status()
    assert ticket(urls[0]) == 1
    spaced = [base + "/__ns/suite-a" for base in urls]
    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = sorted(pool.map(ticket, spread(spaced, 6)))
    assert numbers == [1, 2, 3, 4, 5, 6]  # its own sequence, each answer once
    assert ticket(urls[1]) == 2  # the default one went on where it was
    assert requests.post(spaced[2] + "/todo", timeout=10).status_code == 201
    for base in spaced:
        wait_until(lambda base=base: full(base), f"{base} to serve the moved scenario", 1.0)
    assert all(not full(base) for base in urls)  # the default namespace's did not move
    scenarios = requests.get(spaced[0] + "/__admin/scenarios", timeout=10).json()
    assert {"name": "todo", "state": "added"} in scenarios["scenarios"]


def test_a_stateful_request_costs_one_redis_round_trip(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    (tmp_path / "shop.yaml").write_text(STUBS, encoding="utf-8")
    with replica(tmp_path, redis_server.url) as (_, base):
        assert requests.post(base + "/todo", timeout=10).status_code == 201  # the script loaded
        requests.put(base + "/__admin/scenarios/todo", json={"state": "started"}, timeout=10)

        def requests_made() -> None:
            assert [ticket(base) for _ in range(3)] == [1, 2, 3]
            assert requests.get(base + "/carts/1", timeout=10).status_code == 200
            assert requests.post(base + "/todo", timeout=10).status_code == 201
            assert requests.post(base + "/todo", timeout=10).status_code == 409  # static
            assert requests.get(base + "/todo", timeout=10).json() == [{"title": "milk"}]
            assert requests.get(base + "/hello", timeout=10).text == "hello"  # static

        sent = sent_to_redis(redis_server.url, requests_made)
    steps = [command.split()[0] for command in sent if re.search(STEP_KEYS, command)]
    assert steps == ["HINCRBY"] * 3 + ["HGET", "EVALSHA"]  # the scenarios' states cached


STEP_KEYS = r":(positions|scenarios|resources)\b"


def sent_to_redis(url: str, action: Callable[[], None]) -> list[str]:
    """The commands clients sent Redis while ``action`` ran (a script's own calls left out)."""
    marker = f"end-{uuid.uuid4().hex}"
    with (
        redis.Redis.from_url(url, socket_timeout=30) as client,
        client.monitor() as monitor,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):

        def act() -> None:
            try:
                action()
            finally:
                client.echo(marker)  # the monitor's last line, even when the action failed

        done = pool.submit(act)
        sent = []
        for seen in monitor.listen():
            if marker in seen["command"]:
                break
            if seen["client_type"] != "lua":
                sent.append(seen["command"])
        done.result()
    return sent


def test_a_move_that_finds_its_scenario_elsewhere_mends_the_cache(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    (tmp_path / "shop.yaml").write_text(STUBS, encoding="utf-8")
    with replica(tmp_path, redis_server.url) as (_, base):
        assert not full(base)  # its states read from Redis: todo started
        with redis.Redis.from_url(redis_server.url) as client:  # a move whose event was lost
            client.hset(Keys().scenarios, "todo", "added")
        assert not full(base)  # it cannot know yet
        answer = requests.post(base + "/todo", timeout=10)
        assert answer.status_code == 409, answer.text  # matched again in the state it found
        assert full(base)  # and what it found is cached
