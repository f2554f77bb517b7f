"""The stub set being served: one immutable snapshot, replaced whole, never edited in place.

A request reads ``store.snapshot`` once and is answered from that snapshot alone, so a reload
or an admin write that swaps in a new one can never give it a mix of old and new stubs.
Replacing an attribute is atomic in CPython, so readers take no lock; writers serialise on one.

Stubs come from two places: the files (``loaded``, replaced by a reload) and the admin API
(``runtime``, cleared by a reset). A runtime stub is tried before file stubs of the same
priority, newest first, so a test can override what the files say.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from mockserver.core.deliveries import DeliveryLog
from mockserver.core.errors import MockServerError, Problem
from mockserver.core.journal import Journal
from mockserver.core.matching import StubIndex, index_by_listener
from mockserver.core.messagelog import MessageLog
from mockserver.core.model import PreparedResponse, ServiceSpec, Stub, StubSet
from mockserver.core.request import RequestView
from mockserver.core.resources import ResourceState
from mockserver.core.scenarios import ScenarioStates

__all__ = ["DuplicateStubError", "ReloadStatus", "Snapshot", "StubStore", "unique_id"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    stubs: StubSet
    indexes: dict[int | None, StubIndex]
    listener_of: dict[str, int | None]
    by_id: dict[str, Stub] = field(default_factory=dict)
    scenario_names: frozenset[str] = frozenset()  # the scenarios its stubs name
    # Some stub steps a sequence or names a scenario: with shared state, such a request may
    # need Redis (state/respond.py); a snapshot without any is answered as in one process.
    stateful: bool = False

    @classmethod
    def build(cls, stubs: StubSet) -> Snapshot:
        """Index ``stubs`` by listener: a service's declared port, or None for the main port."""
        listener_of = {name: spec.port for name, spec in stubs.services.items()}
        return cls(
            stubs,
            index_by_listener(stubs.stubs, listener_of),
            listener_of,
            {stub.id: stub for stub in stubs.stubs},
            frozenset(s.scenario.name for s in stubs.stubs if s.scenario is not None),
            any(s.responses or s.scenario is not None for s in stubs.stubs),
        )

    def index_for(self, listener: int | None) -> StubIndex:
        index = self.indexes.get(listener)
        return index if index is not None else _EMPTY

    def listeners(self) -> set[int | None]:
        return {None, *self.listener_of.values()}

    def services_on(self, listener: int | None) -> list[str]:
        return [name for name, port in self.listener_of.items() if port == listener]


_EMPTY = StubIndex(())


def _indexed(stubs: StubSet, snapshot: Snapshot | None) -> Snapshot:
    return snapshot if snapshot is not None and snapshot.stubs is stubs else Snapshot.build(stubs)


class DuplicateStubError(MockServerError, ValueError):
    """An admin write named a stub id that is already served."""


def unique_id(stub_id: str, taken: set[str], explicit_ids: Collection[str]) -> str:
    """``stub_id``, or when taken ``stub_id-N`` for the first N free; added to ``taken``.

    Raises:
        DuplicateStubError: ``stub_id`` is taken and the caller chose it (an explicit id).
    """
    chosen = stub_id
    if chosen in taken:
        if stub_id in explicit_ids:
            raise DuplicateStubError(
                f"a stub with id {stub_id!r} already exists; DELETE it first or "
                f"PUT /__admin/stubs/{stub_id} to replace it"
            )
        n = 2
        while f"{stub_id}-{n}" in taken:
            n += 1
        chosen = f"{stub_id}-{n}"
    taken.add(chosen)
    return chosen


@dataclass(frozen=True, slots=True)
class ReloadStatus:
    ok: bool = True
    at: float | None = None
    problems: tuple[Problem, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "at": self.at,
            "problems": [p.as_dict() for p in self.problems],
            "message": "\n".join(str(p) for p in self.problems) or None,
        }


class StubStore:
    """The file stubs, the runtime stubs, the journal, and the snapshot built from them."""

    def __init__(
        self,
        stubs: StubSet,
        journal: Journal | None = None,
        seed: int | None = None,
        *,
        snapshot: Snapshot | None = None,
    ) -> None:
        self._lock = threading.RLock()
        # Draws for delay ranges and fault rates. Seeded, they repeat, from each reset on.
        self.seed = seed
        self.rng = random.Random(seed)
        self.loaded = stubs
        self.runtime: list[Stub] = []
        # Services that runtime stubs declare (a marker's stub files), with their ports.
        self.runtime_services: dict[str, ServiceSpec] = {}
        self.removed: set[str] = set()
        self.journal = journal if journal is not None else Journal()
        self.scenarios = ScenarioStates()  # each store (namespace) its own
        self.deliveries = DeliveryLog()  # its stubs' webhook calls
        self.messages = MessageLog()  # consumed and published by the messaging doubles
        # serve --openapi: every request a stub matched is checked against the document.
        self.request_check: Callable[[RequestView], list[dict[str, str]]] | None = None
        self.last_reload = ReloadStatus()
        self._seq = 0
        self._positions: dict[str, int] = {}
        # The file stubs alone, indexed: what a reset goes back to without indexing anew, and
        # what namespaces over the same files share (``snapshot``, built once for them all).
        self.file_snapshot = _indexed(stubs, snapshot)
        self.snapshot = self.file_snapshot
        self.resources = self._fresh_resources()

    def _fresh_resources(self) -> dict[int | None, list[ResourceState]]:
        """Each listener's resources, with their declared items (what a reset restores)."""
        found: dict[int | None, list[ResourceState]] = {}
        for service in self.loaded.services.values():
            for spec in service.resources:
                found.setdefault(service.port, []).append(ResourceState(spec, service.name))
        return found

    def resource_for(self, listener: int | None, path: str) -> ResourceState | None:
        """The resource on ``listener`` whose collection or items ``path`` names."""
        for state in self.resources.get(listener, ()):
            if state.owns(path):
                return state
        return None

    def _rebuild(self) -> None:
        if not (self.runtime or self.removed or self.runtime_services):
            self.snapshot = self.file_snapshot
            return
        services = dict(self.loaded.services)
        for name, spec in self.runtime_services.items():
            services.setdefault(name, spec)
        for stub in self.runtime:
            services.setdefault(stub.service, ServiceSpec(stub.service, sources=("<admin>",)))
        stubs = [s for s in self.loaded.stubs if s.id not in self.removed]
        stubs.extend(self.runtime)
        self.snapshot = Snapshot.build(StubSet(services, tuple(stubs)))

    def next_response(self, stub: Stub) -> PreparedResponse:
        """The response a sequence stub gives now (and move it on); reset starts it over."""
        with self._lock:
            position = self._positions.get(stub.id, 0)
            self._positions[stub.id] = position + 1
        return stub.sequence[min(position, len(stub.sequence) - 1)]

    def get(self, stub_id: str) -> Stub | None:
        return self.snapshot.by_id.get(stub_id)

    def add(self, stubs: list[Stub], *, explicit_ids: set[str] | None = None) -> list[Stub]:
        """Add runtime stubs, all or none. Ids the caller chose must be new; derived ids are
        made unique with a suffix, so adding the same stub twice gives two stubs.

        Raises:
            DuplicateStubError: an explicit id is taken (nothing is added).
        """
        explicit_ids = explicit_ids or set()
        with self._lock:
            taken = set(self.snapshot.by_id)
            added: list[Stub] = []
            for stub in stubs:
                stub_id = unique_id(stub.id, taken, explicit_ids)
                self._seq += 1
                added.append(replace(stub, id=stub_id, order=-self._seq))
            self.runtime.extend(added)
            self._rebuild()
            return added

    def put(self, stub: Stub) -> Stub:
        """Add or replace the stub with ``stub.id`` (a file stub is shadowed until reset)."""
        with self._lock:
            self.runtime = [s for s in self.runtime if s.id != stub.id]
            if any(s.id == stub.id for s in self.loaded.stubs):
                self.removed.add(stub.id)
            self._seq += 1
            stored = replace(stub, order=-self._seq)
            self.runtime.append(stored)
            self._rebuild()
            return stored

    def put_many(
        self, stubs: Sequence[Stub], services: Mapping[str, ServiceSpec] | None = None
    ) -> list[Stub]:
        """``put`` for many stubs with one rebuild (a marker's files: 1,000 puts rebuilt the
        index 1,000 times). ``services`` declares the services they name that the files do not
        (their ports); a later stub of an id replaces an earlier one, in the earlier's place.
        """
        unique = {stub.id: stub for stub in stubs}
        with self._lock:
            self.runtime = [s for s in self.runtime if s.id not in unique]
            self.removed |= unique.keys() & self.file_snapshot.by_id.keys()
            stored = []
            for stub in unique.values():
                self._seq += 1
                stored.append(replace(stub, order=-self._seq))
            self.runtime.extend(stored)
            for name, spec in (services or {}).items():
                if name not in self.loaded.services:
                    self.runtime_services[name] = spec
            self._rebuild()
            return stored

    def remove(self, stub_id: str) -> bool:
        """Stop serving a stub (a file stub comes back on reset or reload)."""
        with self._lock:
            before = len(self.runtime)
            self.runtime = [s for s in self.runtime if s.id != stub_id]
            found = len(self.runtime) != before
            if any(s.id == stub_id for s in self.loaded.stubs) and stub_id not in self.removed:
                self.removed.add(stub_id)
                found = True
            if found:
                self._rebuild()
            return found

    def replace_runtime(self, runtime: list[Stub], removed: set[str]) -> None:
        """Serve ``runtime`` and ``removed`` instead of this store's own: a copy of what
        replicas share (state/runtime_stubs.py), ordered and numbered there."""
        with self._lock:
            self.runtime, self.removed = runtime, removed
            self._rebuild()

    def reset(self) -> None:
        """Back to the file stubs: runtime stubs gone, removals undone, journal empty."""
        with self._lock:
            self._positions = {}
            self.runtime = []
            self.runtime_services = {}
            self.removed = set()
            self.journal.clear()
            self.scenarios.reset()
            self.deliveries.clear()
            self.messages.clear()
            if self.seed is not None:
                self.rng.seed(self.seed)
            if any(self.resources.values()):
                self.resources = self._fresh_resources()
            self.snapshot = self.file_snapshot  # indexed once, at load: a reset costs microseconds

    def reload(self, stubs: StubSet, snapshot: Snapshot | None = None) -> None:
        """Serve a new file stub set (validated by the caller); runtime stubs stay.

        ``snapshot``: ``stubs`` already indexed (by the store whose reload this follows).
        """
        with self._lock:
            loaded_ids = {s.id for s in stubs.stubs}
            self.runtime = [
                s if s.id not in loaded_ids else replace(s, id=f"{s.id}-admin")
                for s in self.runtime
            ]
            self.loaded = stubs
            self.file_snapshot = _indexed(stubs, snapshot)
            self.removed = set()
            self.last_reload = ReloadStatus(True, time.time())
            self._positions = {}
            self.resources = self._fresh_resources()
            self._rebuild()

    def reload_failed(self, problems: tuple[Problem, ...]) -> bool:
        """Record a failed reload; True when it differs from the last failure (log it once)."""
        with self._lock:
            changed = self.last_reload.problems != problems
            self.last_reload = ReloadStatus(False, time.time(), problems)
            return changed

    def origin(self, stub: Stub) -> str:
        return "admin" if stub.order < 0 else "file"
