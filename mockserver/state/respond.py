"""The answer to one request when replicas share state: core's pure steps around one Redis step.

A static stub is answered as ``core.respond`` answers it, with no round trip. A stub that steps
a sequence or moves a scenario, and a resource, need one Redis operation between matching and
answering (steps.py); a move another replica made first is matched again with the state it
found. Redis gone: such a request is answered 503 naming the store, and journaled.
"""

from __future__ import annotations

import time
from typing import Final

from mockserver.core.budget import clock, end_match_budget, start_match_budget
from mockserver.core.config import Settings
from mockserver.core.errors import HttpProblem
from mockserver.core.headernames import CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER
from mockserver.core.matching import ScenarioState
from mockserver.core.render import encode_json
from mockserver.core.request import RequestView
from mockserver.core.respond import (
    Answer,
    refusal,
    resource_answer,
    stub_answer,
    unmatched_answer,
)
from mockserver.core.store import Snapshot, StubStore
from mockserver.state.steps import ATTEMPTS, Busy, Steps
from mockserver.state.unavailable import StoreUnavailable

__all__ = ["respond_shared"]

_HEADERS: Final = (
    (CONTENT_TYPE, "application/json"),
    (CACHE_CONTROL, "no-store"),
    (RETRY_AFTER, "1"),
)


async def respond_shared(
    steps: Steps,
    settings: Settings,
    store: StubStore,
    namespace: str | None,
    listener: int | None,
    view: RequestView,
    *,
    journal_unmatched: bool = True,
) -> Answer:
    """``core.respond.respond`` for a server whose sequences, scenarios and resources live
    in Redis (``steps``); ``namespace`` is ``store``'s name (None: the default one)."""
    match_budget = settings.match_budget_ms / 1000
    budget = start_match_budget(match_budget)
    try:
        answered = await _respond(steps, store, namespace, listener, view, match_budget)
        if isinstance(answered, Answer):
            return answered
        snapshot, state = answered
        return unmatched_answer(
            store,
            listener,
            view,
            snapshot,
            state,
            settings.unmatched_status,
            settings.near_misses,
            journal_unmatched,
        )
    except (StoreUnavailable, Busy) as exc:
        return _unavailable(store, listener, view, exc.problem())
    finally:
        end_match_budget(budget)


async def _respond(
    steps: Steps,
    store: StubStore,
    namespace: str | None,
    listener: int | None,
    view: RequestView,
    match_budget: float,
) -> Answer | tuple[Snapshot, ScenarioState | None]:
    """The answer of a stub or a resource; else, for the report of a miss, the snapshot and
    the scenarios' states it was matched against."""
    unsynced: StoreUnavailable | None = None
    if store.snapshot.scenario_names:
        try:
            await steps.sync(namespace, store)
        except StoreUnavailable as exc:  # a stub that names no scenario still answers
            unsynced = exc
    # The states other replicas moved scenarios to, learnt before their events arrive.
    elsewhere: dict[str, str] = {}

    def state(name: str) -> str:
        return elsewhere.get(name) or store.scenarios.state(name)

    snapshot = store.snapshot
    for _ in range(ATTEMPTS):
        snapshot = store.snapshot
        found = snapshot.index_for(listener).match(view, state if snapshot.scenario_names else None)
        if found is None:
            break
        stub = found.stub
        if unsynced is not None and stub.scenario is not None:
            raise unsynced  # its states were never read: it cannot tell which stub answers
        refused = refusal(store, listener, view, stub)
        if refused is not None:
            return refused
        scenario = stub.scenario
        move = scenario if scenario is not None and scenario.next is not None else None
        if move is None and not stub.responses:  # static: nothing shared to step
            return stub_answer(store, listener, view, found, stub.prepared, state)
        moved = await steps.step(namespace, store, stub, move, state)
        clock().deadline = time.monotonic() + match_budget  # the wait was no matching
        if moved.moved:
            sequence = stub.sequence
            prepared = (
                sequence[min(moved.position, len(sequence) - 1)] if sequence else stub.prepared
            )
            return stub_answer(store, listener, view, found, prepared, state)
        assert move is not None  # only a move finds its scenario elsewhere
        elsewhere[move.name] = moved.state
    else:
        raise Busy(f"scenario {' '.join(repr(name) for name in elsewhere)}")
    resource = store.resource_for(listener, view.path)
    if resource is not None:
        outcome = await steps.resource(namespace, resource, view)
        return resource_answer(store, listener, view, resource, outcome)
    return snapshot, state if snapshot.scenario_names else None


def _unavailable(
    store: StubStore, listener: int | None, view: RequestView, problem: HttpProblem
) -> Answer:
    """A stateful request Redis could not step: 503, journaled as answered by no stub (so a
    strict test fails on it) with the reason as its error."""
    entry = store.journal.record(
        view,
        service=None,
        stub_id=None,
        status=problem.status,
        listener=listener,
        error=f"{problem.error}: {problem.detail}",
    )
    return Answer(problem.status, _HEADERS, encode_json(problem.as_dict()), entry=entry)
