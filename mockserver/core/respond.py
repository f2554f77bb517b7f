"""The answer to one request on one listener: a stub, a resource, or the near-miss report.

Pure: the aiohttp server and the socket-free test modes both call ``respond`` and only carry
the answer out (the server sleeps the delay and writes the bytes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from mockserver.core.budget import MATCH_BUDGET_S, end_match_budget, start_match_budget
from mockserver.core.errors import HttpProblem
from mockserver.core.headernames import CACHE_CONTROL, CONTENT_TYPE
from mockserver.core.journal import JournalEntry
from mockserver.core.matching import Match, ScenarioState
from mockserver.core.model import Fault, PreparedResponse, Stub, Timing, WebhookSpec
from mockserver.core.render import choose, encode_json
from mockserver.core.replayed import with_expires
from mockserver.core.report import UnmatchedReport, unmatched_report
from mockserver.core.request import RequestView
from mockserver.core.resources import ResourceOutcome, ResourceState
from mockserver.core.store import Snapshot, StubStore
from mockserver.core.webhookspec import rendered_calls

if TYPE_CHECKING:  # Jinja2 is imported with the first template, not here
    from mockserver.core.templates import TemplateFailure

__all__ = [
    "Answer",
    "fault_to_perform",
    "refusal",
    "resource_answer",
    "respond",
    "stub_answer",
    "unmatched_answer",
]

# The error of a request an OpenAPI document refuses (formats/openapi/validate.py checks it).
VIOLATION_ERROR: Final = "request does not match the OpenAPI document"

_JSON_HEADERS = ((CONTENT_TYPE, "application/json"), (CACHE_CONTROL, "no-store"))


@dataclass(slots=True)  # not frozen: a frozen init costs half a microsecond per request
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    delay_ms: tuple[int, int] = (0, 0)
    stub_id: str | None = None
    timing: Timing | None = None  # lognormal delay, dribbled body (model.Timing)
    report: UnmatchedReport | None = None  # set when no stub matched
    # The journal entry of a stub's answer: marked if the client leaves during the delay.
    entry: JournalEntry | None = None
    fault: Fault | None = None  # the stub's fault: break the connection instead of answering
    fault_rate: float = 1.0  # the share of requests that meet it (see fault_to_perform)
    webhooks: tuple[WebhookSpec, ...] = ()  # the stub's calls, made once the answer is sent
    reason: str | None = None  # the stub's reason phrase (None: the status's usual one)


def respond(
    store: StubStore,
    listener: int | None,
    view: RequestView,
    *,
    unmatched_status: int = 404,
    near_misses: int = 3,
    journal_unmatched: bool = True,
    match_budget: float = MATCH_BUDGET_S,
) -> Answer:
    """Answer ``view`` from the store's current snapshot and journal it.

    ``journal_unmatched=False`` leaves a miss out of the journal, for a caller (spy mode) that
    answers it another way and journals that instead.
    """
    budget = start_match_budget(match_budget)  # one for its matching and its explanation
    try:
        return _respond(store, listener, view, unmatched_status, near_misses, journal_unmatched)
    finally:
        end_match_budget(budget)


def _respond(
    store: StubStore,
    listener: int | None,
    view: RequestView,
    unmatched_status: int,
    near_misses: int,
    journal_unmatched: bool,
) -> Answer:
    snapshot = store.snapshot  # read once: this request sees one consistent stub set
    index = snapshot.index_for(listener)
    scenarios = store.scenarios if snapshot.scenario_names else None
    if scenarios is None:
        found = index.match(view)
    else:
        with scenarios.lock:  # match and move as one: of concurrent requests, one moves it
            found = index.match(view, scenarios.state)
            moved = found.stub.scenario if found is not None else None
            if moved is not None and moved.next is not None:
                scenarios.move(moved.name, moved.next)
    if found is not None:
        stub = found.stub
        refused = refusal(store, listener, view, stub)
        if refused is not None:
            return refused
        prepared = store.next_response(stub) if stub.responses else stub.prepared
        return stub_answer(store, listener, view, found, prepared, store.scenarios.state)
    resource = store.resource_for(listener, view.path)
    if resource is not None:
        return resource_answer(store, listener, view, resource, resource.handle(view))
    state = scenarios.state if scenarios is not None else None
    return unmatched_answer(
        store, listener, view, snapshot, state, unmatched_status, near_misses, journal_unmatched
    )


def refusal(store: StubStore, listener: int | None, view: RequestView, stub: Stub) -> Answer | None:
    """The 400 of a request the stub's OpenAPI document refuses, else None."""
    check = stub.check or store.request_check
    if check is not None:
        violations = check(view)
        if violations:
            return _refused(store, listener, view, stub.service, stub.id, violations)
    return None


def stub_answer(
    store: StubStore,
    listener: int | None,
    view: RequestView,
    found: Match,
    prepared: PreparedResponse,
    scenario_state: ScenarioState,
) -> Answer:
    """The answer of ``found``'s stub with ``prepared`` (its sequence's current response, or
    its only one), rendered and journaled."""
    stub = found.stub
    if prepared.templated is not None:
        # Jinja2 is imported by the first templated stub, not by every server's start.
        from mockserver.core.templates import TemplateFailure, render_response

        try:
            prepared = render_response(
                prepared.templated,
                prepared.templated.template,  # type: ignore[arg-type]
                view,
                found.params,
                store.rng,
                stub.prepare,
                scenario_state,
            )
        except TemplateFailure as failure:
            return _failed(store, listener, view, stub, failure)
    if prepared.variants:
        choice = choose(prepared, view)
        status, out_headers, body = choice.status, choice.headers, choice.body
    else:
        status, out_headers, body = prepared.status, prepared.headers, prepared.body
    if prepared.expires_in is not None and status < 400:  # not on a 406 or 412 of ours
        out_headers = with_expires(out_headers, prepared.expires_in)
    entry = store.journal.record(
        view,
        service=stub.service,
        stub_id=stub.id,
        status=status,
        listener=listener,
    )
    return Answer(
        status,
        out_headers,
        body,
        prepared.delay_ms,
        stub.id,
        timing=prepared.timing,
        entry=entry,
        fault=prepared.fault,
        fault_rate=prepared.fault_rate,
        webhooks=(
            rendered_calls(stub.webhooks, view, found.params, store.rng) if stub.webhooks else ()
        ),
        reason=prepared.reason if status == prepared.status else None,
    )


def resource_answer(
    store: StubStore,
    listener: int | None,
    view: RequestView,
    resource: ResourceState,
    outcome: ResourceOutcome,
) -> Answer:
    """The answer of a resource's operation, journaled."""
    stub_id = f"resource:{resource.spec.path}"
    store.journal.record(
        view,
        service=resource.service,
        stub_id=stub_id,
        status=outcome.status,
        listener=listener,
    )
    return Answer(outcome.status, outcome.headers, outcome.body, stub_id=stub_id)


def unmatched_answer(
    store: StubStore,
    listener: int | None,
    view: RequestView,
    snapshot: Snapshot,
    state: ScenarioState | None,
    unmatched_status: int,
    near_misses: int,
    journal_unmatched: bool,
) -> Answer:
    """The near-miss report of a request no stub and no resource answers, journaled."""
    index = snapshot.index_for(listener)
    report = unmatched_report(view, index.near_misses(view, near_misses, state), len(index))
    # Attribute the miss to the port's service when it has just one, so per-service views of
    # the journal (the pytest plugin's service.requests) show it.
    here = snapshot.services_on(listener)
    if journal_unmatched:
        store.journal.record(
            view,
            service=here[0] if len(here) == 1 else None,
            stub_id=None,
            status=unmatched_status,
            listener=listener,
            near_misses=report.nearest,
        )
    body = json.dumps(report.to_json(), indent=2, ensure_ascii=False).encode() + b"\n"
    # A report names stubs and what they expect: for the caller, never for a cache on the way.
    return Answer(unmatched_status, _JSON_HEADERS, body, report=report)


def _failed(
    store: StubStore,
    listener: int | None,
    view: RequestView,
    stub: Stub,
    failure: TemplateFailure,
) -> Answer:
    """A template that failed: 500 naming the stub and the template, journaled as an answer
    that failed (no stub answered), so strict mode fails the test that caused it."""
    detail = f"stub {stub.id!r}, template {failure.key}: {failure.why}"
    entry = store.journal.record(
        view,
        service=stub.service,
        stub_id=None,
        status=500,
        listener=listener,
        error=f"template failed: {detail}",
    )
    problem = HttpProblem(500, "template failed", detail, stub=stub.id, template=failure.key)
    return Answer(500, _JSON_HEADERS, encode_json(problem.as_dict()), stub_id=stub.id, entry=entry)


def _refused(
    store: StubStore,
    listener: int | None,
    view: RequestView,
    service: str,
    stub_id: str,
    violations: list[dict[str, str]],
) -> Answer:
    """A request that breaks the OpenAPI document: 400 with its violations, journaled as
    answered by no stub (so a strict test fails on it) with the violations as its error."""
    said = "; ".join(
        f"{v['in']} {v.get('name', v.get('pointer', ''))!s}: {v['message']}".replace("  ", " ")
        for v in violations
    )
    store.journal.record(
        view,
        service=service,
        stub_id=None,
        status=400,
        listener=listener,
        error=f"{VIOLATION_ERROR} (stub {stub_id}): {said}",
    )
    body = {"error": VIOLATION_ERROR, "violations": violations}
    return Answer(400, _JSON_HEADERS, json.dumps(body, ensure_ascii=False).encode() + b"\n")


def fault_to_perform(answer: Answer, draw: Callable[[], float]) -> Fault | None:
    """The fault to carry out instead of ``answer``, if any, marked on its journal entry.

    ``draw`` gives a number in [0, 1) (the server's seeded generator): a stub with
    ``rate: 0.1`` meets its fault when the draw is below 0.1; without a rate, always.
    """
    if answer.fault is None:
        return None
    if answer.fault_rate < 1.0 and draw() >= answer.fault_rate:
        return None
    if answer.entry is not None:
        answer.entry.fault = answer.fault
    return answer.fault
