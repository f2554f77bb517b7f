"""Namespaces in memory, on a clock the test turns: expiry, the bound, shared files; put_many."""

from __future__ import annotations

import pytest

from mockserver.core.config import Settings
from mockserver.core.model import ServiceSpec, StubSet
from mockserver.core.namespaces import MemoryNamespaces, NamespaceError, split_namespace
from mockserver.core.store import StubStore

from .builders import stubs_of


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def file_set(body: str) -> StubSet:
    stubs = stubs_of({"id": "f", "request": {"path": "/f"}, "response": {"body": body}})
    return StubSet({"svc": ServiceSpec("svc")}, tuple(stubs))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def default() -> StubStore:
    return StubStore(file_set("v1"))


def registry(default: StubStore, clock: Clock, **settings: float) -> MemoryNamespaces:
    values = {"max_namespaces": 3, "namespace_ttl": 60.0, **settings}
    return MemoryNamespaces(default, Settings(**values), clock)  # type: ignore[arg-type]


def test_a_namespace_shares_the_default_stores_index_until_it_changes(
    default: StubStore, clock: Clock
) -> None:
    spaces = registry(default, clock)
    store = spaces.open("a")
    assert store.snapshot is default.file_snapshot  # indexed once, for every namespace
    assert spaces.find("a") is store
    store.add(stubs_of({"request": {"path": "/x"}}))
    assert store.snapshot is not default.snapshot
    assert default.snapshot is default.file_snapshot  # the default store saw nothing
    store.reset()
    assert store.snapshot is default.file_snapshot


def test_an_idle_namespace_expires_and_comes_back_empty(default: StubStore, clock: Clock) -> None:
    spaces = registry(default, clock)
    spaces.open("a").add(stubs_of({"request": {"path": "/x"}}))
    clock.now += 59
    assert spaces.find("a") is not None  # used: its minute starts again
    clock.now += 59
    assert spaces.describe()["namespaces"][0]["runtime_stubs"] == 1
    clock.now += 61
    assert spaces.describe()["namespaces"] == []
    assert spaces.find("a") is None  # a service request does not begin one
    assert spaces.open("a").runtime == []


def test_the_bound_refuses_one_more_until_one_ends_or_expires(
    default: StubStore, clock: Clock
) -> None:
    spaces = registry(default, clock)
    for name in "abc":
        spaces.open(name)
        clock.now += 10
    with pytest.raises(NamespaceError) as refused:
        spaces.open("d")
    assert (refused.value.status, refused.value.error) == (429, "too many namespaces")
    assert "--max-namespaces 3" in refused.value.detail
    assert refused.value.retry_after == 30  # "a", used 30 s ago, has 30 s of its minute left
    spaces.open("a")  # one held is always reachable
    assert spaces.drop("b")
    spaces.open("d")
    clock.now += 61
    spaces.open("e")  # the idle ones made room
    assert [n["name"] for n in spaces.describe()["namespaces"]] == ["e"]


def test_a_reload_of_the_files_reaches_a_namespace_on_its_next_use(
    default: StubStore, clock: Clock
) -> None:
    spaces = registry(default, clock)
    store = spaces.open("a")
    store.add(stubs_of({"request": {"path": "/mine"}}))
    default.reload(file_set("v2"))
    again = spaces.open("a")
    assert again is store
    assert again.loaded is default.loaded
    assert len(again.runtime) == 1  # its runtime stubs stay, as a reload keeps them


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/__ns/ci-42/api/x", ("ci-42", "/api/x")), ("/__ns/a", ("a", "/")), ("/__ns/a/", ("a", "/"))],
)
def test_the_prefix_splits_off(path: str, expected: tuple[str, str]) -> None:
    assert split_namespace(path) == expected


@pytest.mark.parametrize("name", ["", ".", "..", "-a", "a" * 65, "a b", "a\n"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(NamespaceError, match="1 to 64 letters"):
        split_namespace(f"/__ns/{name}/x")


def test_put_many_replaces_by_id_in_one_rebuild_and_declares_services() -> None:
    store = StubStore(file_set("file"))
    first, second = stubs_of(
        {"id": "f", "request": {"path": "/f"}, "response": {"body": "marker"}},
        {"id": "p", "request": {"path": "/p"}},
    )
    payments = ServiceSpec("payments", port=9001, sources=("payments.yaml",))
    stored = store.put_many([first, second], {"payments": payments, "svc": ServiceSpec("svc", 1)})
    assert [s.id for s in stored] == ["f", "p"]
    assert store.removed == {"f"}  # the file stub of that id is shadowed until reset
    assert store.snapshot.listener_of == {"svc": None, "payments": 9001}  # the file's svc kept
    assert [s.id for s in store.snapshot.stubs.stubs] == ["f", "p"]
    store.reset()
    assert store.snapshot.listener_of == {"svc": None}
    assert store.removed == set()
