"""Sequences, scenarios and resources shared by replicas through Redis: each advances once.

A real redis-server (tests/redisserver.py) and three real ``mockserver serve`` processes on it
(tests/replicas.py), driven by real clients from many threads at once.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.redisserver import RedisServer
from tests.replicas import replicas
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


def spread(urls: list[str], count: int) -> Iterator[str]:
    """``count`` base URLs, taking the replicas in turn."""
    return itertools.islice(itertools.cycle(urls), count)


def test_a_sequence_gives_each_answer_once_across_replicas_then_repeats_the_last(
    urls: list[str],
) -> None:
    def get(base: str) -> int:
        answer = requests.get(base + "/ticket", timeout=30)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["n"])

    with ThreadPoolExecutor(max_workers=12) as pool:
        numbers = list(pool.map(get, spread(urls, ANSWERS + 9)))
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


def full(base: str) -> bool:
    return bool(requests.get(base + "/todo", timeout=10).json() == [{"title": "milk"}])
