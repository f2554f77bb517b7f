"""The Redis state store's faults: unreachable at start, lost while running, back again.

A real redis-server (tests/redisserver.py), stopped and started again on the same port, and
real ``mockserver serve`` processes (tests/replicas.py) or the store in this process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from mockserver.state.keys import CHANNEL, NAMESPACES, Keys
from mockserver.state.redis import RedisState, StoreUnavailable
from tests.console import run_console
from tests.redisserver import RedisServer
from tests.replicas import replica, replicas
from tests.waiting import wait_until, wait_until_async

from .replica_calls import FILES, admin, all_serve, body, stub

PASSWORD = "s3cret-redis-pw"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "stubs.yaml").write_text(FILES, encoding="utf-8")
    return tmp_path


@pytest.fixture
def locked_redis() -> Iterator[RedisServer]:
    """A redis-server that wants a password: it must never show in output."""
    with RedisServer(password=PASSWORD) as server:
        yield server


def test_unreachable_redis_at_start_is_one_line_naming_it_redacted_and_exit_2(
    root: Path,
) -> None:
    absent = RedisServer(password=PASSWORD)  # never started: nothing listens on its port
    try:
        result = run_console("serve", str(root), "--port", "0", "--state", absent.url)
    finally:
        absent.close()
    said = (result.stdout + result.stderr).strip()
    assert result.returncode == 2, said
    assert len(said.splitlines()) == 1, said
    assert f"redis://:***@127.0.0.1:{absent.port}/0" in said
    assert "--state-wait" in said
    assert PASSWORD not in said
    assert "Traceback" not in said


def test_state_wait_starts_without_redis_and_connects_when_it_comes(root: Path) -> None:
    server = RedisServer()
    try:
        with replica(root, server.url, "--state-wait") as (_, url):
            assert requests.get(f"{url}/hello", timeout=5).text == "hello from a file"
            server.start()
            client = redis.Redis(port=server.port)

            def subscribed() -> int:
                return int(dict(client.pubsub_numsub(CHANNEL))[CHANNEL.encode()])

            wait_until(subscribed, "the replica to subscribe once Redis came", timeout=10)
            client.close()
            assert requests.get(f"{url}/hello", timeout=5).text == "hello from a file"
    finally:
        server.close()


def test_events_reach_every_store_including_the_publisher(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        one, two = RedisState(redis_server.url), RedisState(redis_server.url)
        await one.start()
        await two.start()
        seen: list[tuple[str, dict[str, Any]]] = []
        one.on("stubs", lambda event: seen.append(("one", event)))
        two.on("stubs", lambda event: seen.append(("two", event)))
        two.on("reset", lambda event: seen.append(("two-reset", event)))
        try:
            await one.publish("suite-a", "stubs", version=7)
            await wait_until_async(lambda: len(seen) == 2, "both stores to see the event")
            assert sorted(who for who, _ in seen) == ["one", "two"]
            for _, event in seen:
                assert event == {
                    "ns": "suite-a", "kind": "stubs", "origin": one.replica, "version": 7
                }  # fmt: skip
            assert one.replica != two.replica
        finally:
            await one.close()
            await two.close()

    asyncio.run(scenario())


def test_lost_redis_raises_store_unavailable_redacted_and_recovers_by_itself(
    locked_redis: RedisServer,
) -> None:
    async def scenario() -> None:
        store = RedisState(locked_redis.url)
        await store.start()
        recovered: list[bool] = []
        store.on_recover(lambda: recovered.append(True))
        events: list[dict[str, Any]] = []
        store.on("reload", events.append)
        try:
            assert await store.run(lambda client: client.set("k", "v"))
            location = f"redis://:***@127.0.0.1:{locked_redis.port}/0"
            assert store.health() == {
                "store": "redis", "available": True, "error": None, "location": location
            }  # fmt: skip
            await asyncio.to_thread(locked_redis.stop)
            with pytest.raises(StoreUnavailable) as caught:
                await store.run(lambda client: client.get("k"))
            problem = caught.value.problem()
            assert (problem.status, problem.error) == (503, "state store unavailable")
            assert location in problem.detail
            assert PASSWORD not in problem.detail + str(caught.value) + str(store.health())
            assert store.health()["available"] is False
            assert store.health()["error"]

            await asyncio.to_thread(locked_redis.start)
            # The listener reconnects by itself: no command needed to notice Redis is back.
            await wait_until_async(lambda: recovered, "the store to notice Redis is back", 10)
            assert store.available
            await store.publish(None, "reload")
            await wait_until_async(lambda: events, "the event after recovery", 10)
            assert events[0]["ns"] is None
        finally:
            await store.close()

    asyncio.run(scenario())


def test_unreachable_start_raises_and_wait_does_not(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        redis_server.stop()
        refused = RedisState(redis_server.url)
        with pytest.raises(StoreUnavailable, match="--state-wait"):
            await refused.start()
        waiting = RedisState(redis_server.url, wait=True)
        await waiting.start()
        try:
            assert not waiting.available
            await asyncio.to_thread(redis_server.start)
            await wait_until_async(lambda: waiting.available, "the waiting store to connect", 10)
        finally:
            await waiting.close()

    asyncio.run(scenario())


def test_replicas_ride_out_redis_stopped_and_started_again(
    root: Path, locked_redis: RedisServer
) -> None:
    """Redis gone mid-run: no crash, files and cached runtime stubs keep serving, admin
    writes answer 503 naming the store (password hidden), health says so while staying
    ready; Redis back: writes work and reach every replica again, no restart."""
    location = f"redis://:***@127.0.0.1:{locked_redis.port}/0"
    with replicas(root, locked_redis.url, 3) as running:
        bases = [base for _, base in running]
        admin(bases[0], "POST", "/stubs", 201, json=stub("/cached", "cached", id="cached"))
        all_serve(bases, "/cached", "cached", "the runtime stub everywhere")
        locked_redis.stop()

        refused = admin(bases[1], "POST", "/stubs", 503, json=stub("/new", "new", id="new"))
        assert refused["error"] == "state store unavailable"
        assert location in refused["detail"]
        for base in bases:
            assert body(base, "/hello") == "hello from a file"
            assert body(base, "/cached") == "cached"
            admin(base, "DELETE", "/stubs/cached", 503)
            admin(base, "POST", "/reset", 503)
        wait_until(
            lambda: not admin(bases[2], "GET", "/health")["state"]["available"],
            "health to report the store unavailable",
            timeout=10,
        )
        health = admin(bases[2], "GET", "/health")
        assert health["status"] == "ok"  # still ready: static stubs serve
        assert (health["state"]["store"], health["state"]["location"]) == ("redis", location)
        assert health["state"]["error"]
        assert body(bases[1], "/new") is None  # nothing half-written

        locked_redis.start()
        wait_until(
            lambda: all(admin(b, "GET", "/health")["state"]["available"] for b in bases),
            "every replica to reconnect by itself",
            timeout=10,
        )
        admin(bases[1], "POST", "/stubs", 201, json=stub("/new", "new", id="new"))
        all_serve(bases, "/new", "new", "a write after the recovery everywhere")
        assert all(body(base, "/hello") == "hello from a file" for base in bases)
        for console, _ in running:  # its whole log: the loss and the return, never the password
            console.process.terminate()
            said = "\n".join(console.rest())
            assert f"the state store {location} cannot be reached" in said
            assert PASSWORD not in said


def test_a_redis_back_without_its_data_gets_the_replicas_copies_back(
    root: Path, redis_server: RedisServer
) -> None:
    """redis-server keeps nothing here (no RDB, no AOF): after a restart the runtime stubs and
    namespaces the replicas served are put back, and served all along."""
    with replicas(root, redis_server.url, 3) as running:
        bases = [base for _, base in running]
        admin(bases[0], "POST", "/stubs", 201, json=stub("/kept", "kept", id="kept"))
        admin(f"{bases[1]}/__ns/suite", "POST", "/stubs", 201, json=stub("/ns", "in suite"))
        all_serve(bases, "/kept", "kept", "the runtime stub everywhere")
        all_serve(bases, "/__ns/suite/ns", "in suite", "the namespace's stub everywhere")
        redis_server.stop()
        redis_server.start()
        client = redis.Redis(port=redis_server.port)
        wait_until(
            lambda: (
                client.hexists(Keys().stubs, "kept")
                and client.hlen(Keys("suite").stubs) == 1
                and client.zscore(NAMESPACES, "suite") is not None
            ),
            "a replica to put back what the new Redis lacks",
            timeout=10,
        )
        client.close()
        wait_until(
            lambda: all(admin(b, "GET", "/health")["state"]["available"] for b in bases),
            "every replica back on the new Redis",
            timeout=10,
        )
        for base in bases:
            assert body(base, "/kept") == "kept"
            assert body(base, "/__ns/suite/ns") == "in suite"
        admin(bases[2], "POST", "/stubs", 409, json=stub("/other", "other", id="kept"))
        admin(bases[2], "POST", "/stubs", 201, json=stub("/after", "after", id="after"))
        all_serve(bases, "/after", "after", "a write on the new Redis everywhere")
