"""Runtime stubs, reset and reload across replicas: three real ``mockserver serve`` processes
sharing one real redis-server. An admin write on any replica is served by all within 1 s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from mockserver.state.keys import Keys
from tests.redisserver import RedisServer
from tests.replicas import replicas

from .replica_calls import FILES, admin, all_serve, body, eventually, stub


@pytest.fixture(scope="module")
def redis_shared() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("replicated")
    (root / "stubs.yaml").write_text(FILES, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def running(root: Path, redis_shared: RedisServer) -> Iterator[list[str]]:
    """Three replicas for the module: starting processes is what these tests cost most."""
    with replicas(root, redis_shared.url, 3) as started:
        yield [base for _, base in started]


@pytest.fixture
def bases(root: Path, running: list[str]) -> list[str]:
    """The replicas, back to the files as written (each test starts from a reset)."""
    if (root / "stubs.yaml").read_text("utf-8") != FILES:
        (root / "stubs.yaml").write_text(FILES, encoding="utf-8")
        admin(running[0], "POST", "/reload")
    admin(running[0], "POST", "/reset")
    all_serve(running, "/hello", "hello from a file", "the replicas back to their files")
    return running


def test_a_stub_added_on_one_replica_is_served_by_all_within_a_second(bases: list[str]) -> None:
    one, two, three = bases
    assert body(two, "/greet") is None
    added = admin(one, "POST", "/stubs", 201, json=stub("/greet", "hi", id="greet"))
    assert [s["id"] for s in added["stubs"]] == ["greet"]
    assert body(one, "/greet") == "hi"  # the writer serves it before answering
    all_serve(bases, "/greet", "hi", "every replica to serve the added stub")
    listed = admin(three, "GET", "/stubs/greet")
    assert (listed["origin"], listed["response"]) == ("admin", {"body": "hi"})


def test_put_and_delete_on_other_replicas_reach_all(bases: list[str]) -> None:
    one, two, three = bases
    admin(one, "POST", "/stubs", 201, json=stub("/greet", "hi", id="greet"))
    all_serve(bases, "/greet", "hi", "the added stub everywhere")
    admin(two, "PUT", "/stubs/greet", 200, json=stub("/greet", "hello again"))
    all_serve(bases, "/greet", "hello again", "the replaced stub everywhere")
    admin(three, "DELETE", "/stubs/greet")
    all_serve(bases, "/greet", None, "the deleted stub gone everywhere")
    admin(one, "DELETE", "/stubs/greet", 404)
    # A file stub deleted on one replica is gone from all, and a put replaces it everywhere.
    admin(two, "DELETE", "/stubs/hello")
    all_serve(bases, "/hello", None, "the file stub removed everywhere")
    admin(one, "PUT", "/stubs/hello", 201, json=stub("/hello", "hello from admin"))
    all_serve(bases, "/hello", "hello from admin", "the file stub replaced everywhere")


def test_put_many_reaches_all(bases: list[str]) -> None:
    stubs = [stub(f"/many/{n}", f"many {n}", id=f"many-{n}") for n in range(20)]
    stored = admin(bases[2], "PUT", "/stubs", json=stubs)["stubs"]
    assert [s["id"] for s in stored] == [f"many-{n}" for n in range(20)]
    all_serve(bases, "/many/19", "many 19", "the last of the batch everywhere")
    assert all(body(bases[0], f"/many/{n}") == f"many {n}" for n in range(20))


def test_a_duplicate_explicit_id_is_refused_on_another_replica(bases: list[str]) -> None:
    one, two, _ = bases
    admin(one, "POST", "/stubs", 201, json=stub("/first", "first", id="taken"))
    refused = admin(two, "POST", "/stubs", 409, json=stub("/second", "second", id="taken"))
    assert refused["error"] == "duplicate stub id"
    assert "'taken'" in refused["detail"]
    assert body(two, "/second") is None
    # A file stub's id is taken on every replica too.
    admin(two, "POST", "/stubs", 409, json=stub("/third", "third", id="hello"))


def test_derived_ids_stay_unique_across_replicas(bases: list[str]) -> None:
    one, two, three = bases
    first = admin(one, "POST", "/stubs", 201, json=stub("/same", "from one"))["stubs"][0]
    second = admin(two, "POST", "/stubs", 201, json=stub("/same", "from two"))["stubs"][0]
    assert first["id"] != second["id"]
    # Newest first, as in one process: the second write answers, on every replica.
    all_serve(bases, "/same", "from two", "the newer stub first everywhere")

    def listed() -> bool:
        ids = {s["id"] for s in admin(three, "GET", "/stubs")["stubs"]}
        return {first["id"], second["id"]} <= ids

    eventually(listed, "both stubs listed on the third replica")


def test_reset_on_one_replica_resets_all(bases: list[str]) -> None:
    one, two, three = bases
    admin(one, "POST", "/stubs", 201, json=stub("/greet", "hi", id="greet"))
    admin(two, "DELETE", "/stubs/hello")
    all_serve(bases, "/greet", "hi", "the added stub everywhere")
    all_serve(bases, "/hello", None, "the file stub removed everywhere")
    assert admin(three, "POST", "/reset")["status"] == "reset"
    all_serve(bases, "/greet", None, "the runtime stub gone everywhere after the reset")
    all_serve(bases, "/hello", "hello from a file", "the file stub back everywhere")
    # And the replicas go on sharing writes after it.
    admin(two, "POST", "/stubs", 201, json=stub("/after", "after", id="greet"))
    all_serve(bases, "/after", "after", "a write after the reset everywhere")


def test_reload_on_one_replica_reloads_all(root: Path, bases: list[str]) -> None:
    admin(bases[1], "POST", "/stubs", 201, json=stub("/greet", "hi", id="greet"))
    (root / "stubs.yaml").write_text(FILES.replace("hello from a file", "reloaded"), "utf-8")
    assert admin(bases[0], "POST", "/reload")["status"] == "reloaded"
    all_serve(bases, "/hello", "reloaded", "every replica serving the reloaded file")
    assert all(body(base, "/greet") == "hi" for base in bases)  # runtime stubs stay


def test_a_lost_event_is_made_good_by_the_version_check(
    bases: list[str], redis_shared: RedisServer
) -> None:
    """A write no event announced (as if every subscriber missed it) is served within 1 s."""
    admin(bases[0], "POST", "/stubs", 201, json=stub("/greet", "hi", id="greet"))
    all_serve(bases, "/greet", "hi", "the added stub everywhere")
    client = redis.Redis(port=redis_shared.port)
    keys = Keys()
    entry = client.hget(keys.stubs, "greet")
    assert isinstance(entry, bytes)
    quiet = entry.replace(b"/greet", b"/quiet").replace(b'"greet"', b'"quiet"')
    with client.pipeline(transaction=True) as pipe:
        pipe.hset(keys.stubs, "quiet", quiet).incr(keys.version).execute()
    client.close()
    all_serve(bases, "/quiet", "hi", "the unannounced write everywhere")


def test_wiremock_mappings_reach_all(tmp_path: Path, redis_server: RedisServer) -> None:
    (tmp_path / "stubs.yaml").write_text(FILES, encoding="utf-8")
    mapping = {
        "id": "8c5db8b0-2db4-4ad7-a99f-38c9b00da3f7",
        "request": {"method": "GET", "url": "/wm"},
        "response": {"status": 200, "body": "from a mapping"},
    }
    with replicas(tmp_path, redis_server.url, 2, "--admin-api", "wiremock") as started:
        bases = [base for _, base in started]
        admin(bases[0], "POST", "/mappings", 201, json=mapping)
        all_serve(bases, "/wm", "from a mapping", "the mapping everywhere")
        admin(bases[1], "DELETE", f"/mappings/{mapping['id']}")
        all_serve(bases, "/wm", None, "the deleted mapping gone everywhere")
