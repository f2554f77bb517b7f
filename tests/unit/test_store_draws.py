"""The store's draws (delay ranges, fault rates): seeded, they repeat from every reset."""

from __future__ import annotations

from mockserver.core.model import StubSet
from mockserver.core.store import StubStore


def test_a_seeded_store_draws_the_same_after_each_reset() -> None:
    store = StubStore(StubSet({}, ()), seed=42)
    first = [store.rng.random() for _ in range(5)]
    store.reset()
    assert [store.rng.random() for _ in range(5)] == first
    assert StubStore(StubSet({}, ()), seed=43).rng.random() != first[0]


def test_an_unseeded_store_keeps_drawing_afresh_across_a_reset() -> None:
    store = StubStore(StubSet({}, ()))
    before = [store.rng.random() for _ in range(5)]
    store.reset()
    assert [store.rng.random() for _ in range(5)] != before
