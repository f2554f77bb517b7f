"""Namespaces across replicas: three real ``mockserver serve`` processes on one real
redis-server. A namespace made on one replica exists on all, isolated from the others, counted
against --max-namespaces across them, and ends (or expires) everywhere with its keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from mockserver.state.keys import NAMESPACES, Keys
from tests.redisserver import RedisServer
from tests.replicas import replicas
from tests.waiting import wait_until

from .replica_calls import FILES, TIMEOUT, admin, all_serve, body, eventually, stub

UNMATCHED = "no stub matched this request"


def error(base: str, path: str) -> str | None:
    """The ``error`` of what ``GET base/path`` answers (None when it is not a problem)."""
    answer = requests.get(base + path, timeout=TIMEOUT)
    if answer.headers.get("Content-Type", "").startswith("application/json"):
        found = answer.json()
        return found.get("error") if isinstance(found, dict) else None
    return None


def names(base: str) -> list[str]:
    return [n["name"] for n in admin(base, "GET", "/namespaces")["namespaces"]]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "stubs.yaml").write_text(FILES, encoding="utf-8")
    return tmp_path


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    with redis.Redis(port=redis_server.port) as found:
        yield found


def test_a_namespace_made_on_one_replica_serves_on_all_and_stays_apart(
    root: Path, redis_server: RedisServer
) -> None:
    with replicas(root, redis_server.url, 3) as running:
        one, two, three = bases = [base for _, base in running]
        admin(f"{one}/__ns/a", "POST", "/stubs", 201, json=stub("/greet", "hi from a"))
        all_serve(bases, "/__ns/a/greet", "hi from a", "namespace a's stub on every replica")
        assert error(two, "/__ns/b/greet") == "no such namespace"
        admin(f"{three}/__ns/b", "POST", "/reset")
        eventually(
            lambda: error(two, "/__ns/b/greet") == "no stub matched this request", "b held on two"
        )
        assert body(two, "/greet") is None  # the default namespace is apart too
        assert body(two, "/__ns/b/hello") == "hello from a file"  # files: every namespace's
        eventually(lambda: names(one) == ["a", "b"], "both namespaces listed on one")

        # A reset inside a namespace reaches every replica, and only that namespace.
        admin(f"{two}/__ns/b", "POST", "/stubs", 201, json=stub("/greet", "hi from b"))
        all_serve(bases, "/__ns/b/greet", "hi from b", "namespace b's stub everywhere")
        admin(f"{one}/__ns/b", "POST", "/reset")
        all_serve(bases, "/__ns/b/greet", None, "namespace b reset everywhere")
        assert all(body(base, "/__ns/a/greet") == "hi from a" for base in bases)


def test_ending_a_namespace_ends_it_everywhere_with_its_keys(
    root: Path, redis_server: RedisServer, client: redis.Redis
) -> None:
    with replicas(root, redis_server.url, 3) as running:
        one, _, three = bases = [base for _, base in running]
        admin(f"{one}/__ns/gone", "POST", "/stubs", 201, json=stub("/greet", "hi"))
        all_serve(bases, "/__ns/gone/greet", "hi", "the namespace's stub everywhere")
        assert client.keys(Keys("gone").key("*"))
        assert admin(f"{three}/__ns/gone", "DELETE", "/namespace") == {"deleted": "gone"}
        eventually(
            lambda: all(error(b, "/__ns/gone/greet") == "no such namespace" for b in bases),
            "the namespace ended on every replica",
        )
        assert client.keys(Keys("gone").key("*")) == []
        assert client.zscore(NAMESPACES, "gone") is None
        # Made again, it starts empty.
        admin(f"{one}/__ns/gone", "POST", "/reset")
        eventually(
            lambda: error(three, "/__ns/gone/greet") == "no stub matched this request",
            "empty again",
        )


def test_max_namespaces_counts_across_replicas(root: Path, redis_server: RedisServer) -> None:
    with replicas(root, redis_server.url, 3, "--max-namespaces", "2") as running:
        one, two, three = (base for _, base in running)
        admin(f"{one}/__ns/a", "POST", "/reset")
        admin(f"{two}/__ns/b", "POST", "/reset")
        refused = requests.post(f"{three}/__ns/c/__admin/reset", timeout=TIMEOUT)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"] == "too many namespaces"
        assert "--max-namespaces 2" in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) > 0
        admin(f"{three}/__ns/a", "POST", "/reset")  # one held already: no new one
        admin(f"{one}/__ns/b", "DELETE", "/namespace")
        admin(f"{three}/__ns/c", "POST", "/reset")


def test_an_idle_namespace_expires_everywhere_with_its_keys(
    root: Path, redis_server: RedisServer, client: redis.Redis
) -> None:
    with replicas(root, redis_server.url, 2, "--namespace-ttl", "1") as running:
        one, two = bases = [base for _, base in running]
        admin(f"{one}/__ns/idle", "POST", "/stubs", 201, json=stub("/greet", "hi"))
        all_serve(bases, "/__ns/idle/greet", "hi", "the namespace's stub everywhere")
        # Watched through the list, which is no use of it (a request in it would be).
        wait_until(lambda: all(names(b) == [] for b in bases), "the idle namespace to expire", 10)
        assert client.keys(Keys("idle").key("*")) == []
        assert all(error(b, "/__ns/idle/greet") == "no such namespace" for b in bases)
        assert names(two) == []
