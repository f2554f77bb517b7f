"""Which stub answers a request, and, when none does, which came nearest and why not.

Candidates come from an index (exact path → dict, templates → trie, regex paths last), are
ordered by priority and then load order, and the first whose query, headers, cookies and body
hold wins. A miss is explained by scoring every stub and reporting the nearest few.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Final, TypeVar

from mockserver.core.budget import BUDGET_EXCEEDED, BudgetExceeded
from mockserver.core.model import RequestSpec, Stub
from mockserver.core.paths import PathTrie
from mockserver.core.patterns import Pattern, Value, show
from mockserver.core.recordmatchers import Values
from mockserver.core.request import RequestView
from mockserver.core.scenarios import STARTED
from mockserver.core.secretnames import (
    PLACEHOLDER,
    names_secret_parameter,
    redacted_field,
    redacted_query_string,
)
from mockserver.core.shadowing import Shadow, find_shadows

__all__ = [
    "Difference",
    "Match",
    "NearMiss",
    "StubIndex",
    "differences",
    "index_by_listener",
    "method_allowed",
    "request_holds",
    "values_reason",
]

_V = TypeVar("_V")

# How much each kind of difference pushes a stub away from a request when ranking near misses:
# a wrong path matters most, a wrong method next, one wrong parameter least.
_PATH_WEIGHT: Final = 10.0
_METHOD_WEIGHT: Final = 4.0
_BODY_WEIGHT: Final = 2.0
_ITEM_WEIGHT: Final = 1.0
# Stubs examined field by field for a near-miss report, at most.
_SHORTLIST_MAX: Final = 500
# Route shortlists a StubIndex remembers (near_misses): enough for the few routes a
# misconfigured client keeps calling, small beside the index itself.
_SHORTLISTS_KEPT: Final = 256


@dataclass(frozen=True, slots=True)
class Match:
    """The stub that answers a request for ``path``.

    Its path parameters (``params``) are captured when first read: only templates, webhooks
    and tests read them, so a request to a template path does not build them for nothing.
    """

    stub: Stub
    path: str
    # Captured already (a regex path's, found while choosing the candidates), else None.
    captured: dict[str, str] | None = field(default=None, repr=False, compare=False)

    @property
    def params(self) -> dict[str, str]:
        """The parameters the stub's path captured (``{id}`` → its value; empty for none)."""
        found = self.captured
        if found is None:
            spec = self.stub.request.path
            found = (spec.match(self.path) if spec is not None else None) or {}
            object.__setattr__(self, "captured", found)  # a cache, not a change of value
        return found


@dataclass(frozen=True, slots=True)
class Difference:
    """One field of the request that a stub wanted otherwise."""

    field: str
    expected: str
    actual: str
    why: str
    weight: float = _ITEM_WEIGHT


@dataclass(frozen=True, slots=True)
class NearMiss:
    stub: Stub
    distance: float
    differences: tuple[Difference, ...]
    # Another file's stub answers this one's requests first (see shadowing.py).
    shadowed: str | None = None


def method_allowed(methods: frozenset[str] | None, method: str) -> bool:
    """A stub's methods admit ``method``; HEAD is answered by a GET stub (RFC 9110 §9.3.2)."""
    return methods is None or method in methods or (method == "HEAD" and "GET" in methods)


def _sort_key(stub: Stub) -> tuple[int, int]:
    return (-stub.priority, stub.order)


def values_reason(values: list[str] | None, pattern: Pattern) -> str | None:
    """None when some value (or absence) satisfies ``pattern``, else the reason for the first;
    ``values:`` looks at them all at once."""
    if isinstance(pattern, Values):
        return pattern.check_values(values or [])
    if not values:
        return pattern.check(Value(None))
    first_reason = None
    for value in values:
        reason = pattern.check(Value(value))
        if reason is None:
            return None
        first_reason = first_reason or reason
    return first_reason


def _shown_values(values: list[str] | None) -> str:
    if not values:
        return "<absent>"
    return show(values[0]) if len(values) == 1 else ", ".join(show(v) for v in values)


def request_holds(spec: RequestSpec, request: RequestView) -> bool:
    """``spec`` describes ``request``: method, path and every other field."""
    if not method_allowed(spec.methods, request.method):
        return False
    if spec.path is not None and spec.path.match(request.path) is None:
        return False
    return _rest_holds(spec, request)


def _rest_holds(spec: RequestSpec, request: RequestView) -> bool:
    """Everything but method and path (already checked by the caller) holds; a check the
    request's match budget cut short does not."""
    try:
        return _fields_hold(spec, request)
    except BudgetExceeded:
        return False


def _fields_hold(spec: RequestSpec, request: RequestView) -> bool:
    if spec.url is not None and spec.url.check(Value(request.url)) is not None:
        return False
    for name, pattern in spec.query:
        if values_reason(request.query.get(name), pattern) is not None:
            return False
    for name, pattern in spec.headers:
        if values_reason(request.headers.get(name), pattern) is not None:
            return False
    for name, pattern in spec.cookies:
        if values_reason(request.cookies.get(name), pattern) is not None:
            return False
    if spec.body:
        body = Value.of_body(request)
        for pattern in spec.body:
            if pattern.check(body) is not None:
                return False
    return True


def differences(
    stub: Stub, request: RequestView, state: ScenarioState | None = None
) -> list[Difference]:
    """Every field of ``request`` that ``stub`` wants otherwise, in request order (and the
    scenario state it waits for, first)."""
    spec = stub.request
    found: list[Difference] = []
    scenario = stub.scenario
    if scenario is not None and not _in_state(stub, state):
        now = state(scenario.name) if state is not None else STARTED
        want = f"scenario {scenario.name} in {scenario.state!r}"
        why = f"needs scenario {scenario.name} in {scenario.state!r}; it is {now!r}"
        found.append(Difference("scenario", want, now, why))
    if not method_allowed(spec.methods, request.method):
        expected = " or ".join(sorted(spec.methods or ()))
        found.append(
            Difference(
                "method",
                expected,
                request.method,
                f"expected {expected}, got {request.method}",
                _METHOD_WEIGHT,
            )
        )
    path_differs = spec.path is not None and spec.path.match(request.path) is None
    if spec.path is not None and path_differs:
        found.append(
            Difference(
                "path",
                f"{spec.path.kind} {spec.path.text}",
                request.path,
                _path_why(spec.path.kind, spec.path.text, request.path),
                _path_distance(spec.path.text, request.path),
            )
        )
    if spec.url is not None and not path_differs:  # else the path's difference says it
        reason = _within_budget(values_reason, [request.url], spec.url)
        if reason is not None:
            found.append(_url_difference(spec.url, spec.path is not None, request, reason))
    for kind, items, fields in (
        ("query", spec.query, request.query),
        ("headers", spec.headers, request.headers),
        ("cookies", spec.cookies, request.cookies),
    ):
        for name, pattern in items:
            values = fields.get(name)
            reason = _within_budget(values_reason, values, pattern)
            if reason is not None:
                field = f"{kind}.{name}"
                if redacted_field(field):  # neither the stub's secret nor the client's is shown
                    shown = "<absent>" if not values else PLACEHOLDER
                    reason = "missing" if not values else "the value differs (a secret: not shown)"
                    found.append(Difference(field, PLACEHOLDER, shown, reason))
                    continue
                found.append(Difference(field, pattern.describe(), _shown_values(values), reason))
    if spec.body:
        body = Value.of_body(request)
        for pattern in spec.body:
            reason = _within_budget(_body_reason, body, pattern)
            if reason is not None:
                actual = body.text if body.text is not None else "<absent>"
                found.append(Difference("body", pattern.describe(), actual, reason, _BODY_WEIGHT))
    return found


def _url_difference(
    pattern: Pattern, has_path: bool, request: RequestView, reason: str
) -> Difference:
    """A ``url`` that differs, weighed as a path when the stub has no other (else as one
    parameter); a secret query parameter's value (the stub's or the request's) is not shown,
    as for ``query.token``."""
    expected = pattern.describe()
    weight = _ITEM_WEIGHT if has_path else _path_distance(expected, request.url)
    redacted = redacted_query_string(request.query_string)
    secret_expected = names_secret_parameter(expected)
    if redacted != request.query_string or secret_expected:
        shown = show(f"{request.path}?{redacted}")
        why = "the url differs (a secret: not shown)"
        return Difference("url", PLACEHOLDER if secret_expected else expected, shown, why, weight)
    return Difference("url", expected, show(request.url), reason, weight)


ScenarioState = Callable[[str], str]


def _in_state(stub: Stub, state: ScenarioState | None) -> bool:
    """``stub``'s scenario is in the state it waits for (any state when it names none)."""
    scenario = stub.scenario
    if scenario is None or scenario.state is None:
        return True
    return (state(scenario.name) if state is not None else STARTED) == scenario.state


def _body_reason(body: Value, pattern: Pattern) -> str | None:
    return pattern.check(body)


def _within_budget(
    check: Callable[[_V, Pattern], str | None], value: _V, pattern: Pattern
) -> str | None:
    """The reason ``check`` gives, or the budget's when it ran out (which counts as no match)."""
    try:
        return check(value, pattern)
    except BudgetExceeded:
        return f"{BUDGET_EXCEEDED} (counts as no match)"


@dataclass(frozen=True, slots=True)
class _Route:
    """A stub's path as the near-miss ranking reads it, split once per index."""

    text: str
    segments: tuple[str, ...]
    params: tuple[bool, ...]  # the segment is a {param}

    @classmethod
    def of(cls, text: str) -> _Route:
        segments = tuple(text.split("/"))
        params = tuple(s.startswith("{") and s.endswith("}") for s in segments)
        return cls(text, segments, params)


def _similarity(expected: str, actual: str) -> float:
    return _route_similarity(_Route.of(expected), actual, actual.split("/"))


def _route_similarity(route: _Route, actual: str, got: list[str]) -> float:
    """How alike two paths are, from 0 to 1: segments in place, then shared leading characters.

    Cheaper than difflib by two orders of magnitude, which matters when a miss is scored
    against 10,000 stubs (so the stub's side is split once, and the shared leading characters
    are counted a segment at a time); a {param} segment counts as alike.
    """
    same = shared = 0
    leading = True
    for w, param, g in zip(route.segments, route.params, got, strict=False):
        if w == g:
            same += 1
            if leading:
                shared += len(w) + 1  # and the "/" after it
            continue
        if param and g:
            same += 1
        if leading:
            leading = False
            for a, b in zip(w, g, strict=False):
                if a != b:
                    break
                shared += 1
    expected = route.text
    segments = same / max(len(route.segments), len(got))
    # Past the shorter path's end nothing is shared (the "/" counted after its last segment).
    prefix = min(shared, len(expected), len(actual)) / max(len(expected), len(actual), 1)
    return 0.7 * segments + 0.3 * prefix


def _path_why(kind: str, expected: str, actual: str) -> str:
    if kind == "exact":
        if expected.rstrip("/") == actual.rstrip("/"):
            return "differs only in the trailing slash"
        return f"expected {expected}"
    if kind == "template":
        expected_n, actual_n = expected.count("/"), actual.count("/")
        if expected_n != actual_n:
            return f"the template has {expected_n} segments, the path {actual_n}"
        return f"does not fit the template {expected}"
    return f"does not match regex {expected}"


class StubIndex:
    """The stubs served on one listener, indexed for matching. Immutable once built."""

    def __init__(self, stubs: Iterable[Stub]) -> None:
        self.stubs: tuple[Stub, ...] = tuple(sorted(stubs, key=_sort_key))
        self._exact: dict[str, list[Stub]] = {}
        self._templates: PathTrie[Stub] = PathTrie()
        self._scanned: list[Stub] = []  # regex paths and stubs with no path
        # (method, path, limit) → the route shortlist of near_misses; bounded, and right for
        # as long as the index lives, since the index never changes.
        self._shortlists: dict[tuple[str, str, int], list[Stub]] = {}
        # Each stub's path split for the near-miss ranking, on the first miss.
        self._routes: list[_Route | None] | None = None
        # Shadowed stub → its shadows; found on the first miss, kept for the index's life.
        self._shadows: dict[int, list[Shadow]] | None = None
        for stub in self.stubs:
            path = stub.request.path
            if path is None or path.kind == "regex":
                self._scanned.append(stub)
            elif path.kind == "exact":
                self._exact.setdefault(path.text, []).append(stub)
            else:
                self._templates.add(path, stub)

    def __len__(self) -> int:
        return len(self.stubs)

    def _candidates(self, path: str) -> tuple[Sequence[Stub], dict[int, dict[str, str]] | None]:
        """Stubs whose path fits, best first; and the parameters a regex path captured while
        it was tried, by id of its stub (None when no regex path fits)."""
        exact = self._exact.get(path) or _NONE
        templated = self._templates.find(path)
        if not templated and not self._scanned:  # exact lists are in priority order already
            return exact, None
        found: list[Stub] = [*exact, *templated]
        captured: dict[int, dict[str, str]] | None = None
        for stub in self._scanned:
            spec = stub.request.path
            params = spec.match(path) if spec is not None else {}
            if params is not None:
                found.append(stub)
                if params:
                    captured = captured or {}
                    captured[id(stub)] = params
        found.sort(key=_sort_key)
        return found, captured

    def match(self, request: RequestView, state: ScenarioState | None = None) -> Match | None:
        """The winning stub for ``request``: highest priority, then earliest loaded.

        ``state`` gives a scenario's current state; a stub waiting for another is passed over.
        """
        candidates, captured = self._candidates(request.path)
        for stub in candidates:
            if not method_allowed(stub.request.methods, request.method):
                continue
            if stub.scenario is not None and not _in_state(stub, state):
                continue
            if _rest_holds(stub.request, request):
                params = captured.get(id(stub)) if captured is not None else None
                return Match(stub, request.path, params)
        return None

    def near_misses(
        self, request: RequestView, limit: int = 3, state: ScenarioState | None = None
    ) -> list[NearMiss]:
        """The ``limit`` stubs that came nearest to ``request``, nearest first.

        Two passes keep a miss cheap with many stubs: method and path (which dominate the
        distance) rank every stub, and only the nearest few are examined field by field.
        """
        if limit <= 0:
            return []
        scored = []
        for stub in self._shortlist(request, limit):
            diffs = differences(stub, request, state)
            if diffs:
                scored.append(NearMiss(stub, sum(d.weight for d in diffs), tuple(diffs)))
        nearest = heapq.nsmallest(
            limit, scored, key=lambda miss: (miss.distance, *_sort_key(miss.stub))
        )
        return [self._with_shadow(miss, request.path) for miss in nearest]

    def _with_shadow(self, miss: NearMiss, path: str) -> NearMiss:
        """``miss`` noting the stub that answers in its place, if one does."""
        if self._shadows is None:
            self._shadows = {}
            for shadow in find_shadows(self.stubs):
                self._shadows.setdefault(id(shadow.loser), []).append(shadow)
        for shadow in self._shadows.get(id(miss.stub), ()):
            winner_path = shadow.winner.request.path
            if shadow.whole or (winner_path is not None and winner_path.text == path):
                return replace(miss, shadowed=shadow.note())
        return miss

    def _shortlist(self, request: RequestView, limit: int) -> list[Stub]:
        """The stubs nearest by method and path. Remembered per (method, path, limit): a
        client that keeps calling a route no stub serves would otherwise rank every stub
        again each time (30 ms with 10,000 stubs)."""
        key = (request.method, request.path, limit)
        known = self._shortlists.get(key)
        if known is not None:
            return known
        if self._routes is None:
            self._routes = [
                _Route.of(s.request.path.text) if s.request.path is not None else None
                for s in self.stubs
            ]
        method, path = request.method, request.path
        got = path.split("/")
        routed = []
        for stub, route in zip(self.stubs, self._routes, strict=True):
            spec = stub.request
            distance = 0.0 if method_allowed(spec.methods, method) else _METHOD_WEIGHT
            if route is not None and spec.path is not None and spec.path.match(path) is None:
                similarity = _route_similarity(route, path, got)
                distance += _PATH_WEIGHT * (1.0 - similarity) + 1.0
            routed.append((distance, stub))
        keep = max(limit * 10, 30)
        # self.stubs is in priority order and nsmallest is stable: ties stay in that order.
        nearest = heapq.nsmallest(keep, routed, key=_first)
        shortlist = [stub for _, stub in nearest]
        if len(routed) > keep:
            # Stubs as near by route as the last one kept stay in (up to a bound), so many
            # stubs on one path still compete on their query, headers and body.
            cutoff = nearest[-1][0]
            chosen = {id(stub) for stub in shortlist}
            for distance, stub in routed:
                if len(shortlist) >= _SHORTLIST_MAX:
                    break
                if distance <= cutoff and id(stub) not in chosen:
                    shortlist.append(stub)
        if len(self._shortlists) >= _SHORTLISTS_KEPT:
            self._shortlists.clear()
        self._shortlists[key] = shortlist
        return shortlist


_NONE: Final[tuple[Stub, ...]] = ()


def _first(pair: tuple[float, Stub]) -> float:
    return pair[0]


def _path_distance(expected: str, actual: str) -> float:
    return _PATH_WEIGHT * (1.0 - _similarity(expected, actual)) + 1.0


def index_by_listener(
    stubs: Sequence[Stub], listener_of: dict[str, int | None]
) -> dict[int | None, StubIndex]:
    """One index per listener (None = the main port), from each stub's service."""
    grouped: dict[int | None, list[Stub]] = {key: [] for key in set(listener_of.values())}
    for stub in stubs:
        grouped.setdefault(listener_of.get(stub.service), []).append(stub)
    return {key: StubIndex(group) for key, group in grouped.items()}
