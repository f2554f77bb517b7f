"""The stub set being served: one immutable snapshot, replaced whole, never edited in place.

A request reads ``store.snapshot`` once and is answered from that snapshot alone, so a reload
or an admin write that swaps in a new one can never give it a mix of old and new stubs.
Replacing an attribute is atomic in CPython, so readers take no lock.
"""

from __future__ import annotations

from dataclasses import dataclass

from .matching import StubIndex, index_by_listener
from .model import StubSet

__all__ = ["Snapshot", "StubStore"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    stubs: StubSet
    indexes: dict[int | None, StubIndex]
    listener_of: dict[str, int | None]

    @classmethod
    def build(cls, stubs: StubSet) -> Snapshot:
        """Index ``stubs`` by listener: a service's declared port, or None for the main port."""
        listener_of = {name: spec.port for name, spec in stubs.services.items()}
        return cls(stubs, index_by_listener(stubs.stubs, listener_of), listener_of)

    def index_for(self, listener: int | None) -> StubIndex:
        index = self.indexes.get(listener)
        return index if index is not None else _EMPTY

    def listeners(self) -> set[int | None]:
        return {None, *self.listener_of.values()}


_EMPTY = StubIndex(())


class StubStore:
    """Holds the current snapshot and the stub set loaded from files."""

    def __init__(self, stubs: StubSet) -> None:
        self.loaded = stubs
        self.snapshot = Snapshot.build(stubs)

    def replace(self, stubs: StubSet) -> None:
        self.snapshot = Snapshot.build(stubs)
